"""The list at many jobs (issue 18): it holds what is on screen, an idle poll reads nothing, orders come from SQL."""

from __future__ import annotations

from typing import Any

import pytest

from jobtui.client import Client, Submission
from jobtui.model import JobStatus

from .conftest import demo, tui, wait_until

S = JobStatus


async def test_the_list_holds_the_rows_on_screen_not_every_job(client: Client) -> None:
    """Issue 18: the feed held every job (296 MB at 100,000); now the rows around the view and the pinned ones."""
    ids = await client.submit_many([Submission("demo", demo()) for _ in range(400)])
    async with tui(client, size=(120, 30)) as (app, pilot):
        assert len(app.feed.jobs) < 80, f"{len(app.feed.jobs)} jobs held for a 30-line screen"
        assert "Jobs 400" in str(app.table.border_title) and app.table.count == 400
        app.table.focus()
        await pilot.press("G")  # the last row: read on demand
        await wait_until(pilot, lambda: app.selected == ids[-1] and app.settled, what="the last job highlighted")
        assert len(app.feed.jobs) < 80
        await pilot.press("space")  # marked jobs stay held wherever the view goes
        await pilot.press("g")
        await wait_until(pilot, lambda: app.selected == ids[0] and app.settled, what="the first job highlighted")
        assert ids[-1] in app.feed.jobs and ids[-1] in app.table.marked


async def test_an_idle_poll_reads_nothing_but_the_change_token(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: an idle poll read the ids' signature (a scan of every job) and the recent changes each time."""
    await client.submit_many([Submission("demo", demo()) for _ in range(50)])
    async with tui(client) as (app, pilot):
        app.pause_polling()
        await app.poll()  # the first poll after the first frame reads the live jobs' statuses
        statements: list[str] = []
        real = client.store._all  # type: ignore[attr-defined]

        async def counting(sql: str, params: Any = ()) -> Any:
            statements.append(sql)
            return await real(sql, params)

        monkeypatch.setattr(client.store, "_all", counting)
        await app.poll()
        await app.poll()
        assert statements == [], "an idle poll ran SQL beyond the change token"
        other = await Client.open(client.db_path)
        try:
            await other.pause(1)
        finally:
            await other.close()
        await app.poll()
        await wait_until(pilot, lambda: (j := app.feed.jobs.get(1)) is not None and j.status is S.PAUSED,
                         what="the pause by another process shown")
        assert statements, "a change is read"


@pytest.mark.slow  # several seconds under load (a parallel run timed it out at 10 s)
async def test_sorting_by_updated_follows_changes_and_keeps_the_highlighted_job(client: Client) -> None:
    """The order comes from SQL now; the highlighted job still moves with its row (as when sorted in memory)."""
    ids = await client.submit_many([Submission("demo", demo()) for _ in range(200)])
    async with tui(client, size=(120, 30)) as (app, pilot):
        app.select_job(ids[-1])
        await wait_until(pilot, lambda: app.table.selected_id == ids[-1], what="the newest job highlighted")
        app.set_view(sort="updated")
        await wait_until(pilot, lambda: app.table.cursor == 0 and app.table.order[:1] == [ids[-1]],
                         what="the newest job first, still highlighted")
        await client.pause(ids[150])
        await app.poll()
        await wait_until(pilot, lambda: app.table.order[:2] == [ids[150], ids[-1]], what="the paused job on top")
        assert app.table.selected_id == ids[-1] and app.table.cursor == 1, "the highlighted job moved with its row"
