"""Issue 21 item 5 in the TUI: `A` marks every job the current filter matches (also those off screen), and an
action then applies to all of them."""

from __future__ import annotations

from jobtui.client import Client, Submission
from jobtui.model import JobStatus as S
from jobtui.model import QueueLimits
from jobtui.query import Query
from jobtui.tui.screens import ConfirmScreen
from tests.tui.conftest import demo, tui, wait_status, wait_until


async def test_mark_all_of_the_filter_then_pause_them(client: Client) -> None:
    await client.add_queue("q", QueueLimits())
    inside = await client.submit_many([Submission("demo", demo(), queue="q") for _ in range(60)])
    outside = await client.submit_many([Submission("demo", demo(), labels={"k": "v"}) for _ in range(5)])
    async with tui(client, size=(80, 24)) as (app, pilot):
        # The list counted every job under a label: or queue: filter (it knew only status, type, words).
        app.set_view(query=Query.parse("label:k=v"))
        await wait_until(pilot, lambda: app.table.count == 5 and app.settled, what="the label filter applied")
        app.set_view(query=Query.parse("queue:q"))
        await wait_until(pilot, lambda: app.table.count == 60 and app.settled, what="the filter applied")
        await pilot.press("A")
        await wait_until(pilot, lambda: app.table.marked == set(inside), what="every matching job marked")
        await wait_until(pilot, lambda: all(j in app.feed.jobs for j in inside), what="the marked jobs held")
        # More than BULK_CONFIRM jobs: asked first, as the CLI's --where; "n" leaves them, "y" acts.
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        assert app.screen.title_text == "Pause 60 jobs?"
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="the answer")
        assert app.table.marked == set(inside)
        assert {(await client.job(j)).status for j in inside} == {S.QUEUED}
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation again")
        await pilot.press("y")
        for job in inside:
            assert await wait_status(pilot, client, job, S.PAUSED) is S.PAUSED
        assert {(await client.job(j)).status for j in outside} == {S.QUEUED}
        # A few marked jobs (the filter's 5): no question.
        app.set_view(query=Query.parse("label:k=v"))
        await wait_until(pilot, lambda: app.table.count == 5 and app.settled and not app.table.marked,
                         what="the label filter applied")
        await pilot.press("A")
        await wait_until(pilot, lambda: app.table.marked == set(outside), what="the five marked")
        await pilot.press("p")
        for job in outside:
            assert await wait_status(pilot, client, job, S.PAUSED) is S.PAUSED
        assert not isinstance(app.screen, ConfirmScreen)
