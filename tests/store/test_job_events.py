"""The job event log (schema migration 14, issue 22): written by triggers for every submission, status change
and deletion, whoever writes; kept bounded by the runner's retention even where no server runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jobtui.apimodel import EVENTS_KEEP_MS
from jobtui.builtins import default_registry
from jobtui.client import Client, Submission
from jobtui.engine.retention import Retention
from jobtui.model import Action
from jobtui.store import Store
from tests.conftest import run_idle, wait_for


async def test_every_change_is_an_event_in_commit_order(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "j.db")
    client = Client(store, default_registry())
    try:
        a, b = await client.submit_many([Submission("demo", {"delay": 0, "items": 0})] * 2)
        await store.control(b, Action.PAUSE)
        await run_idle(client)
        await client.delete(a)
        events = await client.job_events()
        assert [(e.job_id, e.kind, e.from_status, e.to_status) for e in events] == [
            (a, "submitted", None, "queued"), (b, "submitted", None, "queued"), (b, "transition", "queued", "paused"),
            (a, "transition", "queued", "running"), (a, "transition", "running", "completed"),
            (a, "deleted", "completed", None)]
        assert [e.event_id for e in events] == sorted(e.event_id for e in events)
        assert await client.event_bounds() == (events[0].event_id - 1, events[-1].event_id)
    finally:
        await store.close()


async def test_the_runners_retention_prunes_old_events(tmp_path: Path) -> None:
    """A week-old event log beyond the newest N is pruned by `jobtui run`'s retention pass (no server needed)."""
    store = await Store.open(tmp_path / "j.db")
    client = Client(store, default_registry())
    try:
        await client.submit_many([Submission("demo", {})] * 5)
        store.clock = lambda: 10**13  # far beyond a week after the events
        assert store.clock() - EVENTS_KEEP_MS > 0
        retention = Retention(store, 86_400_000, tmp_path / "ws", period_s=3600, events_keep=2)
        task = asyncio.create_task(retention.run())
        await wait_for(lambda: client.job_events(), what="events read")

        async def pruned() -> bool:
            return len(await client.job_events()) == 2

        await wait_for(pruned, what="events pruned to the newest 2")
        retention.stop()
        await task
        assert [e.job_id for e in await client.job_events()] == [4, 5]
    finally:
        await store.close()
