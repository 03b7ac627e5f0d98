"""jobtui on PostgreSQL with 1, 2 and 4 runner processes, beside jobtui on SQLite and DBOS Transact on PostgreSQL.

    pip install -e '.[postgres,bench]'    # asyncpg for the store; dbos for the peer (never a runtime dependency)
    python bench/bench_pg.py               # 5 rounds
    python bench/bench_pg.py --quick       # 2 rounds, smaller sizes
    python bench/bench_pg.py --no-dbos     # jobtui only

One throwaway PostgreSQL cluster (tests/backends.py: initdb + pg_ctl in a temporary folder, default
fsync and synchronous_commit, over TCP to 127.0.0.1) serves every PostgreSQL measurement of the run:
jobtui's and DBOS's, each on a fresh database. SQLite measurements use a fresh file (synchronous=FULL,
the product's default). Every runner or DBOS worker is a separate OS process (`bench_pg.py _worker`),
started and made ready (store opened, runner built, DBOS launched) before a common "go" is written
to all of them; the clock starts at "go".

Two workloads, the same for both systems:
  stages   N workflows x 8 checkpointed steps (default N=500, so 4,000 checkpoints).
           jobtui: N `demo` jobs (delay 0, items 0: eight stages each, every stage end a checkpoint),
           submitted before the runners start; K processes each `Runner(concurrency=ceil(N/K))
           .run(exit_when_idle=True)`. Time: "go" to the last job's completed_at in the store.
           DBOS: one `@DBOS.workflow` calling eight `@DBOS.step`s (each step's output is checkpointed
           in DBOS's system database); each of K processes starts its N/K workflows (DBOS's own
           thread pool) and waits for their results. Time: "go" to the last result.
  items    one workflow of M checkpointed items, in one process (one job is one runner's).
           jobtui: one job whose stage is `async for _ in ctx.items(range(M), fn)` (bench_engine's
           bench_items type); DBOS: one workflow calling one step M times in sequence.
           Time: "go" to completion (jobtui: the job's completed_at; DBOS: the result).
Every run is verified (all jobs completed, each with 8/8 stages completed, every stage run once and
attempted once, as the store recorded them; items table = M; DBOS: N SUCCESS workflows and N x 8 step
outputs). Each runner's log (WARNING and up) is kept in the results file.

Each measurement also reports the CPU it cost per unit: the runner or DBOS processes' own (from go to exit)
and, on PostgreSQL, the server's (every process of the cluster, from /proc, over the same span). On a loaded
machine the rate says how much CPU a run was given; these say how much it needed (a CPU-bound runner loses
more of its rate to the load than DBOS, which mostly waits for its commits).

Rounds are interleaved (round 1 of everything, then round 2, ...) so machine noise hits all alike;
figures are medians over rounds, and ratios are taken between medians of the same run. Results:
a table on stdout and bench/results/pg-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.backends import PgCluster, start_cluster

import bench_engine as be

HERE = Path(__file__).resolve().parent

STAGES = be.STAGES_PER_JOB
TARGET_RATIO = 10.0
"""Issue 10's target: jobtui on PostgreSQL with 4 runners at least 10x DBOS on PostgreSQL (stages/s)."""


# ------------------------------------------------------------------------------------ worker side
def _ready_then_wait() -> float:
    """Say ready on stdout, wait for the parent's "go" on stdin; return the wall clock at go."""
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")
    return time.time()


async def _jobtui_worker(db: str, concurrency: int) -> dict[str, Any]:
    from jobtui import Runner
    from jobtui.store import open_store

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    store = await open_store(db)
    try:
        runner = Runner(store, be._registry(), concurrency=concurrency)
        loop = asyncio.get_running_loop()
        t_go = await loop.run_in_executor(None, _ready_then_wait)
        cpu0 = time.process_time()
        await runner.run(exit_when_idle=True)
        return {"t_go": t_go, "t_end": time.time(), "stages_done": runner.stages_done,
                "cpu_s": time.process_time() - cpu0}
    finally:
        await store.close()


def _dbos_worker(url: str, first: int, count: int, items: int, executor: str) -> dict[str, Any]:
    from dbos import DBOS

    DBOS(config={
        "name": "jobtui-bench", "system_database_url": url, "executor_id": executor, "log_level": "WARNING",
    })

    @DBOS.step()
    def stage(job: int, index: int) -> dict[str, Any]:
        return {"stage": index, "digest": f"{job}-{index}"}

    @DBOS.workflow()
    def pipeline(job: int) -> int:
        return sum(1 for index in range(STAGES) if stage(job, index))

    @DBOS.step()
    def item(i: int) -> dict[str, int]:
        return {"i": i, "ok": 1}

    @DBOS.workflow()
    def many_items(n: int) -> int:
        return sum(item(i)["ok"] for i in range(n))

    DBOS.launch()
    try:
        t_go = _ready_then_wait()
        cpu0 = time.process_time()
        if items:
            done = DBOS.start_workflow(many_items, items).get_result()
        else:
            handles = [DBOS.start_workflow(pipeline, job) for job in range(first, first + count)]
            done = sum(h.get_result() for h in handles)
        return {"t_go": t_go, "t_end": time.time(), "stages_done": done, "cpu_s": time.process_time() - cpu0}
    finally:
        DBOS.destroy()


def worker_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench_pg.py _worker")
    ap.add_argument("kind", choices=("jobtui", "dbos"))
    ap.add_argument("--db", required=True)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--items", type=int, default=0)
    ap.add_argument("--executor", default="w0")
    a = ap.parse_args(argv)
    if a.kind == "jobtui":
        out = asyncio.run(_jobtui_worker(a.db, a.concurrency))
    else:
        out = _dbos_worker(a.db, a.first, a.count, a.items, a.executor)
    print(json.dumps(out), flush=True)
    return 0


# ------------------------------------------------------------------------------------ parent side
class Workers:
    """K worker processes, started one after another (each ready before the next starts), then let go at once."""

    def __init__(self, argvs: list[list[str]], timeout: float) -> None:
        self.timeout = timeout
        self.procs: list[subprocess.Popen[str]] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
        for argv in argvs:
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "_worker", *argv], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            )
            self.procs.append(proc)
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise be.BenchError(f"worker {argv[0]} did not start: {line!r} {self._stderr(proc)}")

    @staticmethod
    def _stderr(proc: subprocess.Popen[str]) -> str:
        try:
            _out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
        return (err or "")[-3000:]

    def go(self) -> list[dict[str, Any]]:
        """Let every worker go; return each one's report once all have exited."""
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = []
        for proc in self.procs:
            try:
                out, err = proc.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                raise be.BenchError(f"worker {proc.pid} still running after {self.timeout}s: {err[-3000:]}") from None
            if proc.returncode != 0:
                raise be.BenchError(f"worker {proc.pid} exited {proc.returncode}: {err[-3000:]}")
            report = json.loads(out.strip().splitlines()[-1])
            report["log"] = err[-5000:]
            reports.append(report)
        return reports

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@contextmanager
def workers(argvs: list[list[str]], timeout: float) -> Iterator[Workers]:
    w = Workers([], timeout)
    try:
        w = Workers(argvs, timeout)
        yield w
    finally:
        w.close()


class Target:
    """Where one measurement runs: a fresh SQLite file, or a fresh database on the run's cluster."""

    def __init__(self, backend: str, cluster: PgCluster | None) -> None:
        self.backend = backend
        self.cluster = cluster

    @contextmanager
    def fresh(self, name: str) -> Iterator[str]:
        if self.backend == "sqlite":
            with be._TempDb(name) as path:
                yield str(path)
            return
        assert self.cluster is not None
        db = self.cluster.new_database()
        try:
            yield self.cluster.url(db)
        finally:
            self.cluster.drop_database(db)


async def _submit(db: str, jobs: int, items: int) -> list[int]:
    from jobtui.client import Client, Submission
    from jobtui.store import open_store

    client = Client(await open_store(db), be._registry(), source="bench")
    try:
        if items:
            return [await client.submit("bench_items", {"n": items})]
        return await client.submit_many([Submission("demo", {"delay": 0, "items": 0}) for _ in range(jobs)])
    finally:
        await client.close()


async def _verify_jobtui(db: str, ids: list[int], items: int) -> float:
    """Check every job completed as promised; return the last completion (wall clock, seconds)."""
    from jobtui.client import Client
    from jobtui.store import open_store

    client = Client(await open_store(db), be._registry(), source="bench")
    try:
        last = 0
        for job_id in ids:
            detail = await client.detail(job_id)
            job = detail.job
            if job.status.value != "completed" or job.completed_at_ms is None:
                raise be.BenchError(f"job {job_id} is {job.status.value}: {job.error_message}")
            last = max(last, job.completed_at_ms)
            if items:
                if detail.results != items or job.items_done != items:
                    raise be.BenchError(f"job {job_id}: {detail.results} item results, {job.items_done} counted, want {items}")
            else:
                done = sum(1 for s in detail.stages if s.status.value == "completed")
                if done != STAGES or len(detail.stages) != STAGES:
                    raise be.BenchError(f"job {job_id}: {done}/{len(detail.stages)} stages completed, want {STAGES}")
                twice = [s.name for s in detail.stages if s.runs != 1 or s.attempts != 1]
                if twice:
                    raise be.BenchError(f"job {job_id}: stages {twice} ran more than once")
        return last / 1000
    finally:
        await client.close()


def server_cpu_s(data: Path) -> float:
    """Return the CPU seconds used so far by a cluster (the postmaster, its children, those that ended), from /proc."""
    master = int((data / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / tick
        elif int(stat.parent.name) == master:  # its own, and that of its children that ended
            total += sum(int(f) for f in fields[11:15]) / tick
    return total


def measure_jobtui(target: Target, procs: int, jobs: int, items: int, timeout: float) -> dict[str, Any]:
    """One measurement of jobtui: `jobs` demo jobs (or one job of `items` items) on `procs` runner processes.

    Beside the rate, the CPU each unit cost: the runners' (their processes, from go to exit) and, on PostgreSQL,
    the server's (every process of the cluster over the same span): on a loaded machine the rate tells how much
    CPU the run was given, these how much it needed.
    """
    with target.fresh(f"{target.backend}-{procs}") as db:
        ids = asyncio.run(_submit(db, jobs, items))
        conc = 1 if items else math.ceil(jobs / procs)
        with workers([["jobtui", "--db", db, "--concurrency", str(conc)] for _ in range(procs)], timeout) as w:
            server0 = server_cpu_s(target.cluster.data) if target.cluster is not None else 0.0
            reports = w.go()
            server = server_cpu_s(target.cluster.data) - server0 if target.cluster is not None else float("nan")
        last = asyncio.run(_verify_jobtui(db, ids, items))
    t_go = min(r["t_go"] for r in reports)
    seconds = last - t_go
    n = items or jobs * STAGES
    return {"seconds": seconds, "per_s": n / seconds, "n": n, "per_process": [r["stages_done"] for r in reports],
            "log_lines": sum(len(r["log"].splitlines()) for r in reports),
            "runner_cpu_us": sum(r["cpu_s"] for r in reports) / n * 1e6, "server_cpu_us": server / n * 1e6}


def measure_dbos(cluster: PgCluster, procs: int, jobs: int, items: int, timeout: float) -> dict[str, Any]:
    """One measurement of DBOS on PostgreSQL: `jobs` workflows of 8 steps over `procs` processes, or one of `items` steps."""
    db = cluster.new_database()
    try:
        url = cluster.url(db)
        if items:
            argvs = [["dbos", "--db", url, "--items", str(items)]]
        else:
            share = [jobs // procs + (1 if k < jobs % procs else 0) for k in range(procs)]
            starts = [sum(share[:k]) for k in range(procs)]
            argvs = [["dbos", "--db", url, "--first", str(starts[k]), "--count", str(share[k]), "--executor", f"w{k}"]
                     for k in range(procs)]
        with workers(argvs, timeout) as w:
            server0 = server_cpu_s(cluster.data)
            reports = w.go()
            server = server_cpu_s(cluster.data) - server0
        want_wf, want_steps = (1, items) if items else (jobs, jobs * STAGES)
        ok = cluster.psql("SELECT count(*) FROM dbos.workflow_status WHERE status = 'SUCCESS'", db)
        steps = cluster.psql("SELECT count(*) FROM dbos.operation_outputs", db)
        if int(ok) != want_wf or int(steps) != want_steps:
            raise be.BenchError(f"DBOS: {ok} workflows succeeded (want {want_wf}), {steps} step outputs (want {want_steps})")
    finally:
        cluster.drop_database(db)
    seconds = max(r["t_end"] for r in reports) - min(r["t_go"] for r in reports)
    return {"seconds": seconds, "per_s": want_steps / seconds, "n": want_steps,
            "runner_cpu_us": sum(r["cpu_s"] for r in reports) / want_steps * 1e6, "server_cpu_us": server / want_steps * 1e6}


# ------------------------------------------------------------------------------------------ driver
def _versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for mod in ("asyncpg", "dbos", "psycopg", "aiosqlite"):
        try:
            from importlib.metadata import version

            out[mod] = version(mod)
        except Exception:
            out[mod] = "-"
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds, 200 jobs, 5,000 items")
    ap.add_argument("--runs", type=int, help="rounds (default 5; --quick 2)")
    ap.add_argument("--jobs", type=int, help="workflows of 8 steps (default 500; --quick 200)")
    ap.add_argument("--items", type=int, help="items in the jobtui items job (default 20000; --quick 5000)")
    ap.add_argument("--dbos-items", type=int, help="steps in DBOS's items workflow (default 2000; --quick 1000)")
    ap.add_argument("--procs", default="1,2,4", help="runner process counts on PostgreSQL (default 1,2,4)")
    ap.add_argument("--sqlite-procs", default="1", help="runner process counts on SQLite (default 1)")
    ap.add_argument("--dbos-procs", default="1,4", help="DBOS process counts (default 1,4)")
    ap.add_argument("--no-dbos", action="store_true", help="measure jobtui only")
    ap.add_argument("--timeout", type=float, default=600, help="seconds one measurement may take")
    ap.add_argument("--no-json", action="store_true", help="do not write bench/results/pg-*.json")
    args = ap.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    args.jobs = args.jobs or (200 if args.quick else 500)
    args.items = args.items or (5_000 if args.quick else 20_000)
    args.dbos_items = args.dbos_items or (1_000 if args.quick else 2_000)
    pg_procs = [int(x) for x in args.procs.split(",") if x]
    sqlite_procs = [int(x) for x in args.sqlite_procs.split(",") if x]
    dbos_procs = [] if args.no_dbos else [int(x) for x in args.dbos_procs.split(",") if x]
    if dbos_procs:
        try:
            import dbos  # noqa: F401
        except ImportError:
            ap.error("DBOS is not installed: pip install -e '.[bench]' (or --no-dbos)")

    env = be._env()
    started = datetime.now(UTC)
    cluster = start_cluster()
    server = cluster.psql("SHOW server_version")
    print(f"jobtui {env['jobtui']} ({env['git_commit']}{', src dirty' if env['src_dirty'] else ''}) · Python "
          f"{env['python']} · PostgreSQL {server} · {_versions()} · {env['cpus']} CPUs", flush=True)

    plan: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    sqlite, pg = Target("sqlite", None), Target("postgres", cluster)
    for k in sqlite_procs:
        plan.append((f"jobtui sqlite x{k} stages", lambda k=k: measure_jobtui(sqlite, k, args.jobs, 0, args.timeout)))
    for k in pg_procs:
        plan.append((f"jobtui pg x{k} stages", lambda k=k: measure_jobtui(pg, k, args.jobs, 0, args.timeout)))
    for k in dbos_procs:
        plan.append((f"dbos pg x{k} stages", lambda k=k: measure_dbos(cluster, k, args.jobs, 0, args.timeout)))
    plan.append(("jobtui sqlite items", lambda: measure_jobtui(sqlite, 1, 0, args.items, args.timeout)))
    if pg_procs:
        plan.append(("jobtui pg items", lambda: measure_jobtui(pg, 1, 0, args.items, args.timeout)))
    if dbos_procs:
        plan.append(("dbos pg items", lambda: measure_dbos(cluster, 1, 0, args.dbos_items, args.timeout)))

    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in plan}
    try:
        for rep in range(args.runs):
            print(f"round {rep + 1}/{args.runs}", flush=True)
            for name, fn in plan:
                res = fn()
                runs[name].append(res)
                cpu = ""
                if "runner_cpu_us" in res:
                    cpu = f"  CPU per unit: runner {res['runner_cpu_us']:.0f} us"
                    cpu += f", server {res['server_cpu_us']:.0f} us" if res["server_cpu_us"] == res["server_cpu_us"] else ""
                print(f"    {name:<24} {res['per_s']:>10,.0f}/s  ({res['n']:,} in {res['seconds']:.2f} s){cpu}", flush=True)
    except be.BenchError as e:
        print(f"\nBENCHMARK FAILED VERIFICATION: {e}", file=sys.stderr)
        return 2
    finally:
        cluster.stop("immediate")
        import shutil

        shutil.rmtree(cluster.root, ignore_errors=True)

    med = {name: be._median([r["per_s"] for r in rs]) for name, rs in runs.items()}
    dbos_best = max((med[f"dbos pg x{k} stages"] for k in dbos_procs), default=float("nan"))
    print(f"\nmedians of {args.runs} rounds ({args.jobs} workflows x {STAGES} steps; items: jobtui {args.items:,},"
          f" DBOS {args.dbos_items:,})")
    lines = []
    for name, value in med.items():
        unit = "items/s" if name.endswith("items") else "stages/s"
        extra = ""
        if dbos_procs and name.startswith("jobtui") and not name.endswith("items"):
            extra = f"  {value / dbos_best:6.1f}x DBOS's best"
        if dbos_procs and name == "jobtui pg items" and "dbos pg items" in med:
            extra = f"  {value / med['dbos pg items']:6.1f}x DBOS"
        lines.append(f"  {name:<24} {value:>10,.0f} {unit}{extra}")
    print("\n".join(lines))
    summary: dict[str, Any] = {"medians": med}
    if dbos_procs and 4 in pg_procs:
        ratio = med["jobtui pg x4 stages"] / dbos_best
        summary["ratio_pg4_over_dbos_best"] = ratio
        summary["meets_target"] = ratio >= TARGET_RATIO
        print(f"\ntarget: jobtui pg x4 >= {TARGET_RATIO:g}x DBOS on pg (its best process count): "
              f"{ratio:.1f}x -> {'met' if ratio >= TARGET_RATIO else 'NOT met'}")

    if not args.no_json:
        be.RESULTS.mkdir(parents=True, exist_ok=True)
        path = be.RESULTS / f"pg-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        config = {k: getattr(args, k) for k in ("runs", "jobs", "items", "dbos_items", "procs", "sqlite_procs", "dbos_procs")}
        payload = {"started_at": started.isoformat(), "argv": sys.argv, "config": config,
                   "env": {**env, "postgres": server, **_versions()}, "runs": runs, "summary": summary}
        path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
