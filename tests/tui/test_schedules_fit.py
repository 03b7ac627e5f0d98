"""Issue 15 item 11: the schedules screen (C) cut names and types to one letter at 120×40 and dropped NAME,
TYPE and LAST RUN at 80×24."""

from __future__ import annotations

import io

from rich.console import Console

from jobtui.client import Client
from jobtui.tui.schedules import SchedulesScreen

from .conftest import demo, tui, wait_until


async def test_the_schedules_fit_at_120x40_and_80x24(client: Client) -> None:
    await client.add_schedule("nightly-report", "demo", demo(), cron="0 3 * * *", tz="Europe/Berlin")
    await client.add_schedule("hourly-sync", "demo", demo(), every_ms=3_600_000)
    for size, wanted in (((120, 40), ("NAME", "WHEN", "TYPE", "NEXT RUN", "LAST RUN")), ((80, 24), ("NAME", "TYPE"))):
        async with tui(client, size=size) as (app, pilot):
            await pilot.press("C")
            await wait_until(pilot, lambda: isinstance(app.screen, SchedulesScreen) and app.screen.schedules,
                             what="schedules screen")
            await pilot.pause(0.1)
            shown = app.screen.query_one("#schedules")
            width = shown.content_region.width
            console = Console(width=width, record=True, file=io.StringIO())
            console.print(shown.content)
            lines = console.export_text().splitlines()
            head = lines[0].upper()
            assert all(w in head for w in wanted), (size, lines)
            body = "\n".join(lines[1:])
            assert "nightly-report" in body and "hourly-sync" in body and body.count("demo") == 2, (size, lines)
            assert "…" not in "\n".join(lines), (size, lines)
            assert max(len(ln.rstrip()) for ln in lines) <= width, (size, lines)
