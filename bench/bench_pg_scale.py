"""jobtui on PostgreSQL at 1-16 runner processes: row locks (this tree) against the global-lock store, same run.

    python bench/bench_pg_scale.py                      # 1, 4, 8, 16 runners; loopback, 1 ms and 3 ms proxies
    python bench/bench_pg_scale.py --runners 1 4 8 --delays 0 3 --jobs 20    # a reduced run

Every measurement runs on a fresh database of one throwaway PostgreSQL cluster (tests/backends.py). The
baseline is the store as it was before issue 17's row locks (every write transaction took one
`pg_advisory_xact_lock`): the `src/` of git ref `--baseline` (default 1bc3563), extracted to a temporary
folder and put on the runners' PYTHONPATH, so both stores run the same jobs in the same run.

Workload: `demo` jobs (8 stages, each waiting `--delay` seconds, no items), `--jobs` per runner, submitted
before the runners start; each runner is a process (`Runner(concurrency=jobs).run(exit_when_idle=True)`),
started and made ready, then all let go at once. The runners reach the server over loopback, or through a
TCP proxy written here that delays each chunk by `d` ms in each direction (hosts on a network).

Figures per configuration: total stages/s (stages done / go to the last runner's end), claim latency
p50/p99 (every `store.claim` call of every runner, timed in the runner), pause latency p99 (a probe
process pauses a running job every 0.3 s and polls until it reads `paused`, then resumes it), and with
`--freeze`: the throughput of the other runners while one is SIGSTOPped 3 s of every 6, against the same
configuration unfrozen (the same seven runners' stages, over the time to their own last stage's end: a
runner exits when idle only once no job in the fleet is held, the frozen one's too; no pause probe in
either run). `--rounds N`
repeats everything, interleaved, and the table shows medians. Results: a table on stdout and bench/results/pg-scale-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from tests.backends import PgCluster, start_cluster  # noqa: E402


# ------------------------------------------------------------------------------------ worker side
def _ready_then_wait() -> float:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")
    return time.time()


async def _runner(db: str, concurrency: int) -> dict[str, Any]:
    from jobtui import Runner
    from jobtui.builtins import default_registry
    from jobtui.store import open_store

    store = await open_store(db)
    claims: list[float] = []
    real = store.claim

    async def timed(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return await real(*a, **k)
        finally:
            claims.append(time.perf_counter() - t)

    store.claim = timed  # type: ignore[method-assign]
    try:
        runner = Runner(store, default_registry(), concurrency=concurrency)
        t_go = await asyncio.get_running_loop().run_in_executor(None, _ready_then_wait)
        last = {"done": 0, "at": t_go}

        async def watch() -> None:
            # When this runner's last stage ended: a runner told to exit when idle waits while any job in the
            # fleet is held (a frozen runner's too), so its exit time is not when its own work ended.
            while True:
                if runner.stages_done != last["done"]:
                    last["done"], last["at"] = runner.stages_done, time.time()
                await asyncio.sleep(0.02)  # sleep: sampling the stage count

        watcher = asyncio.create_task(watch())
        await runner.run(exit_when_idle=True)
        watcher.cancel()
        return {"t_go": t_go, "t_end": time.time(), "t_last": time.time() if runner.stages_done != last["done"]
                else last["at"], "stages_done": runner.stages_done, "claims": claims}
    finally:
        await store.close()


async def _probe(db: str) -> dict[str, Any]:
    """Pause a running job every 0.3 s, time request -> paused, resume it; until half the jobs completed."""
    from jobtui.model import Action, JobStatus
    from jobtui.store import open_store

    store = await open_store(db)
    lat: list[float] = []
    try:
        await asyncio.get_running_loop().run_in_executor(None, _ready_then_wait)
        while True:
            await asyncio.sleep(0.3)
            counts = await store.status_counts()
            # Only in the first half of the run: a job resumed after the runners' last look would wait for ever.
            if counts.get("completed", 0) * 2 >= sum(counts.values()):
                break
            running = await store.list_jobs(statuses=["running"], limit=1)
            if not running:
                continue
            job = running[0].job_id
            t = time.perf_counter()
            try:
                await store.control(job, Action.PAUSE, source="bench")
            except Exception:  # it ended meanwhile
                continue
            while (j := await store.get_job(job)) is not None and j.status is JobStatus.PAUSING:
                await asyncio.sleep(0.005)
            lat.append(time.perf_counter() - t)
            await store.control(job, Action.RESUME, source="bench")
        return {"pauses": lat}
    finally:
        await store.close()


def worker_main(argv: list[str]) -> int:
    kind, db, conc = argv[0], argv[1], int(argv[2])
    out = asyncio.run(_runner(db, conc) if kind == "runner" else _probe(db))
    print(json.dumps(out), flush=True)
    return 0


# ------------------------------------------------------------------------------------ the proxy
class Proxy:
    """A TCP proxy on 127.0.0.1 that delays every chunk by `delay_ms` in each direction (order kept)."""

    def __init__(self, target_port: int, delay_ms: float) -> None:
        self.target_port, self.delay = target_port, delay_ms / 1000
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._main, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _main(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        q: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await q.get()
                if not data:
                    break
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # sleep: the injected network latency
                w.write(data)
                await w.drain()
            w.close()

        sender = asyncio.create_task(send())
        try:
            while data := await r.read(65536):
                q.put_nowait((self.loop.time() + self.delay, data))
        except ConnectionError:
            pass
        q.put_nowait((0.0, b""))
        await asyncio.gather(sender, return_exceptions=True)

    async def _client(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            w.close()
            return
        await asyncio.gather(self._pipe(r, uw), self._pipe(ur, w), return_exceptions=True)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


# ------------------------------------------------------------------------------------ parent side
def _start(src: Path, argv: list[str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    env["PYTHONPATH"] = str(src)
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "_worker", *argv], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _spawn_all(src: Path, argvs: list[list[str]]) -> list[subprocess.Popen[str]]:
    """Start every worker at once (their imports overlap), then wait until each says it is ready."""
    procs = [_start(src, argv) for argv in argvs]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            for p in procs:
                p.kill()
            raise RuntimeError(f"worker did not start: {line!r} {proc.communicate()[1][-2000:]}")
    return procs


def _spawn(src: Path, argv: list[str]) -> subprocess.Popen[str]:
    return _spawn_all(src, [argv])[0]


def _submit(src: Path, url: str, jobs: int, delay: float) -> None:
    lines = "\n".join(json.dumps({"delay": delay, "items": 0}) for _ in range(jobs))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    env["PYTHONPATH"] = str(src)
    r = subprocess.run([sys.executable, "-m", "jobtui", "--db", url, "submit", "demo", "--from", "-"], input=lines,
                       capture_output=True, text=True, env=env, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def measure(cluster: PgCluster, src: Path, runners: int, delay_ms: float, a: argparse.Namespace,
            freeze: bool = False, probe: bool = True) -> dict[str, Any]:
    """One configuration on a fresh database: its figures (`probe`: pause jobs meanwhile; `freeze`: stop runner 1)."""
    name = cluster.new_database()
    proxy = Proxy(cluster.port, delay_ms) if delay_ms else None
    try:
        direct = cluster.url(name)
        _spawn_open = _spawn(src, ["runner", direct, "1"])  # creates the schema once, before the clock
        _spawn_open.kill()
        _spawn_open.wait()
        _submit(src, direct, a.jobs * runners, a.delay)
        url = direct if proxy is None else direct.replace(f":{cluster.port}/", f":{proxy.port}/")
        started = _spawn_all(src, [["runner", url, str(a.jobs)] for _ in range(runners)]
                             + ([["probe", url, "0"]] if probe else []))
        procs, prober = (started[:-1], started[-1]) if probe else (started, None)
        for p in [*procs, *([prober] if prober else [])]:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        frozen_s = 0.0
        if freeze:
            victim, t0 = procs[0], time.monotonic()
            while any(p.poll() is None for p in procs[1:]):
                time.sleep(3)  # sleep: 3 s running, then 3 s stopped, as the scenario says
                if victim.poll() is None:
                    victim.send_signal(signal.SIGSTOP)
                    time.sleep(3)  # sleep: the victim stays frozen 3 s
                    victim.send_signal(signal.SIGCONT)
                    frozen_s += 3
            del t0
        reports = []
        for p in procs:
            try:
                out, err = p.communicate(timeout=a.timeout)
            except subprocess.TimeoutExpired:
                for q in [*procs, *([prober] if prober else [])]:
                    q.send_signal(signal.SIGCONT)
                    q.kill()
                raise
            if p.returncode != 0:
                raise RuntimeError(f"runner exited {p.returncode}: {err[-2000:]}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
        pauses: list[float] = []
        if prober is not None:
            out, err = prober.communicate(timeout=a.timeout)
            pauses = json.loads(out.strip().splitlines()[-1])["pauses"] if prober.returncode == 0 else []
        t_go = min(r["t_go"] for r in reports)
        # The same runners in both runs (all but the first, which is the one frozen in a --freeze run).
        others = reports[1:] if len(reports) > 1 else reports
        stages = sum(r["stages_done"] for r in reports)
        claims = [c for r in reports for c in r["claims"]]
        return {
            "runners": runners, "delay_ms": delay_ms, "frozen": freeze, "stages": stages,
            "stages_per_s": stages / (max(r["t_end"] for r in reports) - t_go),
            "others_stages_per_s": sum(r["stages_done"] for r in others) / (max(r["t_last"] for r in others) - t_go),
            "claim_p50_ms": _pct(claims, 0.5) * 1000, "claim_p99_ms": _pct(claims, 0.99) * 1000,
            "pause_p99_ms": _pct(pauses, 0.99) * 1000, "pauses": len(pauses),
        }
    finally:
        if proxy is not None:
            proxy.close()
        cluster.drop_database(name)


def baseline_src(ref: str) -> Path:
    """Extract `src/` of a git ref to a temporary folder; return its src path."""
    root = Path(tempfile.mkdtemp(prefix="jobtui-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    return root / "src"


def _median(rows: list[dict[str, Any]], key: str) -> float:
    xs = sorted(r[key] for r in rows if key in r and r[key] == r[key])
    return xs[len(xs) // 2] if xs else float("nan")


def print_table(results: list[dict[str, Any]]) -> None:
    """Print the medians over rounds of each configuration, its ratio to one runner, and the frozen-runner cost."""
    ok = [r for r in results if "error" not in r]
    groups: dict[tuple[str, float, int, str], list[dict[str, Any]]] = {}
    for r in ok:  # kind: "scale" (with the pause probe), or the freeze's pair "frozen" / "unfrozen" (no probe)
        kind = "frozen" if r["frozen"] else "scale" if r.get("probe", True) else "unfrozen"
        groups.setdefault((r["store"], r["delay_ms"], r["runners"], kind), []).append(r)
    print(f"\n{'store':<11}{'delay':>6}{'runners':>8}{'stages/s':>10}{'x1':>6}{'claim p50':>10}{'p99':>8}"
          f"{'pause p99':>10}{'rounds':>7}")
    for (store, delay, n, kind), rows in groups.items():
        if kind != "scale":
            continue
        one = groups.get((store, delay, 1, "scale"))
        ratio = _median(rows, "stages_per_s") / _median(one, "stages_per_s") if one else float("nan")
        print(f"{store:<11}{delay:>5g}ms{n:>8}{_median(rows, 'stages_per_s'):>10.0f}{ratio:>6.1f}"
              f"{_median(rows, 'claim_p50_ms'):>9.1f}ms{_median(rows, 'claim_p99_ms'):>6.0f}ms"
              f"{_median(rows, 'pause_p99_ms'):>8.0f}ms{len(rows):>7}")
    for (store, delay, n, kind), rows in groups.items():
        base = groups.get((store, delay, n, "unfrozen"))
        if kind == "frozen" and base:
            others, alone = _median(rows, "others_stages_per_s"), _median(base, "others_stages_per_s")
            print(f"{store}: one of {n} runners SIGSTOPped 3 s of every 6 ({delay:g} ms proxy): the others"
                  f" {others:.0f} stages/s vs {alone:.0f} unfrozen: cost {100 * (1 - others / alone):.0f} %"
                  f" (medians of {len(rows)} and {len(base)} rounds)")
    for r in results:
        if "error" in r:
            print(f"failed: {r['store']} {r['runners']} runners {r['delay_ms']:g} ms frozen={r['frozen']}: {r['error']}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runners", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--delays", type=float, nargs="+", default=[0, 1, 3], help="proxy delay each way, ms (0: loopback)")
    ap.add_argument("--jobs", type=int, default=50, help="jobs per runner")
    ap.add_argument("--delay", type=float, default=0.5, help="seconds each stage waits")
    ap.add_argument("--baseline", default="1bc3563", help="git ref of the global-lock store")
    ap.add_argument("--freeze", action="store_true", help="also: one of 8 runners SIGSTOPped 3 s of every 6 (3 ms proxy)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--rounds", type=int, default=1, help="repeat every configuration; figures are medians")
    ap.add_argument("--only-freeze", action="store_true", help="measure only the frozen-runner cost (with --freeze)")
    ap.add_argument("--stores", nargs="+", default=["rowlock", "globallock"], choices=["rowlock", "globallock"])
    a = ap.parse_args(argv)
    srcs = {"rowlock": lambda: ROOT / "src", "globallock": lambda: baseline_src(a.baseline)}
    stores = {name: srcs[name]() for name in a.stores}
    cluster = start_cluster()
    results: list[dict[str, Any]] = []

    def run(store: str, n: int, delay_ms: float, frozen: bool, rnd: int, probe: bool = True) -> None:
        try:
            r = measure(cluster, stores[store], n, delay_ms, a, freeze=frozen, probe=probe) | {
                "store": store, "round": rnd, "probe": probe}
        except (RuntimeError, subprocess.TimeoutExpired) as e:  # one failed measurement is reported, not fatal
            r = {"store": store, "runners": n, "delay_ms": delay_ms, "frozen": frozen, "round": rnd,
                 "error": str(e)[-500:]}
        results.append(r)
        print(json.dumps(r), flush=True)

    try:
        for rnd in range(a.rounds):  # interleaved rounds: machine noise hits every configuration alike
            for delay_ms in ([] if a.only_freeze else a.delays):
                for n in a.runners:
                    for store in stores:
                        run(store, n, delay_ms, False, rnd)
            if a.freeze:
                for store in stores:
                    for frozen in (False, True):
                        run(store, 8, 3, frozen, rnd, probe=False)  # no pauses in either: the same runs but one
    finally:
        cluster.stop("immediate")
    print_table(results)
    out = HERE / "results" / f"pg-scale-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(a), "results": results}, indent=1))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
