"""Issue 8, "a newcomer's first hour": the bugs a new user hit in the TUI, each with its regression test."""

from __future__ import annotations

import asyncio
import time

import pytest
from textual.widgets import Button, Input, Select

from jobtui import Context, JobType, Stage
from jobtui.client import Client
from jobtui.model import JobStatus
from jobtui.tui.screens import NewJobScreen, QuitScreen
from tests.conftest import wait_for

from .conftest import LONG, demo, select, shown, tui, wait_until

S = JobStatus
JOB_KEYS = ("pause", "resume", "cancel", "retry", "rewind", "delete")


def _on_screen(app: object, widget: object) -> bool:
    region = widget.region  # type: ignore[attr-defined]
    size = app.size  # type: ignore[attr-defined]
    return region.height > 0 and region.y >= 0 and region.bottom <= size.height and region.right <= size.width


def _footer_actions(app: object) -> set[str]:
    return {b.action for _, b, enabled, _tip in app.screen.active_bindings.values()  # type: ignore[attr-defined]
            if enabled and b.show}


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_new_job_form_fits_80x24(client: Client) -> None:
    """Bug 1: at 80x24 the params were invisible and Submit/Cancel off screen; an invisible Tab stop ate a key."""
    async with tui(client, size=(80, 24)) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen))
        form = app.screen
        assert isinstance(form, NewJobScreen)
        await wait_until(pilot, lambda: "items" in form.fields)
        await pilot.pause()
        for button in form.query(Button):
            assert _on_screen(app, button), f"{button.id} is off screen: {button.region}"
        first = next(iter(form.fields.values()))
        assert _on_screen(app, first), "the first param is visible at once"
        # Tab from the type goes straight to the first param (no invisible stop in between).
        assert isinstance(form.focused, Select) and form.focused.id == "type"
        await pilot.press("tab")
        assert form.focused is first
        # Tabbing on reaches the priority and the buttons: the body scrolls to each.
        for _ in range(len(form.fields)):
            await pilot.press("tab")
            await pilot.pause()
            assert form.focused is not None and _on_screen(app, form.focused), form.focused
        assert isinstance(form.focused, Input) and form.focused.id == "priority"
        await pilot.press("tab")  # the labels (k=v ...), then the buttons
        await pilot.pause()
        assert isinstance(form.focused, Input) and form.focused.id == "labels" and _on_screen(app, form.focused)
        await pilot.press("tab")
        await pilot.pause()
        assert isinstance(form.focused, Button) and _on_screen(app, form.focused)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_new_job_form_defaults_to_the_apps_first_type(client: Client) -> None:
    """Bug 1: with --app, the type was `demo`; it is the app's first type."""
    loaded = client.registry.load_module("tests.apps.unattendedapp")
    async with tui(client) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen))
        assert app.screen.query_one("#type", Select).value == loaded[0].name


async def test_first_launch_on_an_empty_database(client: Client) -> None:
    """Bug 4: "Loading…" forever, an untitled list, and a footer offering p r c t R d with no job."""
    async with tui(client) as (app, _pilot):
        assert "No jobs yet" in app.detail.text
        assert "Jobs 0" in str(app.table.border_title)
        footer = _footer_actions(app)
        assert footer.isdisjoint(JOB_KEYS) and "new_job" in footer


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_a_filter_matching_nothing_offers_no_job_action(client: Client) -> None:
    """Bug 4: with a filter that matches nothing, the footer still offered every action."""
    job = await client.submit("demo", demo())
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        assert {"pause", "cancel", "delete"} <= _footer_actions(app)
        await pilot.press("slash", *"nosuchthing")
        await wait_until(pilot, lambda: app.selected is None)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "No job matches" in app.detail.text, what="the empty note")
        assert _footer_actions(app).isdisjoint(JOB_KEYS)


def held_jobs(client: Client) -> asyncio.Event:
    """Add the job type `held`, whose one stage runs until the returned gate is set."""
    gate = asyncio.Event()

    async def held(ctx: Context) -> None:
        await gate.wait()

    client.registry.add(JobType("held", [Stage(held, "wait")]))
    return gate


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_quit_dialog_count_is_the_truth(client: Client) -> None:
    """Bug 5: "Pause them" paused three jobs while the dialog said one: the runner kept claiming meanwhile.

    Short jobs free their slots while the dialog is open; the runner must not fill them. They end when the
    test opens their gate, with the dialog open (on a timer, under load they could end before it opened).
    """
    gate = held_jobs(client)
    short = [await client.submit("held", {}) for _ in range(3)]
    long = await client.submit("demo", LONG)
    waiting = [await client.submit("demo", LONG) for _ in range(4)]
    async with tui(client, runner=True) as (app, pilot):
        await shown(app, pilot, long, S.RUNNING)
        for j in short:
            await shown(app, pilot, j, S.RUNNING)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        dialog = app.screen
        assert isinstance(dialog, QuitScreen)
        told = dialog.running
        assert told == 4, "the three held jobs and the long one"
        gate.set()  # the short jobs end while the dialog is open; their slots stay empty

        async def short_done() -> bool:
            return all(s is S.COMPLETED for s in [(await client.job(j)).status for j in short])

        await wait_for(short_done, timeout=20, what="the short jobs finished")
        runner = client.runner
        assert runner is not None
        looked = runner.loops
        await wait_for(lambda: runner.loops >= looked + 3, what="several runner polls with free slots")
        assert app.running_here() == [long]
        await pilot.press("p")
        await wait_until(pilot, lambda: app.return_code is not None, what="exit")
    assert (await client.job(long)).status is S.PAUSED
    assert [j for j in [*short, long, *waiting] if (await client.job(j)).status is S.PAUSED] == [long]
    started = [j for j in [*short, long, *waiting] if (await client.job(j)).started_at_ms is not None]
    assert len(started) == told, "every job that ran was counted by the dialog"
    for job in waiting:
        stored = await client.job(job)
        assert stored.status is S.QUEUED and stored.started_at_ms is None, f"job {job} was claimed while quitting"


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_quit_dialog_escape_lets_the_runner_claim_again(client: Client) -> None:
    """Bug 5: holding claims lasts only while the dialog is open."""
    gate = held_jobs(client)
    first = await client.submit("held", {})  # running until the gate opens: q asks instead of quitting at once
    async with tui(client, runner=True) as (app, pilot):
        await shown(app, pilot, first, S.RUNNING)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        later = await client.submit("demo", demo())
        runner = client.runner
        assert runner is not None
        looked = runner.loops
        await wait_for(lambda: runner.loops >= looked + 2, what="the runner looked for jobs twice")
        assert (await client.job(later)).status is S.QUEUED, "nothing is claimed while the dialog is open"
        await pilot.press("escape")
        await shown(app, pilot, later, S.COMPLETED, timeout=20)
        gate.set()


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_a_delete_by_another_process_shows_within_a_poll(client: Client) -> None:
    """Bug 8: deletes reached the TUI only at the periodic id comparison; now as fast as pause or cancel."""
    other = await Client.open(client.db_path, source="cli")
    try:
        ids = [await client.submit("demo", demo()) for _ in range(4)]
        async with tui(client) as (app, pilot):
            for job in (ids[1], ids[3]):
                started = time.monotonic()
                await other.delete(job)
                await wait_until(pilot, lambda j=job: j not in app.feed.jobs, timeout=5, what=f"job {job} gone")
                assert time.monotonic() - started < 2.5
            assert app.table.order == [ids[0], ids[2]]
    finally:
        await other.close()


# ------------------------------------------------------------------------------------------ frictions
def test_log_wraps_at_word_boundaries_and_the_stage_line_does_not_repeat_the_stage() -> None:
    from jobtui.tui.format import progress_note, wrap_words

    lines = wrap_words("the quick brown fox jumps over the lazy dog", 10)
    assert lines == ["the quick", "brown fox", "jumps over", "the lazy", "dog"]
    assert wrap_words("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5], "a word longer than a line is cut"
    assert progress_note("saving_extraction 3/10", "saving_extraction") == "3/10"
    assert progress_note("3/10 items", "saving_extraction") == "3/10 items"


def test_pager_command() -> None:
    from jobtui.tui.widgets.log_pane import pager_command

    assert pager_command("", "/tmp/x.log") == ["less", "-R", "/tmp/x.log"]
    assert pager_command("most -s", "/tmp/x.log") == ["most", "-s", "/tmp/x.log"]


async def test_scheduled_job_shows_when_it_starts_and_its_priority(client: Client) -> None:
    from jobtui.model import now_ms

    job = await client.submit("demo", demo(), run_at_ms=now_ms() + 3_600_000, priority=7)
    async with tui(client, size=(160, 20)) as (app, pilot):
        await select(app, pilot, job)
        row = app.table.render_line(1).text
        header = app.table.render_line(0).text
        assert "in 59m" in row or "in 1h" in row, row
        assert "PRI" in header and " 7 " in row, (header, row)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_readonly_says_why_keys_do_nothing(client: Client) -> None:
    job = await client.submit("demo", demo())
    async with tui(client, readonly=True) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("p")
        await wait_until(pilot, lambda: any("Read-only" in t for t in app.toasts), what="a read-only toast")
        await pilot.press("n")
        await wait_until(pilot, lambda: any("new jobs are off" in t for t in app.toasts))
        assert (await client.job(job)).status is S.QUEUED


async def test_palette_lists_jobtui_commands_not_textual_generic_ones(client: Client) -> None:
    job = await client.submit("demo", demo())
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert f"Pause job {job}" in titles and "Filter" in titles and "Theme" in titles
        assert "Screenshot" not in titles and "Maximize" not in titles


async def test_theme_is_remembered(client: Client, tmp_path: object) -> None:
    from pathlib import Path

    from jobtui.tui.app import make_app

    settings = Path(str(tmp_path)) / "cfg" / "tui.json"
    async with tui(client, theme="light", settings=settings) as (app, pilot):
        assert app.theme == "jobtui-light"
        app.theme = "nord"
        await wait_until(pilot, lambda: '"nord"' in (settings.read_text() if settings.exists() else ""))
    assert make_app(client, settings=settings).theme == "nord", "the next launch keeps the chosen theme"
    assert make_app(client, settings=settings, theme="dark").theme == "jobtui-dark", "--theme wins"


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_log_search_highlights_and_n_moves_between_matches(client: Client) -> None:
    from jobtui.model import LogLine

    job = await client.submit("demo", demo())
    lines = [LogLine(i + 1, job, 0, "stderr" if i == 5 else "info", f"line {i} {'needle' if i % 20 == 3 else ''}")
             for i in range(100)]
    async with tui(client, size=(120, 30)) as (app, pilot):
        await select(app, pilot, job)
        log = app.log_view
        await wait_until(pilot, lambda: log.job_id == job, what="the job's log")
        log.load(job, lines)
        log.focus()
        await pilot.press("slash")
        await pilot.press(*"needle", "enter")
        await wait_until(pilot, lambda: log.search_term == "needle")
        assert log.matches == [3, 23, 43, 63, 83] and log.line_count == 100, "highlighted, not hidden"
        first = log.match_index
        await pilot.press("n")
        assert log.match_index == first + 1
        await pilot.press("N", "N")
        assert log.match_index == (first - 1) % 5
        assert "find 'needle'" in str(log.border_subtitle)
        assert app.screen is app.screen_stack[0], "n in the log moves to a match; it does not open the form"


# --------------------------------------------------------------------------- the detail: what was missing
@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_detail_shows_stage_outputs_history_and_failures_in_a_row(client: Client) -> None:
    """Seeds' partial items: each stage's output, the pause/resume/cancel history (who, when), the failure streak."""
    from .conftest import run_idle

    done = await client.submit("demo", demo(items=2))
    await run_idle(client)
    await client.cancel(await client.submit("demo", demo()))
    steered = await client.submit("demo", demo())
    await client.pause(steered)
    await client.resume(steered)
    streak = await client.submit("demo", demo(items=12, fail_items=1000))
    await run_idle(client)
    async with tui(client, size=(140, 60)) as (app, pilot):
        await select(app, pilot, done)
        text = app.detail.text
        assert "Stage outputs" in text and "scraping" in text.split("Stage outputs")[1]
        await select(app, pilot, steered)
        history = app.detail.text.split("History")[1]
        assert "pause" in history and "resume" in history and "by tui" in history
        stored = await client.job(streak)
        if stored.consecutive_failures:
            await select(app, pilot, streak)
            assert f"{stored.consecutive_failures} item failures in a row" in app.detail.text
        assert stored.consecutive_failures, "the demo's failing items make a streak (else this test tests nothing)"
