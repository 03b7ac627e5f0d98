"""Item rows commit in large batches (many rows per INSERT statement on SQLite, store/seam.py), yet a SIGKILL at
any point loses no committed item and runs none again: items with no sleep, so each group commit carries
hundreds of rows, and a runner killed again and again while they run."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from jobtui.store.seam import ROWS_PER_STATEMENT
from tests.faults.helpers import Runner, check_database, journal, poll, rows, starts, submit
from tests.sizing import sized

ITEMS = sized(24_000, 40_000)
"""Enough that the six kills all land mid-run (their targets add up to ~5,900 item starts with this seed, but four
workers of instant items overshoot each target by up to a few thousand before the kill lands: 21,000 seen at load
10) and the last runner still has items to do (40,000 with JOBTUI_TEST_FULL=1)."""
KILLS = 6


def committed(db: Path) -> set[tuple[int, str]]:
    """Return the (job, key) of every item whose done row is committed."""
    return {(job, key) for job, key in rows(db, "SELECT job_id, key FROM items WHERE status = 'done'")}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("workers", [1, 4])
def test_sigkill_among_large_item_batches_loses_and_repeats_nothing_committed(tmp_path: Path, workers: int) -> None:
    rng = random.Random(18)
    db = tmp_path / "items.db"
    jr, st = tmp_path / "journal.txt", tmp_path / "starts.txt"
    env = {"JOBTUI_TEST_JOURNAL": str(jr), "JOBTUI_TEST_STARTS": str(st)}
    [job] = submit(db, 1, n=ITEMS, item_sleep=0, workers=workers, stage_sleep=0)
    for kill in range(KILLS):
        before = committed(db)
        started = len(starts(st))
        runner = Runner(db, tmp_path / f"runner{kill}.log", "--lease-ttl", "5", **env)
        try:
            want = started + rng.randint(300, 2_000)
            poll(lambda want=want: len(starts(st)) >= want, timeout=60, what=f"items run after kill {kill}")
        finally:
            runner.proc.send_signal(signal.SIGKILL)
            runner.proc.wait(10)
            runner.close()
        after = committed(db)
        assert before <= after, f"kill {kill}: committed items were lost"
        again = [s for s in starts(st)[started:] if (s[1], s[3]) in before]
        assert not again, f"kill {kill}: items committed before this runner started ran again: {again[:5]}"
    assert ROWS_PER_STATEMENT < len(committed(db)) < ITEMS, "items committed between kills, and every kill landed mid-run"

    before = committed(db)
    started = len(starts(st))
    last = Runner(db, tmp_path / "last.log", "--exit-when-idle", **env)
    try:
        assert last.wait(240) == 0, last.log()[-3000:]
    finally:
        last.close()
    again = [s for s in starts(st)[started:] if (s[1], s[3]) in before]
    assert not again, f"committed items ran again in the last run: {again[:5]}"
    check_database(db, [job], ITEMS)
    ran = {item for _p, j, stage, item, _s, _e in journal(jr) if j == job and stage == "items"}
    assert ran == {f"i{i:04d}" for i in range(ITEMS)}, "every item ran to its end at least once"
