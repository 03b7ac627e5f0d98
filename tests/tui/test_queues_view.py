"""Issue 21 item 1 in the TUI: the queues view (key Q) at 80×24 lists each queue with its counts and limits;
p pauses the highlighted queue (P with its running jobs), r resumes it; --readonly steers nothing."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from jobtui.client import Client
from jobtui.model import QueueLimits
from jobtui.tui.queues import QueuesScreen
from tests.tui.conftest import tui, wait_until


def cells(screen: QueuesScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_queues_view_shows_counts_and_pauses_and_resumes(client: Client) -> None:
    await client.add_queue("gpu", QueueLimits(concurrency=2, slots=True))
    await client.add_queue("api", QueueLimits(rate_count=5, rate_window_ms=10_000))
    for _ in range(3):
        await client.submit("demo", {"delay": 30}, queue="gpu")
    async with tui(client, size=(80, 24)) as (app, pilot):
        await pilot.press("Q")
        await wait_until(pilot, lambda: isinstance(app.screen, QueuesScreen) and app.screen.queues, what="queues view")
        screen = app.screen
        assert isinstance(screen, QueuesScreen)
        assert cells(screen) == [["api", "● active", "0", "0", "5/10s"],
                                 ["gpu", "● active", "0/2", "3", "2 at once · slots"]]
        await pilot.press("down", "p")
        await wait_until(pilot, lambda: len(screen.queues) == 2 and screen.queues[1].paused, what="gpu paused")
        assert (await client.queue("gpu")).paused and not (await client.queue("api")).paused
        assert cells(screen)[1][1] == "‖ paused"
        await pilot.press("r")
        await wait_until(pilot, lambda: not screen.queues[1].paused, what="gpu resumed")
        assert not (await client.queue("gpu")).paused
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, QueuesScreen), what="closed")


async def test_readonly_queues_view_steers_nothing(client: Client) -> None:
    await client.add_queue("gpu", QueueLimits(concurrency=1))
    async with tui(client, size=(80, 24), readonly=True) as (app, pilot):
        await pilot.press("Q")
        await wait_until(pilot, lambda: isinstance(app.screen, QueuesScreen) and app.screen.queues, what="queues view")
        await pilot.press("p")
        await wait_until(pilot, lambda: any("Read-only" in t for t in app.toasts), what="the read-only note")
        assert not (await client.queue("gpu")).paused
