"""Issue 18, item 4: a change is seen as soon as it is visible, whatever woke the watcher a moment before."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from jobtui.client import Client
from jobtui.model import JobId, RunnerInfo
from jobtui.store import Store
from jobtui.tui import refresh
from jobtui.tui.app import JobtuiApp, make_app

from .conftest import LONG, select, wait_until


def _no_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every timer of the watcher an hour long: only a write of the database can wake it."""
    monkeypatch.setattr(refresh, "WATCH_S", 3600.0)
    monkeypatch.setattr(refresh, "WAKE_SAFETY_S", 3600.0)


def _lagging_token(client: Client, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, object]]:
    """No timers, and a change token that shows `stale["token"]` until `stale["until"]` (time.monotonic()): the WAL
    index showing a commit late. Return the real token's reader and `stale`."""
    _no_timers(monkeypatch)
    real_token = client.change_token
    stale: dict[str, object] = {"until": 0.0, "token": None}

    async def lagging_token() -> tuple[int, int]:
        token = await real_token()
        if time.monotonic() < stale["until"]:  # type: ignore[operator]
            return stale["token"]  # type: ignore[return-value]
        return token

    monkeypatch.setattr(client, "change_token", lagging_token)
    return real_token, stale


@asynccontextmanager
async def _watching(client: Client, job: JobId) -> AsyncIterator[tuple[JobtuiApp, Any, Store]]:
    """The app (its poll timer an hour long) with `job` selected after its first load, and a second store to write
    with, as a runner would."""
    app = make_app(client)
    app.poll_s = 3600.0
    writer = await Store.open(client.db_path)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_until(pilot, lambda: app.settled, what="the first load")
            await select(app, pilot, job)
            yield app, pilot, writer
    finally:
        await writer.close()


async def _progress_shown(app: JobtuiApp, pilot: Any, job: JobId) -> None:
    """Wait until the list holds the job's progress message written by the test ("eighty-eight")."""
    await wait_until(pilot, lambda: (j := app.feed.jobs.get(job)) is not None
                     and j.progress_message == "eighty-eight", timeout=5, what="the progress shown")


async def test_a_commit_the_wal_index_shows_late_is_still_seen_at_once(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit's last WAL write wakes the watcher before the WAL index shows the commit (the writer syncs the WAL
    in between: tens of ms under load). The watcher looked again for 6 ms, then waited for its 0.5 s safety timer:
    one change in five at load 8-12 took 300-500 ms. Here the token shows the commit 80 ms after its write, and
    every timer is an hour long: the change must still show."""
    job = await client.submit("demo", LONG)
    real_token, stale = _lagging_token(client, monkeypatch)
    async with _watching(client, job) as (app, pilot, writer):
        stale["token"], stale["until"] = await real_token(), math.inf
        writer.progress(job, 88, 100, "eighty-eight", 0, 0, 0)
        await writer.commit_point()
        stale["until"] = time.monotonic() + 0.08
        await _progress_shown(app, pilot, job)


async def test_a_heartbeat_does_not_hold_back_the_next_change(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """After any poll that found a commit, the next waited BUSY_GAP_S (100 ms): a runner's heartbeat (no row of
    the list changed, nothing redrawn) held back a change that came just after it. Now only a poll that drew
    rows sets the gap. Here the gap is an hour: the change after a heartbeat must still show."""
    job = await client.submit("demo", LONG)
    _no_timers(monkeypatch)
    async with _watching(client, job) as (app, pilot, writer):
        await wait_until(pilot, lambda: not app.refresher._polling.locked()
                         and time.monotonic() >= app.refresher._next_at, what="the first load's gap over")
        monkeypatch.setattr(refresh, "BUSY_GAP_S", 3600.0)
        now = writer.clock()
        await writer.register_runner(RunnerInfo("r1", 1, "h", now, now, 1, 60_000))
        token = await client.change_token()
        await wait_until(pilot, lambda: app.feed.token == token, timeout=5, what="the heartbeat's poll")
        writer.progress(job, 88, 100, "eighty-eight", 0, 0, 0)
        await writer.commit_point()
        await _progress_shown(app, pilot, job)


async def test_a_burst_of_writes_before_the_commit_shows_does_not_use_up_the_watch(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each write of the database woke the watcher and used up one of its few looks: a burst of writes (a big
    commit's WAL frames, other commits) used them all before the commit showed, and the change waited for the
    safety timer. Now it looks until WAKE_LAG_S after the last write. Here 30 writes come 5 ms apart, and the
    token shows the change 200 ms after the last."""
    job = await client.submit("demo", LONG)
    real_token, stale = _lagging_token(client, monkeypatch)
    async with _watching(client, job) as (app, pilot, writer):
        now = writer.clock()
        stale["token"], stale["until"] = await real_token(), math.inf
        await writer.register_runner(RunnerInfo("r1", 1, "h", now, now, 1, 60_000))
        writer.progress(job, 88, 100, "eighty-eight", 0, 0, 0)
        await writer.commit_point()
        for _ in range(30):
            await writer.heartbeat("r1")
            await asyncio.sleep(0.005)  # sleep: the cadence of the burst: each write wakes the watcher
        stale["until"] = time.monotonic() + 0.2
        await _progress_shown(app, pilot, job)
