"""Same-machine peer figures: Huey (SqliteHuey) and DBOS Transact (SQLite), each beside jobtui in the same run.

    pip install -e '.[bench]'              # huey and dbos: bench-only, never jobtui dependencies
    python bench/bench_peers.py            # 5 runs of each peer that is installed
    python bench/bench_peers.py --quick    # 2 runs, smaller sizes
    python bench/bench_peers.py --peers dbos --runs 3

Huey is measured with a real consumer (huey.consumer.Consumer, started in this process, not
immediate mode) on a fresh SqliteHuey file per run:

  enqueue   8,000 `noop(i)` calls (each enqueue is its own SQLite transaction in Huey)
  consume   time from consumer start until all 8,000 results are stored; tasks/s = 8000 / that.
            Per task Huey commits twice: the dequeue (BEGIN EXCLUSIVE; SELECT; DELETE) and the
            result write.

Worker setups: 1 thread, 4 threads, 2 processes (fork: real parallelism on 2 cores).
Durability: SqliteHuey(fsync=True) is synchronous=FULL; NORMAL uses a storage subclass that sets
`PRAGMA synchronous = NORMAL` on each connection (Huey has no switch for it).

Huey's immediate mode (tasks run inline at call time, results in SQLite) is measured too, for
reference only: it is not a queue.

jobtui is measured in the same run on the same machine:
  jobtui 1000x8   1,000 demo jobs x 8 stages (bench_engine's stage benchmark): stages/s
  jobtui 8000x1   8,000 jobs of a one-stage trivial job type (the closest analogue of a Huey task),
                  Runner(concurrency=1000): jobs/s, plus submit time for 8,000 jobs.

DBOS Transact (`dbos`, its SQLite system database as shipped: rollback journal, synchronous FULL)
runs the workloads of bench_pg.py with bench_pg.py's own code (its DBOS and jobtui workers, one
process each, made ready, then timed from a common "go"), on a fresh SQLite file each: N workflows of
8 trivial steps vs N `demo` jobs x 8 stages, and one workflow of M steps vs one job of M items. DBOS
checkpoints each step in its own transaction, so the sizes are small (rates are per second).

Results: a table on stdout and bench/results/peers-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_engine as be
from jobtui import Context, JobType, Runner, Stage
from jobtui.client import Client, Submission
from jobtui.store import Store

try:
    import huey  # type: ignore[import-not-found]
    from huey import SqliteHuey  # type: ignore[import-not-found]
    from huey.storage import SqliteStorage  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    huey = None


# --------------------------------------------------------------------------------------------- huey
def _storage_class(mode: str) -> Any:
    if mode == "FULL":
        return None

    class NormalSqliteStorage(SqliteStorage):  # type: ignore[misc, valid-type]
        def _create_connection(self) -> sqlite3.Connection:
            conn = super()._create_connection()
            conn.execute("PRAGMA synchronous = NORMAL")
            return conn

    return NormalSqliteStorage


def _make_huey(path: Path, mode: str, immediate: bool = False) -> Any:
    kwargs: dict[str, Any] = {"filename": str(path), "fsync": True if mode == "FULL" else None}
    sc = _storage_class(mode)
    if sc is not None:
        kwargs["storage_class"] = sc
        kwargs.pop("fsync")
    if immediate:
        kwargs["immediate"] = True
        kwargs["immediate_use_memory"] = False
    h = SqliteHuey(f"bench-{mode.lower()}", **kwargs)

    @h.task()
    def noop(i: int) -> int:
        return i

    h._bench_noop = noop
    # Confirm the PRAGMA really took.
    sync = h.storage.conn.execute("PRAGMA synchronous").fetchone()[0]
    want = {"FULL": 2, "NORMAL": 1}[mode]
    if sync != want:
        raise be.BenchError(f"huey storage synchronous={sync}, wanted {want}")
    return h


def _bench_huey(path: Path, mode: str, n: int, workers: int, worker_type: str) -> dict[str, Any]:
    h = _make_huey(path, mode)
    noop = h._bench_noop
    t0 = time.perf_counter()
    for i in range(n):
        noop(i)
    enqueue_s = time.perf_counter() - t0
    if h.pending_count() != n:
        raise be.BenchError(f"huey: {h.pending_count()} pending after enqueueing {n}")

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = h.create_consumer(
        workers=workers, worker_type=worker_type, periodic=False, initial_delay=0.001, backoff=1.0,
        max_delay=0.005, check_worker_health=False,
    )
    t1 = time.perf_counter()
    consumer.start()
    try:
        deadline = t1 + 300
        while h.result_count() < n:
            if time.perf_counter() > deadline:
                raise be.BenchError(f"huey: only {h.result_count()}/{n} results after 300 s")
            time.sleep(0.002)
        consume_s = time.perf_counter() - t1
    finally:
        consumer.stop(graceful=True)
        for s, handler in saved.items():
            signal.signal(s, handler)
    if h.pending_count() != 0 or h.result_count() != n:
        raise be.BenchError(f"huey: {h.pending_count()} pending, {h.result_count()} results, expected 0 / {n}")
    h.storage.close()
    return {"enqueue_s": enqueue_s, "consume_s": consume_s, "tasks_per_s": n / consume_s,
            "end_to_end_per_s": n / (enqueue_s + consume_s)}


def _bench_huey_immediate(path: Path, mode: str, n: int) -> dict[str, Any]:
    h = _make_huey(path, mode, immediate=True)
    noop = h._bench_noop
    t0 = time.perf_counter()
    results = [noop(i) for i in range(n)]
    el = time.perf_counter() - t0
    if results[-1].get() != n - 1:
        raise be.BenchError("huey immediate: wrong result")
    h.storage.close()
    return {"seconds": el, "tasks_per_s": n / el}


# ------------------------------------------------------------------------------------------- jobtui
async def _one_stage(ctx: Context) -> dict[str, int]:
    return {"ok": 1}


BENCH_ONE = JobType("bench_one", [Stage(_one_stage, "only")], description="benchmark: one trivial stage")


async def _bench_jobtui_single(path: Path, mode: str, n: int, concurrency: int) -> dict[str, Any]:
    reg = be._registry()
    reg.add(BENCH_ONE)
    store = await Store.open(path, synchronous=mode)
    client = Client(store, reg, source="bench")
    try:
        t0 = time.perf_counter()
        await client.submit_many([Submission("bench_one", {}) for _ in range(n)])
        submit_s = time.perf_counter() - t0
        runner = Runner(store, reg, concurrency=concurrency)
        t1 = time.perf_counter()
        await runner.run(exit_when_idle=True)
        run_s = time.perf_counter() - t1
        stats = await client.stats()
        if stats.by_status.get("completed") != n or runner.jobs_done != n:
            raise be.BenchError(f"jobtui 1-stage: {stats.by_status}, runner finished {runner.jobs_done}/{n}")
        return {"submit_s": submit_s, "run_s": run_s, "jobs_per_s": n / run_s,
                "end_to_end_per_s": n / (submit_s + run_s)}
    finally:
        await client.close()


# ------------------------------------------------------------------------------------------- driver
def _dbos(args: argparse.Namespace) -> dict[str, Any]:
    """Run DBOS and jobtui on SQLite with bench_pg.py's workers and workloads, interleaved; print the table.

    The same code as the PostgreSQL comparison (bench_pg.py: one worker process each, made ready, then
    timed from a common "go"), pointed at a fresh SQLite file for each: only the database differs.
    """
    import tempfile

    import bench_pg as pg

    target = pg.Target("sqlite", None)
    sizes = {"stages": args.dbos_jobs, "items": args.dbos_items}
    runs: dict[str, list[float]] = {}
    for rep in range(args.runs):
        print(f"run {rep + 1}/{args.runs}", flush=True)
        for kind, count in sizes.items():
            jobs, items = (count, 0) if kind == "stages" else (1, count)
            r = pg.measure_jobtui(target, 1, jobs, items, args.timeout)
            runs.setdefault(f"jobtui {kind}", []).append(r["seconds"])
            print(f"    jobtui {kind:<7} {count:>7,} {r['seconds']:8.3f} s", flush=True)
            with tempfile.TemporaryDirectory(prefix="jobtui-dbos-") as tmp:
                url = f"sqlite:///{tmp}/dbos.sqlite"
                argv = ["dbos", "--db", url, "--items", str(count)] if items else ["dbos", "--db", url, "--count", str(count)]
                with pg.workers([argv], args.timeout) as w:
                    report = w.go()[0]
            want = count if items else count * pg.STAGES
            if report["stages_done"] != want:
                raise be.BenchError(f"dbos: {report['stages_done']} steps done, want {want}")
            seconds = report["t_end"] - report["t_go"]
            runs.setdefault(f"dbos {kind}", []).append(seconds)
            print(f"    dbos   {kind:<7} {count:>7,} {seconds:8.3f} s", flush=True)
    med = {k: statistics.median(v) for k, v in runs.items()}
    per = {"stages": args.dbos_jobs * pg.STAGES, "items": args.dbos_items}
    print(f"\nDBOS Transact (SQLite) vs jobtui (SQLite), one worker process each, from 'go'; median of {args.runs}")
    head = f"{'workload':<34}{'unit':<12}{'jobtui':>10}{'DBOS':>10}{'jobtui/DBOS':>13}"
    print(head)
    print("-" * len(head))
    rates: dict[str, dict[str, float]] = {}
    for kind in sizes:
        j = per[kind] / med[f"jobtui {kind}"]
        d = per[kind] / med[f"dbos {kind}"]
        rates[kind] = {"jobtui": j, "dbos": d, "ratio": j / d}
        label = f"{args.dbos_jobs:,} jobs x 8 stages" if kind == "stages" else f"1 job x {args.dbos_items:,} items"
        unit = "stages/s" if kind == "stages" else "items/s"
        print(f"{label:<34}{unit:<12}{j:>10,.0f}{d:>10,.0f}{j / d:>12.1f}x")
    return {"seconds": runs, "medians_s": med, "rates": rates, "sizes": sizes}


def _huey(args: argparse.Namespace, env: dict[str, Any]) -> dict[str, Any]:
    n = args.tasks
    jobs8 = max(1, n // 8)
    modes = [m.strip().upper() for m in args.modes.split(",") if m.strip()]
    setups = [("thread", 1), ("thread", 4), ("process", 2)]

    runs: dict[str, list[dict[str, Any]]] = {}

    def record(key: str, fn: Callable[[Path], dict[str, Any]]) -> None:
        be._fresh()
        with be._TempDb("peers") as path:
            res = fn(path)
        runs.setdefault(key, []).append(res)
        brief = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}
        print(f"    {key:<28} {brief}", flush=True)

    env["huey"] = huey.__version__
    print(f"huey {env['huey']} · jobtui {env['jobtui']} ({env['git_commit']}) · Python {env['python']} · "
          f"SQLite {env['sqlite']} · {env['cpus']} CPUs", flush=True)
    for rep in range(args.runs):
        print(f"run {rep + 1}/{args.runs}", flush=True)
        for mode in modes:
            for wt, w in setups:
                record(f"{mode} huey {wt}x{w}", lambda p, mode=mode, w=w, wt=wt: _bench_huey(p, mode, n, w, wt))
            record(f"{mode} huey immediate", lambda p, mode=mode: _bench_huey_immediate(p, mode, n))
            record(f"{mode} jobtui {jobs8}x8",
                   lambda p, mode=mode: asyncio.run(be._bench_stages(p, mode, jobs8, jobs8)))
            record(f"{mode} jobtui {n}x1", lambda p, mode=mode: asyncio.run(_bench_jobtui_single(p, mode, n, 1000)))

    med = lambda key, field: statistics.median(x[field] for x in runs[key])  # noqa: E731
    print(f"\n{n:,} tasks; median of {args.runs}")
    W = 48
    head = f"{'system / setup':<{W}}" + "".join(f"{m + ' per s':>14}{m + ' setup s':>16}" for m in modes)
    print(head)
    print("-" * len(head))
    rows: list[tuple[str, list[tuple[float, float]]]] = []
    for wt, w in setups:
        rows.append((f"huey consumer {wt} x{w} (tasks/s; enqueue s)",
                     [(med(f"{m} huey {wt}x{w}", "tasks_per_s"), med(f"{m} huey {wt}x{w}", "enqueue_s")) for m in modes]))
    rows.append(("huey immediate mode (tasks/s; -)", [(med(f"{m} huey immediate", "tasks_per_s"), float("nan")) for m in modes]))
    rows.append((f"jobtui {jobs8}x8 stages (stages/s; submit s)",
                 [(med(f"{m} jobtui {jobs8}x8", "stages_per_s"), med(f"{m} jobtui {jobs8}x8", "submit_s")) for m in modes]))
    rows.append((f"jobtui {n}x1-stage jobs (jobs/s; submit s)",
                 [(med(f"{m} jobtui {n}x1", "jobs_per_s"), med(f"{m} jobtui {n}x1", "submit_s")) for m in modes]))
    for label, vals in rows:
        print(f"{label:<{W}}" + "".join(f"{v:>14,.0f}" + (f"{s:>16.3f}" if s == s else f"{'-':>16}") for v, s in vals))
    return {"tasks": n, "runs": runs, "medians": {label: vals for label, vals in rows}}


def _dbos_installed() -> bool:
    try:
        import dbos  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--peers", default="", help="comma-separated: huey, dbos (default: those installed)")
    ap.add_argument("--tasks", type=int, help="Huey tasks (default 8000; --quick 2000)")
    ap.add_argument("--modes", default="FULL,NORMAL", help="synchronous modes of the Huey comparison")
    ap.add_argument("--dbos-jobs", type=int, help="8-stage jobs / workflows in the DBOS comparison (default 500, as bench_pg.py)")
    ap.add_argument("--dbos-items", type=int, help="items / steps of the one-job DBOS comparison (default 5000)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds one DBOS or jobtui worker may take")
    ap.add_argument("--no-json", action="store_true")
    args = ap.parse_args(argv)
    installed = {"huey": huey is not None, "dbos": _dbos_installed()}
    peers = [p for p in args.peers.split(",") if p] or [p for p, ok in installed.items() if ok]
    missing = [p for p in peers if not installed.get(p)]
    if missing or not peers:
        print(f"not installed: {', '.join(missing or ['huey', 'dbos'])}: `pip install -e '.[bench]'` into the venv",
              file=sys.stderr)
        return 1
    args.runs = args.runs or (2 if args.quick else 5)
    args.tasks = args.tasks or (2000 if args.quick else 8000)
    args.dbos_jobs = args.dbos_jobs or (100 if args.quick else 500)
    args.dbos_items = args.dbos_items or (1000 if args.quick else 5000)

    env = be._env()
    started = datetime.now(UTC)
    out: dict[str, Any] = {}
    try:
        if "huey" in peers:
            out["huey"] = _huey(args, env)
        if "dbos" in peers:
            import dbos

            env["dbos"] = getattr(dbos, "__version__", None) or _version("dbos")
            print(f"\nDBOS {env['dbos']} · jobtui {env['jobtui']} ({env['git_commit']}) · Python {env['python']} · "
                  f"SQLite {env['sqlite']} · {env['cpus']} CPUs", flush=True)
            out["dbos"] = _dbos(args)
    except (be.BenchError, RuntimeError) as e:
        print(f"\nBENCHMARK FAILED: {e}", file=sys.stderr)
        return 2

    if not args.no_json:
        be.RESULTS.mkdir(parents=True, exist_ok=True)
        path = be.RESULTS / f"peers-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps({"started_at": started.isoformat(), "argv": sys.argv, "runs_per": args.runs,
                                    "env": env, **out}, indent=1, default=str) + "\n")
        print(f"\nwrote {path.relative_to(be.HERE.parent)}")
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    sys.exit(main())
