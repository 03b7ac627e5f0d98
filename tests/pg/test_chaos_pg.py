"""Issue 17: SIGKILL chaos on PostgreSQL with four runners at once (the SQLite chaos test has one).

Four `jobtui run` processes share one PostgreSQL database, with row locks and no global lock; 30
times, one of them, chosen at random among those working (it has started executions), is SIGKILLed
mid-run and a new one started in its place. What was committed is read before every kill; every start
of a stage or item is journalled by the job itself (tests/apps/journalapp.py); more jobs are submitted
while the kills go on, so that no runner runs out of work. At the end: every job completed with every
item (0 lost), nothing started again after it was seen committed (0 committed work redone), and every
stage's and job's counters equal the items table.

JOBTUI_PG_CHAOS_KILLS sets the number of kills (default 8; 30 with JOBTUI_TEST_FULL=1, tests/sizing.py),
JOBTUI_CHAOS_SEED the random seed.
"""

from __future__ import annotations

import collections
import os
import random
import signal
from functools import partial
from pathlib import Path

import pytest

from tests.faults.helpers import Runner, check_database, poll, rows, starts, stop_alive, submit
from tests.pg.test_fleet_faults import Watch
from tests.sizing import sized

pytestmark = pytest.mark.slow

KILLS = sized(8, 30, "JOBTUI_PG_CHAOS_KILLS")
"""Each kill lands at a random moment of four working runners: 8 reach the lost/redone-work windows (every one
must hit a working runner and be recovered); the full 30 run with JOBTUI_TEST_FULL=1."""
RUNNERS = 4


N = 40
JOB: dict[str, object] = {"n": N, "item_sleep": 0.1, "workers": 2, "stage_sleep": 0.02}
"""Each job: 40 items of 100 ms, two at a time (about 2 s; a runner runs two jobs)."""
UNFINISHED = 12
"""Jobs kept unfinished while the kills go on (more are submitted): every runner, even one just started, has work."""


def registered(db: str) -> set[int]:
    return {r[0] for r in rows(db, "SELECT pid FROM runners")}


@pytest.mark.timeout(max(240, KILLS * 8))
def test_four_runners_and_sigkills_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    rng = random.Random(int(os.environ.get("JOBTUI_CHAOS_SEED", "17")))
    jr, st = tmp_path / "journal.txt", tmp_path / "starts.txt"
    ids = submit(pg_url, UNFINISHED + 2, **JOB)
    env = {"JOBTUI_TEST_JOURNAL": str(jr), "JOBTUI_TEST_STARTS": str(st)}
    made = 0

    def start() -> Runner:
        nonlocal made
        made += 1
        return Runner(pg_url, tmp_path / f"r{made}.log", "--concurrency", "2", "--lease-ttl", "3", **env)

    runners = [start() for _ in range(RUNNERS)]
    watch = Watch(pg_url)
    killed: list[int] = []

    def busy(want: int) -> list[int]:
        """Return which runners are working once `want` executions started and two runners work (else []);
        keep UNFINISHED jobs to do meanwhile."""
        left = int(rows(pg_url, "SELECT count(*) FROM jobs WHERE status != 'completed'")[0][0])
        if left < UNFINISHED:
            ids.extend(submit(pg_url, UNFINISHED, **JOB))  # one submit per few kills (a CLI run costs a second)
        seen = starts(st)
        pids = {p for p, *_ in seen}
        at_work = [i for i, r in enumerate(runners) if r.pid in pids]
        return at_work if len(seen) >= want and len(at_work) >= 2 else []

    try:
        for kill in range(KILLS):
            want = len(starts(st)) + rng.randint(2, 12)
            at_work = poll(partial(busy, want), timeout=60, every=0.2, what=f"runners working before kill {kill}")
            watch.look()
            victim = rng.choice(at_work)  # a runner that is working (one just started may still be starting)
            runners[victim].proc.send_signal(signal.SIGKILL)
            runners[victim].proc.wait(10)
            killed.append(runners[victim].pid)
            runners[victim].close()
            runners[victim] = start()
        watch.until_all(ids, "completed", timeout=120)
        poll(lambda: {r.pid for r in runners} <= registered(pg_url), timeout=60, what="every runner registered")
        stop_alive(runners)
    finally:
        for r in runners:
            r.close()

    check_database(pg_url, ids, N)  # 0 lost; every counter equals the items table
    started = starts(st)
    watch.no_committed_work_ran_again(started)
    counts = collections.Counter((job, stage, item) for _p, job, stage, item, _s in started)
    assert {k[2] for k in counts if k[1] == "items"} == {f"i{i:04d}" for i in range(N)}
    recovered = sum(r[0] for r in rows(pg_url, "SELECT recovery_count FROM jobs"))
    hit = {pid for pid, *_ in started} & set(killed)
    assert len(hit) == KILLS and recovered >= KILLS, (len(hit), recovered)
    redone = sum(c - 1 for c in counts.values())
    print(f"\n{KILLS} kills of working runners; {len(ids)} jobs; {recovered} recoveries; {redone} executions"
          " started again (in flight at a kill, never committed)")
