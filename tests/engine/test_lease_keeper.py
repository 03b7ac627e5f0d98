"""The lease keeper (issue 14 item 3): renews from its thread while the loop is busy, stops once it is stuck for good."""

from __future__ import annotations

import time

import pytest

from jobtui import Runner
from jobtui.engine import Registry
from jobtui.engine.lease_keeper import LeaseKeeper
from jobtui.store import JobStore, Store, open_store
from tests.conftest import wait_for


def _block(seconds: float) -> None:
    """Hold the event loop, as a frame that takes seconds to draw does."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)  # sleep: holding the loop is the point; this only avoids spinning a core


@pytest.mark.slow  # holds the event loop for seconds on purpose
async def test_the_keeper_renews_through_a_busy_loop_but_not_a_stuck_one(store: Store) -> None:
    await _renews_through_busy_not_stuck(store)


@pytest.mark.slow  # holds the event loop for seconds on purpose
async def test_the_keeper_on_postgresql(pg_url: str) -> None:
    """The keeper's own connection is opened in its own thread's event loop (asyncpg binds one to a loop)."""
    store = await open_store(pg_url)
    try:
        await _renews_through_busy_not_stuck(store)
    finally:
        await store.close()


async def _renews_through_busy_not_stuck(store: JobStore) -> None:
    runner = Runner(store, Registry(), lease_ttl_s=3.0)
    assert await runner.register()
    renewed: list[float] = []
    keeper = LeaseKeeper(store, runner.runner_id, interval_s=0.05, on_renewed=renewed.append, stall_limit_s=0.6)
    keeper.start()
    try:
        await wait_for(lambda: keeper.renewals >= 2, 10, what="renewals while the loop answers")
        before = keeper.renewals
        _block(0.4)  # busy, under the stall limit: renewed meanwhile
        assert keeper.renewals > before
        _block(1.0)  # past the limit: the renewals stop within it
        stuck = keeper.renewals
        _block(0.5)
        assert keeper.renewals == stuck, "a loop that does not answer gets no lease"
        await wait_for(lambda: keeper.renewals > stuck, 10, what="renewals once the loop answers again")
        assert renewed == sorted(renewed)
    finally:
        await keeper.stop()
