"""Contract: a queue's rate of 5/10s holds over a minute across two runners' claims, on every backend (issue 21).

The claims' clock is injected (tests/clock.py) and moved a quarter second at a time over a whole minute, so the
test covers six windows without waiting a minute; each claim is the store's own transaction, as a runner makes
it, and the jobs complete at once (only the rate can hold them back).
"""

from __future__ import annotations

import pytest

from jobtui.model import QueueLimits
from tests.clock import FakeClock
from tests.contract.conftest import OpenStore, new_job

pytestmark = pytest.mark.slow  # ~500 claim transactions (PostgreSQL: several seconds under load)

STEP_MS = 250
MINUTE_MS = 60_000


async def test_a_rate_of_5_per_10s_holds_over_a_minute_across_two_runners(open_store: OpenStore) -> None:
    clock = FakeClock(1_700_000_000_000)
    one, two = await open_store(clock=clock), await open_store(clock=clock)
    await one.add_queue("rated", QueueLimits(rate_count=5, rate_window_ms=10_000))
    rated = set(await one.add_jobs([new_job(queue="rated") for _ in range(60)]))
    free = set(await one.add_jobs([new_job() for _ in range(20)]))
    start = clock.now
    starts: list[int] = []
    others: list[int] = []
    while clock.now - start < MINUTE_MS:
        for store, rid in ((one, "r1"), (two, "r2")):
            for c in await store.claim(rid, 10, ["t"]):
                (starts if c.job.job_id in rated else others).append(clock.now - start)
                assert c.job.job_id in rated | free
                store.job_completed(c.job.job_id, rid, 2)
            await store.commit_point()
        clock.advance(STEP_MS)
    starts.sort()
    # No window of 10 s ever saw a sixth start ...
    for i in range(len(starts) - 5):
        assert starts[i + 5] - starts[i] >= 10_000, f"6 starts within {starts[i + 5] - starts[i]} ms: {starts}"
    # ... and the rate let its 5 through in each of the minute's six windows (it limits; it does not starve).
    assert len(starts) == 30, starts
    assert [sum(1 for s in starts if w * 10_000 <= s < (w + 1) * 10_000) for w in range(6)] == [5] * 6
    # The jobs in no queue are not held back by it (a claim reads `limit` candidates and takes those with room, so
    # the first claim, whose candidates were rated jobs, took 5: the rest came on the next turns).
    assert len(others) == 20 and max(others) <= 2 * STEP_MS, others
