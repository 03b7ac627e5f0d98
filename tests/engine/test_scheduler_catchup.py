"""A long downtime (issue 14 item 14): catching up minute crons must not stall the event loop, nor the count."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from jobtui.client import Client
from jobtui.engine.scheduler import Scheduler
from jobtui.model import Schedule
from jobtui.recurrence import Recurrence

DAY_MS = 86_400_000


@pytest.mark.slow  # catches up 400,000 minutes of schedules (about a CPU second)
async def test_catching_up_100_days_of_minute_crons_keeps_the_loop_free(client: Client) -> None:
    """Each schedule walked ~100,000 occurrences on the loop (~1.4 s each; 40 schedules: 10 s heartbeat gaps)."""
    store = client.store
    now = store.clock()
    since = now - 100 * DAY_MS
    since -= since % 60_000  # on a minute: an occurrence of "* * * * *"
    names = [f"minutely-{i}" for i in range(4)]
    for name in names:
        await store.add_schedule(Schedule(name, "* * * * *", "UTC", None, since, "demo", {"items": 1, "delay": 0},
                                          {}, False, since, since, None, None))
    worst = 0.0
    ticking = True
    started = asyncio.Event()

    async def ticker() -> None:
        # The loop thread's CPU time between two wake-ups of the probe: what the loop spent on other work
        # in one go. CPU time, not wall time: on a loaded machine the OS may stop the whole process a while,
        # which is no stall of the loop by the scheduler.
        nonlocal worst
        while ticking:
            before = time.thread_time()
            started.set()
            await asyncio.sleep(0)  # sleep: yield to the event loop once (the probe)
            worst = max(worst, time.thread_time() - before)

    probe = asyncio.create_task(ticker())
    await started.wait()
    await Scheduler(store, client.registry, "r1").tick()
    ticking = False
    await probe
    assert worst < 0.3, f"the event loop was held {worst:.2f}s of CPU time in one go"
    for name in names:
        [run] = await store.schedule_runs(name)
        expected = (run.occurrence_ms - since) // 60_000  # every minute in between, the fired one excluded
        assert run.outcome == "fired" and abs(run.missed - expected) <= expected // 100, (run.missed, expected)
        assert (await store.get_schedule(name)).next_at_ms > now


def _walk(r: Recurrence, first: int, last: int) -> int:
    """Count occurrences in [first, last] one by one (the slow, exact way)."""
    n, t = 1, first
    while (t := r.next_after(t)) <= last:
        n += 1
    return n


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_missed_counts_are_exact_when_few_and_close_when_many() -> None:
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC).timestamp() * 1000
    weekdays = Recurrence("*/5 9-17 * * 1-5", "Europe/Berlin", None, 0)
    first = weekdays.next_after(int(start))
    assert weekdays.count_between(first, first + 10 * DAY_MS) == _walk(weekdays, first, first + 10 * DAY_MS)
    year = first + 365 * DAY_MS
    exact = _walk(weekdays, first, year)  # ~28,000, a second or so
    assert abs(weekdays.count_between(first, year) - exact) <= exact // 200
    monthly = Recurrence("0 3 1 * *", "UTC", None, 0)
    first = monthly.next_after(int(start))
    assert monthly.count_between(first, first + 2000 * DAY_MS) == 66
