"""Issue 18, items 3-4: a change committed by another process reaches the screen at once, in one frame."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from textual.screen import Screen
from textual.strip import Strip

from jobtui.client import Client
from jobtui.model import JobDetail, JobId
from jobtui.store import Store
from jobtui.tui import refresh
from jobtui.tui.app import make_app
from jobtui.tui.widgets.job_detail import JobDetailPane
from jobtui.tui.widgets.job_list import JobTable

from .conftest import LONG, select, wait_until


async def _progress(client: Client, job_id: JobId, done: int, total: int, message: str) -> None:
    """Commit a job's progress from a connection of its own, as a runner in another process does."""
    writer = await Store.open(client.db_path)
    try:
        writer.progress(job_id, done, total, message, 0, 0, 0)
        await writer.commit_point()
    finally:
        await writer.close()


async def test_a_progress_write_paints_the_list_and_the_detail_in_one_frame(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The list's rows were shown as soon as they were read, and the selected job's detail once its own reads
    came back: two frames (each a compositor pass and a terminal write) per change, and the detail, where a
    change is read, a frame late. Now a poll sends every read, then shows all it read at once."""
    job = await client.submit("demo", LONG)
    frame = [0]
    marks = {"list": "", "detail": "eighty-eight"}
    first: dict[str, int] = {}
    real_update = Screen._on_timer_update
    real_row = JobTable.render_line
    real_detail = JobDetailPane.render_line

    def counting(self: Screen[Any]) -> None:
        frame[0] += 1
        real_update(self)

    def seen(where: str, strip: Strip) -> Strip:
        if marks["list"] and marks[where] in strip.text:
            first.setdefault(where, frame[0])
        return strip

    monkeypatch.setattr(Screen, "_on_timer_update", counting)
    monkeypatch.setattr(JobTable, "render_line", lambda self, y: seen("list", real_row(self, y)))
    monkeypatch.setattr(JobDetailPane, "render_line", lambda self, y: seen("detail", real_detail(self, y)))
    app = make_app(client)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.settled, what="the first load")
        await select(app, pilot, job)
        real_read = client.detail

        async def slow_detail(job_id: JobId) -> JobDetail:
            await asyncio.sleep(0.3)  # sleep: a slow read (a busy database): frames are drawn meanwhile
            return await real_read(job_id)

        monkeypatch.setattr(client, "detail", slow_detail)
        # The list shows the job's progress (88/100 of its first stage), the detail the message too.
        before = await client.job(job)
        after = dataclasses.replace(before, progress_done=88, progress_total=100)
        marks["list"] = f"{after.progress * 100:4.0f}%"
        assert marks["list"] != f"{before.progress * 100:4.0f}%"
        await _progress(client, job, 88, 100, "eighty-eight")
        await wait_until(pilot, lambda: "detail" in first and "list" in first, what="the change drawn")
        assert first["list"] == first["detail"], f"frames that first drew the change: {first}"


async def test_a_write_by_another_connection_wakes_the_list_without_a_timer(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher read the change token 40 times a second (a change waited up to 25 ms for it, more under
    load, and an idle app woke 40 times a second); now a write of the database wakes it (inotify on Linux).
    With every timer of the app an hour long, the change still shows."""
    job = await client.submit("demo", LONG)
    monkeypatch.setattr(refresh, "WATCH_S", 3600.0)
    monkeypatch.setattr(refresh, "WAKE_SAFETY_S", 3600.0, raising=False)
    app = make_app(client)
    app.poll_s = 3600.0
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.settled, what="the first load")
        await select(app, pilot, job)
        await _progress(client, job, 88, 100, "eighty-eight")
        await wait_until(pilot, lambda: (j := app.feed.jobs.get(job)) is not None
                         and j.progress_message == "eighty-eight", timeout=5, what="the progress shown")
        await wait_until(pilot, lambda: (d := app.detail.detail) is not None
                         and d.job.progress_message == "eighty-eight", timeout=5, what="the detail shown")
