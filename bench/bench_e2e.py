"""Whole-process speed: a real `jobtui run --exit-when-idle` process, from its start to its exit.

    python bench/bench_e2e.py                         # this tree, 5 rounds
    python bench/bench_e2e.py --baseline b95fc48      # and a baseline commit, measured in the same run
    python bench/bench_e2e.py --quick                 # 2 rounds, 1,000 jobs, 20,000 items

Each round runs, for every tree (this checkout's `src/`, then the baseline's, interleaved so that
noise on a shared machine hits both alike), on a fresh SQLite file each time:

  stages   5,000 jobs of `e2e_stages` (8 trivial stages each, bench/e2e_app.py), submitted beforehand
           by a separate process; then `jobtui run --exit-when-idle --quiet --concurrency 1000`
           is timed from spawn to exit: stages/s = 40,000 / that time.
  items    one `e2e_items` job of 100,000 trivial items, timed the same way: items/s = 100,000 / time.
  idle     the same command on an empty database: the start-up and shut-down cost in the above.
  raw      the baseline of `items` (issue 18: the whole process at >= 0.75x of it): aiosqlite inserting the
           same number of rows into a table shaped like jobtui's `items` (WITHOUT ROWID, same key), on a fresh
           file with the same PRAGMAs (WAL, synchronous=FULL), RAW_BATCH rows per transaction, timed inside its
           own process from the first insert to the last commit: rows/s. Its best effort: the rows' JSON made by
           C's encoder called straight, RAW_ROWS rows per INSERT statement (one executemany of such statements
           per transaction, the rest one row each), as jobtui's own item writes on SQLite.
  rawrow   the same rows one per statement (executemany of single-row INSERTs, json.dumps), 1,000 per transaction:
           the baseline until jobtui wrote several rows per statement, kept for comparison with earlier figures.
           Both raw forms also report their CPU time (both threads) over the timed part, so the items can be
           compared per CPU second too: on a loaded machine the wall clock mostly measures a share of a core.

Every process runs its modules from cached bytecode, as an installed jobtui does: PYTHONDONTWRITEBYTECODE
(set in some environments) is dropped and the bytecode goes to a cache in the bench's temporary folder
(PYTHONPYCACHEPREFIX), filled by one untimed `idle` run of each tree before the rounds. Without it, each
`jobtui run` would compile its ~200 modules again (~0.15 s of CPU, more on a loaded machine).

The process is the real CLI (`python -m jobtui`) with `--app e2e_app`; each tree runs with its own
`src/` first on PYTHONPATH. After each run the database is checked with sqlite3 (every job
completed, every stage completed, every item done) and the run fails loudly otherwise.
The baseline is a temporary `git worktree` of the given commit, removed at the end.

Prints medians and the ratio to the baseline; writes bench/results/e2e-<timestamp>.json. Beside the
wall-clock rate it prints the rate per CPU second of the process (user + system time of all its
threads, from getrusage): on a shared machine whose load comes and goes, that one moves less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sqlite3
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
STAGES_PER_JOB = 8
TARGET_STAGES_S = 20_000
TARGET_ITEMS_S = 60_000
RAW_BATCH = 5000
"""Rows per transaction of the raw baseline: at 1,000 (the earlier baseline's) its fsyncs dominate; 2,500 to 10,000 all
measured ~75,000 rows/s against ~56,000 at 1,000 (same run, load 15). jobtui's group commit sizes its own batches."""
RAW_ROWS = 64
"""Rows per INSERT statement of the raw baseline (store/seam.py ROWS_PER_STATEMENT)."""
TARGET_ITEMS_OVER_RAW = 0.75
PYCACHE: Path | None = None
"""Where every process of the bench caches its bytecode (set by main)."""


class BenchError(RuntimeError):
    """A run failed or its database does not show the work done."""


def _env_for(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("JOBTUI_APP", None)
    env.pop("JOBTUI_DB", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if PYCACHE is not None:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


async def _submit(db: str, kind: str, count: int) -> None:
    """Submit the workload (run in a child process with the tree's own jobtui)."""
    from jobtui.client import Client, Submission

    client = await Client.open(db, apps=["e2e_app"], source="bench")
    try:
        if kind == "stages":
            subs = [Submission("e2e_stages", {}) for _ in range(count)]
        else:
            subs = [Submission("e2e_items", {"n": count})]
        for i in range(0, len(subs), 1000):
            await client.submit_many(subs[i:i + 1000])
    finally:
        await client.close()


async def _raw(db: str, count: int, per_row: bool = False) -> tuple[float, float]:
    """Insert `count` item-shaped rows with aiosqlite, RAW_BATCH per transaction; return the seconds it took, wall
    and CPU (user + system of the process, both threads: aiosqlite's does the inserts).

    Best effort (the default): RAW_ROWS rows per statement and the JSON made by C's encoder called straight;
    `per_row`: one row per statement and json.dumps, the baseline's earlier form.
    """
    import aiosqlite

    encoder = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, str, json.encoder.c_encode_basestring_ascii, None, ":", ",", False, False, True)  # type: ignore[attr-defined]
    one = "(?, ?, ?, ?, ?, ?, ?, ?)"
    single = f"INSERT INTO items VALUES {one}"
    many = "INSERT INTO items VALUES " + ", ".join([one] * RAW_ROWS)
    async with aiosqlite.connect(db) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=FULL")
        await conn.execute(
            "CREATE TABLE items (job_id INTEGER NOT NULL, stage_index INTEGER NOT NULL, key TEXT NOT NULL,"
            " status TEXT NOT NULL, result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 1,"
            " updated_at_ms INTEGER NOT NULL, PRIMARY KEY (job_id, stage_index, key)) WITHOUT ROWID")
        await conn.commit()
        t0, c0 = time.perf_counter(), time.process_time()
        batch = 1000 if per_row else RAW_BATCH
        for start in range(0, count, batch):
            now = int(time.time() * 1000)
            end = min(count, start + batch)
            await conn.execute("BEGIN IMMEDIATE")
            if per_row:
                rows = [(1, 0, str(i), "done", json.dumps({"i": i, "ok": 1}), None, 1, now) for i in range(start, end)]
                await conn.executemany(single, rows)
            else:
                rows = [(1, 0, str(i), "done", "".join(encoder({"i": i, "ok": 1}, 0)), None, 1, now)
                        for i in range(start, end)]
                whole = len(rows) - len(rows) % RAW_ROWS
                await conn.executemany(many, [[v for row in rows[i:i + RAW_ROWS] for v in row]
                                              for i in range(0, whole, RAW_ROWS)])
                if whole < len(rows):
                    await conn.executemany(single, rows[whole:])
            await conn.commit()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        (n,) = await (await conn.execute("SELECT count(*) FROM items")).fetchone()  # type: ignore[misc]
        if n != count:
            raise BenchError(f"raw: {n} rows, expected {count}")
        return seconds, cpu


def _one_raw(count: int, tmp: Path, kind: str = "raw") -> tuple[float, float]:
    """Time the raw aiosqlite baseline (`raw` or `rawrow`) in a process of its own; return seconds (wall, CPU)."""
    folder = Path(tempfile.mkdtemp(prefix="e2e-raw-", dir=tmp))
    try:
        r = subprocess.run([sys.executable, str(Path(__file__)), "_" + kind, str(folder / "raw.db"), str(count)],
                           env=_env_for(ROOT / "src"), capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise BenchError(f"raw baseline failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        wall, cpu = r.stdout.split()[-2:]
        return float(wall), float(cpu)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _setup(src: Path, db: Path, kind: str, count: int) -> None:
    if kind == "idle":
        code = ("import asyncio, jobtui.client as c\n"
                f"async def m():\n    cl = await c.Client.open({str(db)!r})\n    await cl.close()\nasyncio.run(m())")
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, str(Path(__file__)), "_submit", str(db), kind, str(count)]
    r = subprocess.run(cmd, env=_env_for(src), capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise BenchError(f"setup of {kind} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")


def _verify(db: Path, kind: str, count: int) -> None:
    conn = sqlite3.connect(db)
    try:
        by = dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
        jobs = 0 if kind == "idle" else (count if kind == "stages" else 1)
        if by.get("completed", 0) != jobs or sum(by.values()) != jobs:
            raise BenchError(f"{kind}: jobs by status {by}, expected {jobs} completed")
        if kind == "stages":
            done = conn.execute("SELECT count(*) FROM stages WHERE status = 'completed'").fetchone()[0]
            if done != count * STAGES_PER_JOB:
                raise BenchError(f"stages: {done} completed stages, expected {count * STAGES_PER_JOB}")
        elif kind == "items":
            done = conn.execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0]
            counted = conn.execute("SELECT items_done FROM jobs").fetchone()[0]
            if done != count or counted != count:
                raise BenchError(f"items: {done} done items, job counts {counted}, expected {count}")
    finally:
        conn.close()


def _one(src: Path, kind: str, count: int, concurrency: int, tmp: Path, cpu: list[float] | None = None) -> float:
    """Set up a fresh database, time one `jobtui run --exit-when-idle` process on it, verify; return seconds.

    With `cpu`, append the process's CPU time (user + system, all its threads) to it.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"e2e-{kind}-", dir=tmp))
    try:
        db = folder / "bench.db"
        _setup(src, db, kind, count)
        cmd = [sys.executable, "-m", "jobtui", "--db", str(db), "--app", "e2e_app", "run", "--exit-when-idle",
               "--quiet", "--keep", "never", "--concurrency", str(concurrency)]
        env = _env_for(src)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if r.returncode != 0:
            raise BenchError(f"{kind}: jobtui run exited {r.returncode}: {r.stderr.strip()[-2000:]}")
        _verify(db, kind, count)
        return seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def _ratios(summary: dict[str, Any]) -> None:
    """Print the items' rate against the raw inserts' (wall, and per CPU second)."""
    if "items" in summary and "raw" in summary:
        ratio = summary["items"]["this"] / summary["raw"]["this"]
        print(f"items through `jobtui run` / raw aiosqlite rows (same run): {ratio:.2f}x (target >="
              f" {TARGET_ITEMS_OVER_RAW}x: {'met' if ratio >= TARGET_ITEMS_OVER_RAW else 'NOT met'})")
    if "items" in summary and "rawrow" in summary:
        print(f"items / raw rows one per statement (the earlier baseline): "
              f"{summary['items']['this'] / summary['rawrow']['this']:.2f}x")
    for raw in ("raw", "rawrow"):
        if "items" in summary and raw in summary:
            # Per CPU second: what a loaded machine's share of a core does not blur (the whole process, start-up
            # included, against the raw inserts' timed part; both threads of each).
            print(f"  per CPU second, items / {raw}: "
                  f"{summary['items_per_cpu_s']['this'] / summary[raw + '_per_cpu_s']['this']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_submit"]:
        asyncio.run(_submit(argv[1], argv[2], int(argv[3])))
        return 0
    if argv[:1] in (["_raw"], ["_rawrow"]):
        print(*asyncio.run(_raw(argv[1], int(argv[2]), per_row=argv[0] == "_rawrow")))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds, 1,000 jobs, 20,000 items")
    ap.add_argument("--runs", type=int, help="rounds (default 5; --quick: 2)")
    ap.add_argument("--jobs", type=int, help="e2e_stages jobs (default 5000)")
    ap.add_argument("--items", type=int, help="items in the e2e_items job (default 100000)")
    ap.add_argument("--concurrency", type=int, default=1000, help="jobtui run --concurrency (default 1000)")
    ap.add_argument("--baseline", metavar="REF", help="a git commit to measure beside this tree, in the same run")
    ap.add_argument("--only", default="stages,items,idle,raw",
                    help="comma-separated: stages, items, idle, raw, rawrow")
    ap.add_argument("--no-json", action="store_true", help="do not write bench/results/e2e-*.json")
    args = ap.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    jobs = args.jobs or (1000 if args.quick else 5000)
    items = args.items or (20_000 if args.quick else 100_000)
    kinds = [k for k in args.only.split(",") if k]
    counts = {"stages": jobs, "items": items, "idle": 0, "raw": items, "rawrow": items}

    global PYCACHE
    tmp = Path(tempfile.mkdtemp(prefix="jobtui-e2e-"))
    PYCACHE = tmp / "pycache"
    trees: dict[str, Path] = {"this": ROOT / "src"}
    env: dict[str, Any] = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count()}
    try:
        env["this"] = _git("rev-parse", "--short", "HEAD") + (" + changes" if _git("status", "--porcelain", "--", "src")
                                                                 else "")
        if args.baseline:
            base = tmp / "baseline"
            _git("worktree", "add", "--detach", str(base), args.baseline)
            trees["baseline"] = base / "src"
            env["baseline"] = _git("rev-parse", "--short", args.baseline)
        print(f"Python {env['python']} · SQLite {env['sqlite']} · {env['cpus']} CPUs · this tree {env['this']}"
              + (f" · baseline {env['baseline']}" if args.baseline else ""), flush=True)
        for src in trees.values():
            _one(src, "idle", 0, args.concurrency, tmp)  # untimed: fills the bytecode cache
        started = datetime.now(UTC)
        res: dict[str, dict[str, list[float]]] = {t: {k: [] for k in kinds} for t in trees}
        cpu: dict[str, dict[str, list[float]]] = {t: {k: [] for k in kinds} for t in trees}
        for rep in range(runs):
            for kind in kinds:
                for name, src in trees.items():
                    if kind in ("raw", "rawrow"):
                        s, c = _one_raw(counts[kind], tmp, kind)
                        cpu[name][kind].append(c)
                    else:
                        s = _one(src, kind, counts[kind], args.concurrency, tmp, cpu[name][kind])
                    res[name][kind].append(s)
                    print(f"  round {rep + 1}/{runs} {kind:<6} {name:<8} {s:7.3f} s wall"
                          f" {cpu[name][kind][-1]:7.3f} s CPU", flush=True)
    except BenchError as e:
        print(f"\nBENCHMARK FAILED: {e}", file=sys.stderr)
        return 2
    finally:
        if args.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "baseline")], cwd=ROOT,
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    med = {t: {k: statistics.median(v) for k, v in by.items()} for t, by in res.items()}
    med_cpu = {t: {k: statistics.median(v) for k, v in by.items()} for t, by in cpu.items()}
    rate = {"stages": lambda s: jobs * STAGES_PER_JOB / s, "items": lambda s: items / s, "idle": lambda s: s,
            "raw": lambda s: items / s, "rawrow": lambda s: items / s}
    unit = {"stages": "stages/s", "items": "items/s", "idle": "s (start to exit)", "raw": "rows/s", "rawrow": "rows/s"}
    label = {"stages": f"{jobs:,} jobs x 8 stages", "items": f"1 job x {items:,} items", "idle": "empty database",
             "raw": f"aiosqlite {items:,} rows", "rawrow": "  one row per statement"}
    print(f"\nwhole `jobtui run --exit-when-idle` process, concurrency {args.concurrency}; median of {runs}")
    head = f"{'workload':<26}{'unit':<20}" + "".join(f"{t:>12}" for t in trees) + ("   ratio" if args.baseline else "")
    print(head)
    print("-" * len(head))
    summary: dict[str, Any] = {}
    for kind in kinds:
        vals = {t: rate[kind](med[t][kind]) for t in trees}
        line = f"{label[kind]:<26}{unit[kind]:<20}" + "".join(
            f"{v:>12,.0f}" if kind != "idle" else f"{v:>12.3f}" for v in vals.values())
        if args.baseline:
            line += f"   {vals['this'] / vals['baseline']:.2f}x"
        print(line)
        summary[kind] = vals
        if kind != "idle":
            cvals = {t: rate[kind](med_cpu[t][kind]) for t in trees}
            line = f"{'  per CPU second':<26}{unit[kind]:<20}" + "".join(f"{v:>12,.0f}" for v in cvals.values())
            if args.baseline:
                line += f"   {cvals['this'] / cvals['baseline']:.2f}x"
            print(line)
            summary[kind + "_per_cpu_s"] = cvals
    if "stages" in summary and "items" in summary:
        ok_s = summary["stages"]["this"] >= TARGET_STAGES_S
        ok_i = summary["items"]["this"] >= TARGET_ITEMS_S
        print(f"targets: >= {TARGET_STAGES_S:,} stages/s {'met' if ok_s else 'NOT met'}; "
              f">= {TARGET_ITEMS_S:,} items/s {'met' if ok_i else 'NOT met'}")
    _ratios(summary)
    if not args.no_json:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"e2e-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        out.write_text(json.dumps({"started_at": started.isoformat(), "argv": sys.argv, "env": env,
                                   "config": {"runs": runs, "jobs": jobs, "items": items,
                                              "concurrency": args.concurrency},
                                   "seconds": res, "cpu_seconds": cpu, "medians_s": med, "medians_cpu_s": med_cpu,
                                   "rates": summary}, indent=1) + "\n")
        print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
