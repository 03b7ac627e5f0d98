"""Profile one jobtui runner on PostgreSQL (bench_pg.py's stages workload, in this process).

    python bench/profile_pg.py [--jobs 500] [--top 30] [--no-profile]

A throwaway cluster (tests/backends.py), a fresh database, `--jobs` demo jobs of 8 stages submitted
first; then one `Runner(concurrency=jobs).run(exit_when_idle=True)` is timed, under cProfile unless
`--no-profile`. Every statement the store sends is counted by the connection seam's method and its
first words (calls, rows of executemany, seconds awaited), so round trips per stage and per group
commit can be read beside the profile. Raw profile: bench/results/profile-pg-*.pstats.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.backends import start_cluster

import bench_engine as be
import bench_pg as bp


class Counter:
    """Counts and times the statements of a PgConnection, by method and the statement's first words."""

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])

    def wrap(self, conn: Any) -> None:
        for name in ("execute", "execute_fetchall", "executemany", "begin", "commit", "rollback"):
            setattr(conn, name, self._timed(name, getattr(conn, name)))

    def _timed(self, name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any) -> Any:
            sql = " ".join(str(args[0]).split()[:6]) if args else ""
            rows = len(args[1]) if name == "executemany" and len(args) > 1 else 1
            t0 = time.perf_counter()
            try:
                return await fn(*args)
            finally:
                s = self.stats[f"{name:<16} {sql[:90]}"]
                s[0] += 1
                s[1] += rows
                s[2] += time.perf_counter() - t0

        return timed

    def table(self, stages: int) -> str:
        calls = sum(s[0] for s in self.stats.values())
        lines = [f"{calls:,} calls to the connection, {calls / max(1, stages):.2f} per stage"]
        for key, (n, rows, secs) in sorted(self.stats.items(), key=lambda kv: -kv[1][2]):
            lines.append(f"  {int(n):>7,} calls {int(rows):>8,} rows {secs:8.3f} s  {key}")
        return "\n".join(lines)


async def _run(data: Path, url: str, jobs: int, profile: bool, top: int, bulk: bool = True) -> None:
    from jobtui import Runner
    from jobtui.store import open_store

    await bp._submit(url, jobs, 0)
    store = await open_store(url)
    store._conn.bulk = bulk
    counter = Counter()
    counter.wrap(store._conn)
    runner = Runner(store, be._registry(), concurrency=jobs)
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    server0 = bp.server_cpu_s(data)
    if prof is not None:
        prof.enable()
    try:
        await runner.run(exit_when_idle=True)
    finally:
        if prof is not None:
            prof.disable()
        await store.close()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    server = bp.server_cpu_s(data) - server0
    stages = runner.stages_done
    print(f"{stages:,} stages in {wall:.2f} s: {stages / wall:,.0f} stages/s; runner CPU {cpu:.2f} s"
          f" ({cpu / max(1, stages) * 1e6:.0f} us per stage); server CPU {server:.2f} s"
          f" ({server / max(1, stages) * 1e6:.0f} us per stage); {store.commits} group commits")
    print(counter.table(stages))
    if prof is not None:
        out = io.StringIO()
        st = pstats.Stats(prof, stream=out)
        st.sort_stats("tottime").print_stats(top)
        st.sort_stats("cumulative").print_stats(top)
        print(out.getvalue())
        be.RESULTS.mkdir(parents=True, exist_ok=True)
        path = be.RESULTS / f"profile-pg-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.pstats"
        prof.dump_stats(path)
        print(f"wrote {path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=500)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-bulk", action="store_true", help="run the group commit's statements row by row")
    args = ap.parse_args()
    cluster = start_cluster()
    try:
        db = cluster.new_database()
        asyncio.run(_run(cluster.data, cluster.url(db), args.jobs, not args.no_profile, args.top, not args.no_bulk))
    finally:
        cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
