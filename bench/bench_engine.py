"""Engine benchmarks: stages/s and items/s end to end, against same-run SQLite baselines.

    python bench/bench_engine.py            # 5 runs of each, full sizes
    python bench/bench_engine.py --quick    # 2 runs, smaller sizes
    python bench/bench_engine.py --runs 7 --modes FULL

Every figure is the median of N runs, each on a fresh SQLite file in a temporary folder. The
repetitions are interleaved (run 1 of every measurement, then run 2, ...) so that noise on a shared
machine hits the engine and its baselines alike. synchronous=FULL is what the product uses by
default; NORMAL is reported beside it.

Measurements:
  stages    1,000 concurrent `demo` jobs (delay=0, items=0, 8 stages each) submitted with
            Client.submit_many, then one Runner(concurrency=1000).run(exit_when_idle=True).
            Time from runner start to the last job's completion being committed (seen through the
            runner's on_event hook); stages/s = 8000 / that time. Also: submit time, time until run()
            returns, group commits made, and CPU time of the process.
  items     one job of a bench job type whose single stage does `async for _ in ctx.items(range(N), fn)`;
            items/s = N / the stage's own time (the final commit included).
  raw       stdlib sqlite3, same PRAGMAs (WAL, synchronous), one small UPDATE per transaction: commits/s.
  naive     aiosqlite, one connection, 1,000 concurrent tasks each doing 8 "stage" updates, each as
            `await db.execute(...); await db.commit()`. Two variants:
              naive-literal  exactly that. With the sqlite3 default (implicit) transactions and one
                             shared connection, interleaved tasks share transactions and most
                             commit() calls are no-ops, so it batches by accident; the effective
                             commits are counted and shown.
              naive-1commit  the same with an asyncio.Lock around each execute+commit: really one
                             transaction (and one fsync under FULL) per stage. This is the honest
                             "one commit per stage" baseline the ratio is taken against.

Only the standard library and jobtui are used. Results go to stdout (a table) and to
bench/results/engine-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

import jobtui
from jobtui import Context, JobType, Param, Runner, Stage
from jobtui.builtins import default_registry
from jobtui.client import Client, Submission
from jobtui.engine import Registry
from jobtui.store import Store

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

TARGET_STAGES_S = 10_000
TARGET_ITEMS_S = 50_000
STAGES_PER_JOB = 8


class BenchError(RuntimeError):
    """A benchmark's result failed verification."""


# --------------------------------------------------------------------------------- the items job type
_STAGE_TIMES: dict[int, float] = {}
"""job_id -> seconds spent in the items stage (filled by the stage itself)."""


async def _item_fn(i: int) -> dict[str, int]:
    return {"i": i, "ok": 1}


async def _items_stage(ctx: Context) -> dict[str, Any]:
    n = ctx.params["n"]
    t0 = time.perf_counter()
    count = 0
    async for _ in ctx.items(range(n), _item_fn):
        count += 1
    _STAGE_TIMES[ctx.job_id] = time.perf_counter() - t0
    return {"items": count}


BENCH_ITEMS = JobType(
    "bench_items",
    [Stage(_items_stage, "items")],
    params={"n": Param(int, 1000, "items to run", min=0)},
    description="benchmark: one stage that runs N trivial items",
)


def _registry() -> Registry:
    reg = default_registry()
    reg.add(BENCH_ITEMS)
    return reg


# ------------------------------------------------------------------------------------------ helpers
class _TempDb:
    """A fresh database path in its own temporary folder, removed afterwards."""

    def __init__(self, name: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"jobtui-bench-{name}-"))
        self.path = self.dir / "bench.db"

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _fresh() -> None:
    gc.collect()


# -------------------------------------------------------------------------------- 1. stages per second
class _NoHook:
    """Called right around runner.run(); the profiler passes its own."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


async def _bench_stages(
    path: Path, mode: str, jobs: int, concurrency: int, hook: _NoHook | None = None
) -> dict[str, Any]:
    hook = hook or _NoHook()
    reg = _registry()
    store = await Store.open(path, synchronous=mode)
    client = Client(store, reg, source="bench")
    try:
        subs = [Submission("demo", {"delay": 0, "items": 0}) for _ in range(jobs)]
        t0 = time.perf_counter()
        ids = await client.submit_many(subs)
        submit_s = time.perf_counter() - t0
        if len(ids) != jobs:
            raise BenchError(f"submit_many returned {len(ids)} ids for {jobs} jobs")

        completed_at: list[float] = []

        def on_event(kind: str, _job_id: Any) -> None:
            if kind == "completed":
                completed_at.append(time.perf_counter())

        runner = Runner(store, reg, concurrency=concurrency, on_event=on_event)
        commits0 = store.commits
        cpu0 = time.process_time()
        hook.start()
        t_start = time.perf_counter()
        await runner.run(exit_when_idle=True)
        t_return = time.perf_counter()
        hook.stop()
        cpu = time.process_time() - cpu0
        if len(completed_at) != jobs:
            listed = await client.list_jobs()
            by: dict[str, int] = {}
            for j in listed:
                by[j.status.value] = by.get(j.status.value, 0) + 1
            err = next((f"job {j.job_id}: {j.failed_step}: {j.error_message}" for j in listed if j.error_message), "")
            raise BenchError(f"{len(completed_at)} 'completed' events for {jobs} jobs; jobs by status {by} {err}")
        run_s = max(completed_at) - t_start

        # Verify through the client: every job completed, each with 8 completed stages.
        listed = await client.list_jobs()
        if len(listed) != jobs:
            raise BenchError(f"{len(listed)} jobs in the store, expected {jobs}")
        bad = [j.job_id for j in listed if j.status.value != "completed"]
        if bad:
            raise BenchError(f"{len(bad)} jobs not completed, e.g. {bad[:5]}")
        for job_id in ids:
            detail = await client.detail(job_id)
            done = sum(1 for s in detail.stages if s.status.value == "completed")
            if len(detail.stages) != STAGES_PER_JOB or done != STAGES_PER_JOB:
                raise BenchError(f"job {job_id}: {done}/{len(detail.stages)} stages completed, expected 8/8")
        if runner.stages_done != jobs * STAGES_PER_JOB:
            raise BenchError(f"runner counted {runner.stages_done} stages, expected {jobs * STAGES_PER_JOB}")
        stages = jobs * STAGES_PER_JOB
        return {
            "submit_s": submit_s,
            "run_s": run_s,
            "run_return_s": t_return - t_start,
            "stages_per_s": stages / run_s,
            "commits": store.commits - commits0,
            "cpu_s": cpu,
        }
    finally:
        await client.close()


# --------------------------------------------------------------------------------- 2. items per second
async def _bench_items(path: Path, mode: str, n: int, hook: _NoHook | None = None) -> dict[str, Any]:
    hook = hook or _NoHook()
    reg = _registry()
    store = await Store.open(path, synchronous=mode)
    client = Client(store, reg, source="bench")
    try:
        job_id = await client.submit("bench_items", {"n": n})
        runner = Runner(store, reg, concurrency=1)
        commits0 = store.commits
        cpu0 = time.process_time()
        hook.start()
        t0 = time.perf_counter()
        await runner.run(exit_when_idle=True)
        run_s = time.perf_counter() - t0
        hook.stop()
        cpu = time.process_time() - cpu0
        stage_s = _STAGE_TIMES.pop(job_id, None)
        job = await client.job(job_id)
        if job.status.value != "completed":
            raise BenchError(f"items job {job_id} is {job.status.value}: {job.error_message}")
        if stage_s is None:
            raise BenchError("the items stage did not record its time")
        detail = await client.detail(job_id)
        if detail.results != n:  # count(*) of the job's items with status 'done'
            raise BenchError(f"items table holds {detail.results} done items, expected {n}")
        st = detail.stages[0]
        if job.items_done != n or st.items_done != n or st.items_total != n or st.status.value != "completed":
            raise BenchError(
                f"counters disagree: job items_done {job.items_done}, stage {st.status.value}"
                f" items_done {st.items_done} / total {st.items_total}, expected {n}"
            )
        return {
            "stage_s": stage_s,
            "run_s": run_s,
            "items_per_s": n / stage_s,
            "commits": store.commits - commits0,
            "cpu_s": cpu,
        }
    finally:
        await client.close()


# ----------------------------------------------------------------------------- 3a. raw sqlite3 commits
def _bench_raw(path: Path, mode: str, seconds: float, min_commits: int = 200) -> dict[str, Any]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        row = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        assert row and row[0].lower() == "wal", row
        conn.execute(f"PRAGMA synchronous = {mode}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1, 0)")
        n = 0
        t0 = time.perf_counter()
        while True:
            conn.execute("BEGIN")
            conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            conn.execute("COMMIT")
            n += 1
            if n % 50 == 0:
                el = time.perf_counter() - t0
                if el >= seconds and n >= min_commits:
                    break
        el = time.perf_counter() - t0
        if conn.execute("SELECT v FROM t").fetchone()[0] != n:
            raise BenchError("raw baseline lost updates")
        return {"commits": n, "seconds": el, "commits_per_s": n / el}
    finally:
        conn.close()


# --------------------------------------------------------------------------- 3b. naive aiosqlite loop
async def _bench_naive(path: Path, mode: str, jobs: int, locked: bool) -> dict[str, Any]:
    db = await aiosqlite.connect(path)  # sqlite3's default (implicit) transaction handling
    try:
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute(f"PRAGMA synchronous = {mode}")
        await db.execute(
            "CREATE TABLE stages (job_id INTEGER NOT NULL, stage_index INTEGER NOT NULL, status TEXT NOT NULL,"
            " output TEXT, finished_at_ms INTEGER, PRIMARY KEY (job_id, stage_index)) WITHOUT ROWID"
        )
        await db.executemany(
            "INSERT INTO stages (job_id, stage_index, status) VALUES (?, ?, 'pending')",
            [(j, s) for j in range(jobs) for s in range(STAGES_PER_JOB)],
        )
        await db.commit()

        real_commits = 0
        raw = db._conn  # the sqlite3 connection, touched only on aiosqlite's own thread below

        def commit_counting() -> None:
            # What db.commit() does, plus counting the commits that really end a transaction.
            nonlocal real_commits
            if raw.in_transaction:
                real_commits += 1
            raw.commit()

        lock = asyncio.Lock()

        async def stage(job: int, index: int) -> None:
            await db.execute(
                "UPDATE stages SET status = 'completed', output = ?, finished_at_ms = ? WHERE job_id = ? AND stage_index = ?",
                (f'{{"stage":{index}}}', int(time.time() * 1000), job, index),
            )
            await db._execute(commit_counting)

        async def job(j: int) -> None:
            for index in range(STAGES_PER_JOB):
                if locked:
                    async with lock:
                        await stage(j, index)
                else:
                    await stage(j, index)

        t0 = time.perf_counter()
        await asyncio.gather(*(job(j) for j in range(jobs)))
        el = time.perf_counter() - t0
        cur = await db.execute("SELECT count(*) FROM stages WHERE status = 'completed'")
        row = await cur.fetchone()
        stages = jobs * STAGES_PER_JOB
        if row is None or row[0] != stages:
            raise BenchError(f"naive baseline: {row} completed stages, expected {stages}")
        return {"seconds": el, "stages_per_s": stages / el, "real_commits": real_commits}
    finally:
        await db.close()


# ------------------------------------------------------------------------------------------- driver
def _env() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = bool(subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=HERE.parent, capture_output=True, text=True, timeout=5
        ).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    return {
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "aiosqlite": getattr(aiosqlite, "__version__", "?"),
        "jobtui": jobtui.__version__,
        "git_commit": commit,
        "src_dirty": dirty,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "tmpdir": tempfile.gettempdir(),
    }


def _run_all(args: argparse.Namespace) -> dict[str, Any]:
    modes = [m.strip().upper() for m in args.modes.split(",") if m.strip()]
    raw_runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        m: {k: [] for k in ("stages", "items", "raw", "naive_literal", "naive_1commit")} for m in modes
    }

    def record(mode: str, name: str, fn: Callable[[Path], Any]) -> None:
        _fresh()
        with _TempDb(f"{name}-{mode}") as path:
            res = fn(path)
        raw_runs[mode][name].append(res)
        brief = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}
        print(f"    {mode:<6} {name:<14} {brief}", flush=True)

    for rep in range(args.runs):
        print(f"run {rep + 1}/{args.runs}", flush=True)
        for mode in modes:
            record(mode, "raw", lambda p, mode=mode: _bench_raw(p, mode, args.raw_seconds))
            record(mode, "stages", lambda p, mode=mode: asyncio.run(_bench_stages(p, mode, args.jobs, args.concurrency)))
            record(mode, "naive_literal", lambda p, mode=mode: asyncio.run(_bench_naive(p, mode, args.jobs, locked=False)))
            record(mode, "naive_1commit", lambda p, mode=mode: asyncio.run(_bench_naive(p, mode, args.jobs, locked=True)))
            record(mode, "items", lambda p, mode=mode: asyncio.run(_bench_items(p, mode, args.items)))

    summary: dict[str, Any] = {}
    for mode in modes:
        r = raw_runs[mode]
        stages = _median([x["stages_per_s"] for x in r["stages"]])
        items = _median([x["items_per_s"] for x in r["items"]])
        raw = _median([x["commits_per_s"] for x in r["raw"]])
        naive_lit = _median([x["stages_per_s"] for x in r["naive_literal"]])
        naive_one = _median([x["stages_per_s"] for x in r["naive_1commit"]])
        summary[mode] = {
            "stages_per_s": stages,
            "stages_run_s": _median([x["run_s"] for x in r["stages"]]),
            "stages_run_return_s": _median([x["run_return_s"] for x in r["stages"]]),
            "submit_s": _median([x["submit_s"] for x in r["stages"]]),
            "stages_commits": _median([x["commits"] for x in r["stages"]]),
            "stages_cpu_s": _median([x["cpu_s"] for x in r["stages"]]),
            "items_per_s": items,
            "items_stage_s": _median([x["stage_s"] for x in r["items"]]),
            "items_commits": _median([x["commits"] for x in r["items"]]),
            "items_cpu_s": _median([x["cpu_s"] for x in r["items"]]),
            "raw_commits_per_s": raw,
            "naive_literal_stages_per_s": naive_lit,
            "naive_literal_real_commits": _median([x["real_commits"] for x in r["naive_literal"]]),
            "naive_1commit_stages_per_s": naive_one,
            "ratio_stages_over_raw_commits": stages / raw,
            "ratio_stages_over_naive_1commit": stages / naive_one,
            "ratio_stages_over_naive_literal": stages / naive_lit,
            "ratio_items_over_raw_commits": items / raw,
            "meets_stage_target": stages >= TARGET_STAGES_S,
            "meets_item_target": items >= TARGET_ITEMS_S,
        }
    return {"runs": raw_runs, "summary": summary, "modes": modes}


def _table(args: argparse.Namespace, out: dict[str, Any]) -> str:
    modes = out["modes"]
    s = out["summary"]
    n_st = args.jobs * STAGES_PER_JOB
    rows: list[tuple[str, ...]] = [
        (f"measure (median of {args.runs})", *modes, "target"),
        (f"jobtui stages/s ({args.jobs} demo jobs x 8, conc {args.concurrency})",
         *(f"{s[m]['stages_per_s']:,.0f}" for m in modes), f">= {TARGET_STAGES_S:,}"),
        ("  run time to last completion (s)", *(f"{s[m]['stages_run_s']:.3f}" for m in modes), ""),
        ("  run() return time (s)", *(f"{s[m]['stages_run_return_s']:.3f}" for m in modes), ""),
        (f"  submit {args.jobs} jobs (s)", *(f"{s[m]['submit_s']:.3f}" for m in modes), ""),
        ("  group commits / CPU s", *(f"{s[m]['stages_commits']:.0f} / {s[m]['stages_cpu_s']:.2f}" for m in modes), ""),
        (f"jobtui items/s (1 stage, {args.items:,} items)",
         *(f"{s[m]['items_per_s']:,.0f}" for m in modes), f">= {TARGET_ITEMS_S:,}"),
        ("  stage time (s)", *(f"{s[m]['items_stage_s']:.3f}" for m in modes), ""),
        ("  group commits / CPU s", *(f"{s[m]['items_commits']:.0f} / {s[m]['items_cpu_s']:.2f}" for m in modes), ""),
        ("baseline: raw sqlite3 commits/s (1 UPDATE/tx)", *(f"{s[m]['raw_commits_per_s']:,.0f}" for m in modes), ""),
        (f"baseline: naive aiosqlite, 1 commit/stage (stages/s, {n_st} commits)",
         *(f"{s[m]['naive_1commit_stages_per_s']:,.0f}" for m in modes), ""),
        ("baseline: naive aiosqlite, literal execute+commit (stages/s)",
         *(f"{s[m]['naive_literal_stages_per_s']:,.0f}" for m in modes), ""),
        ("  its real commits (shared implicit tx)", *(f"{s[m]['naive_literal_real_commits']:.0f}" for m in modes), ""),
        ("ratio: stages/s / raw commits/s", *(f"{s[m]['ratio_stages_over_raw_commits']:.2f}x" for m in modes), ""),
        ("ratio: stages/s / naive 1-commit stages/s", *(f"{s[m]['ratio_stages_over_naive_1commit']:.2f}x" for m in modes), ""),
        ("ratio: stages/s / naive literal stages/s", *(f"{s[m]['ratio_stages_over_naive_literal']:.2f}x" for m in modes), ""),
        ("ratio: items/s / raw commits/s", *(f"{s[m]['ratio_items_over_raw_commits']:.2f}x" for m in modes), ""),
        ("meets targets (stages, items)",
         *(("yes" if s[m]["meets_stage_target"] else "NO") + ", " + ("yes" if s[m]["meets_item_target"] else "NO")
           for m in modes), ""),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 runs, smaller sizes")
    ap.add_argument("--runs", type=int, help="runs per measurement (default 5; --quick: 2)")
    ap.add_argument("--jobs", type=int, help="demo jobs (default 1000; --quick: 1000)")
    ap.add_argument("--concurrency", type=int, help="runner concurrency (default: = jobs)")
    ap.add_argument("--items", type=int, help="items in the items job (default 100000; --quick: 20000)")
    ap.add_argument("--raw-seconds", type=float, help="seconds per raw-commit run (default 1.0; --quick: 0.5)")
    ap.add_argument("--modes", default="FULL,NORMAL", help="synchronous modes, comma-separated (default FULL,NORMAL)")
    ap.add_argument("--no-json", action="store_true", help="do not write bench/results/engine-*.json")
    args = ap.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    args.jobs = args.jobs or 1000
    args.concurrency = args.concurrency or args.jobs
    args.items = args.items or (20_000 if args.quick else 100_000)
    args.raw_seconds = args.raw_seconds or (0.5 if args.quick else 1.0)
    for m in args.modes.split(","):
        if m.strip().upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            ap.error(f"bad synchronous mode {m!r}")

    env = _env()
    print(f"jobtui {env['jobtui']} ({env['git_commit']}{', src dirty' if env['src_dirty'] else ''}) · "
          f"Python {env['python']} · SQLite {env['sqlite']} · aiosqlite {env['aiosqlite']} · {env['cpus']} CPUs · "
          f"temp {env['tmpdir']}", flush=True)
    started = datetime.now(UTC)
    try:
        out = _run_all(args)
    except BenchError as e:
        print(f"\nBENCHMARK FAILED VERIFICATION: {e}", file=sys.stderr)
        return 2
    print()
    print(_table(args, out))

    if not args.no_json:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"engine-{stamp}.json"
        payload = {
            "started_at": started.isoformat(),
            "argv": sys.argv,
            "config": {k: getattr(args, k) for k in ("quick", "runs", "jobs", "concurrency", "items", "raw_seconds", "modes")},
            "targets": {"stages_per_s": TARGET_STAGES_S, "items_per_s": TARGET_ITEMS_S},
            "env": env,
            **out,
        }
        path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
        print(f"\nwrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
