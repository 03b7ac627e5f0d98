"""Download speed of the built-in `fetch` job type, and how long it stalls the event loop.

    python bench/bench_fetch.py                        # this tree, 5 rounds
    python bench/bench_fetch.py --baseline b95fc48     # and a baseline commit, in the same run
    python bench/bench_fetch.py --files 4 --mb 32

A real HTTP server (`python -m http.server`, its own process, 127.0.0.1) serves `--files` files of
`--mb` MiB of random bytes. Each round, for every tree (interleaved), a child process with that tree's
`src/` first on PYTHONPATH opens a fresh database, submits one `fetch` job of every file
(`workers` = the number of files) and runs it with a Runner until idle, while a ticker task on the
same event loop wakes every 5 ms and records how late it woke (the loop's stalls: what a TUI on that
loop would feel). It checks every file's sha256 and prints: MB/s (bytes / the runner's time) and
the loop's lateness (median, 90th and 99th percentile, largest). httpx is imported before the ticker
starts, so that its one-time import (at start in older trees, at the first download now) is not counted.

Prints medians and writes bench/results/fetch-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
TICK_S = 0.005


async def _child(db: str, urls: list[str], digests: list[str]) -> dict[str, Any]:
    """Run one fetch job with this process's jobtui; return its time and the loop's lateness."""
    import httpx  # noqa: F401  # imported before the ticker starts in both trees (an older one imports it at start)

    from jobtui import Runner
    from jobtui.client import Client

    client = await Client.open(db, source="bench")
    late: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t = loop.time()
            await asyncio.sleep(TICK_S)
            late.append(loop.time() - t - TICK_S)

    try:
        job_id = await client.submit("fetch", {"urls": urls, "workers": len(urls), "retries": 0})
        runner = Runner(client.store, client.registry, concurrency=1, notify=False, schedules=False)
        tick = asyncio.create_task(ticker())
        t0 = time.perf_counter()
        await runner.run(exit_when_idle=True)
        seconds = time.perf_counter() - t0
        stop.set()
        await tick
        detail = await client.detail(job_id)
        if detail.job.status.value != "completed":
            raise SystemExit(f"fetch job ended {detail.job.status.value}: {detail.job.error_message}")
        results = await client.store.item_results(job_id, 0)
        for url, digest in zip(urls, digests, strict=True):
            if results[url]["sha256"] != digest:
                raise SystemExit(f"{url}: sha256 {results[url]['sha256']}, expected {digest}")
    finally:
        await client.close()
    late.sort()

    def q(f: float) -> float:
        return 1000 * late[min(len(late) - 1, int(len(late) * f))] if late else 0.0

    return {"seconds": seconds, "late_p50_ms": q(0.5), "late_p90_ms": q(0.9), "late_p99_ms": q(0.99),
            "late_max_ms": q(1.0), "ticks": len(late)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the file server on port {port} did not start")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        spec = json.loads(argv[1])
        print(json.dumps(asyncio.run(_child(spec["db"], spec["urls"], spec["digests"]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--mb", type=int, default=64, help="MiB per file (default 64)")
    ap.add_argument("--baseline", metavar="REF", help="a git commit to measure beside this tree, in the same run")
    ap.add_argument("--no-json", action="store_true")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="jobtui-fetch-"))
    served = tmp / "served"
    served.mkdir()
    urls, digests = [], []
    port = _free_port()
    for i in range(args.files):
        data = os.urandom(args.mb << 20)
        (served / f"file{i}.bin").write_bytes(data)
        urls.append(f"http://127.0.0.1:{port}/file{i}.bin")
        digests.append(hashlib.sha256(data).hexdigest())
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=served,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trees: dict[str, Path] = {"this": ROOT / "src"}
    res: dict[str, list[dict[str, Any]]] = {}
    total_mb = args.files * args.mb * (1 << 20) / 1e6
    try:
        _wait_port(port)
        if args.baseline:
            _git("worktree", "add", "--detach", str(tmp / "baseline"), args.baseline)
            trees["baseline"] = tmp / "baseline" / "src"
        started = datetime.now(UTC)
        for rep in range(args.runs):
            for name, src in trees.items():
                folder = Path(tempfile.mkdtemp(prefix="round-", dir=tmp))
                env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(HERE)]))
                spec = json.dumps({"db": str(folder / "fetch.db"), "urls": urls, "digests": digests})
                r = subprocess.run([sys.executable, str(Path(__file__)), "_child", spec], env=env, capture_output=True,
                                   text=True, timeout=900)
                shutil.rmtree(folder, ignore_errors=True)
                if r.returncode != 0:
                    print(f"BENCHMARK FAILED ({name}): {r.stderr.strip()[-2000:]}", file=sys.stderr)
                    return 2
                out = json.loads(r.stdout.strip().splitlines()[-1])
                out["mb_per_s"] = total_mb / out["seconds"]
                res.setdefault(name, []).append(out)
                print(f"  round {rep + 1}/{args.runs} {name:<8} {out['mb_per_s']:7.1f} MB/s, loop late p50"
                      f" {out['late_p50_ms']:.2f} p90 {out['late_p90_ms']:.2f} p99 {out['late_p99_ms']:.1f}"
                      f" max {out['late_max_ms']:.1f} ms ({out['ticks']} ticks)", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if args.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "baseline")], cwd=ROOT,
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    keys = ("mb_per_s", "late_p50_ms", "late_p90_ms", "late_p99_ms", "late_max_ms")
    med = {t: {k: statistics.median(x[k] for x in rs) for k in keys} for t, rs in res.items()}
    print(f"\nfetch: {args.files} files x {args.mb} MiB from 127.0.0.1, {args.files} at once; median of {args.runs}")
    head = f"{'measure':<32}" + "".join(f"{t:>12}" for t in trees)
    print(head)
    print("-" * len(head))
    for key, label in (("mb_per_s", "download MB/s"), ("late_p50_ms", "event loop late, p50 (ms)"),
                       ("late_p90_ms", "event loop late, p90 (ms)"), ("late_p99_ms", "event loop late, p99 (ms)"),
                       ("late_max_ms", "event loop late, max (ms)")):
        print(f"{label:<32}" + "".join(f"{med[t][key]:>12.2f}" for t in trees))
    if not args.no_json:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"fetch-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps({"started_at": started.isoformat(), "argv": sys.argv, "config": vars(args),
                                    "runs": res, "medians": med}, indent=1) + "\n")
        print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
