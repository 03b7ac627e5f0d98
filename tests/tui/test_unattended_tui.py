"""Issue 9 in the TUI: a toast and the bell when a job ends or auto-pauses; dependencies in the detail pane."""

from __future__ import annotations

import io
import re

import pytest

from jobtui.client import Client
from jobtui.model import JobStatus as S
from jobtui.tui.alerts import end_alerts
from tests.tui.conftest import FAILS, demo, select, shown, tui, wait_until


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_ends_and_auto_pause_raise_a_toast_and_ring_the_bell(client: Client, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    # Each end rings here; ends within BELL_S ring once (tests/tui/test_toasts_grouped.py).
    monkeypatch.setattr("jobtui.tui.refresh.BELL_S", 0.0)
    async with tui(client, runner=True) as (app, pilot):
        rings: list[int] = []
        app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
        done = await client.submit("demo", demo())
        await shown(app, pilot, done, S.COMPLETED)
        await wait_until(pilot, lambda: any("completed" in t for t in app.toasts), what="toast")
        assert len(rings) == 1
        failed = await client.submit("demo", FAILS)
        await shown(app, pilot, failed, S.FAILED)
        await wait_until(pilot, lambda: any("failed" in t for t in app.toasts), what="failure toast")
        paused = await client.submit("demo", demo(items=12, fail_items=6, fail_kind="permanent"))
        await shown(app, pilot, paused, S.PAUSED)
        await wait_until(pilot, lambda: any("auto-paused" in t for t in app.toasts), what="auto-pause toast")
        assert len(rings) == 3


async def test_no_bell_keeps_the_toast(client: Client) -> None:
    async with tui(client, runner=True, bell=False) as (app, pilot):
        rings: list[int] = []
        app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
        job = await client.submit("demo", demo())
        await shown(app, pilot, job, S.COMPLETED)
        await wait_until(pilot, lambda: any("completed" in t for t in app.toasts), what="toast")
        assert rings == []


async def test_detail_pane_lists_dependencies_and_what_a_blocked_job_waits_on(client: Client) -> None:
    a = await client.submit("demo", demo(delay=30))
    b = await client.submit("demo", demo(), after=(a,))
    async with tui(client) as (app, pilot):
        await select(app, pilot, b)
        text = app.detail.text
        assert "blocked" in text and f"waiting on #{a} (queued)" in text and f"#{a} demo" in text
        await select(app, pilot, a)
        assert "dependents" in app.detail.text and f"#{b} demo" in app.detail.text


def test_first_load_raises_no_alert_but_a_later_new_ended_job_does() -> None:
    from jobtui.model import Job

    job = Job(1, "demo", S.COMPLETED, {})
    assert end_alerts({1: None}, {1: job}, new_jobs=False) == []
    [alert] = end_alerts({1: None}, {1: job})
    assert alert.severity == "information" and "completed" in alert.message
    assert end_alerts({1: S.COMPLETED}, {1: job}) == [], "no change of status, no alert"
    paused = Job(2, "demo", S.PAUSED, {}, pause_reason="paused by request")
    assert end_alerts({2: S.RUNNING}, {2: paused}) == [], "a requested pause is no alert"


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_key_C_shows_schedules_with_their_next_run(client: Client) -> None:
    from jobtui.tui.schedules import SchedulesScreen

    await client.add_schedule("hourly", "demo", demo(), every_ms=3_600_000)
    await client.add_schedule("nightly", "demo", demo(), cron="0 3 * * *", tz="Europe/Berlin")
    await client.pause_schedule("nightly")
    async with tui(client) as (app, pilot):
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, SchedulesScreen) and app.screen.schedules,
                         what="schedules screen")
        from rich.console import Console

        from jobtui.tui.schedules import schedules_table

        console = Console(width=200, record=True, file=io.StringIO())
        console.print(schedules_table(app.screen.schedules, app.clock()))
        text = console.export_text()
        assert "hourly" in text and "every 1h" in text and re.search(r"· in \d", text), text
        assert "nightly" in text and "cron 0 3 * * * (Europe/Berlin)" in text and "paused" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SchedulesScreen), what="closed")
