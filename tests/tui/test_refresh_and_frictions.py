"""The TUI's leftovers of issue 8: the filter line, quieter toasts, and refreshes that redo only what changed."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from typing import Any

import pytest
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from textual.geometry import Region

from jobtui.client import Client, Submission
from jobtui.model import Job, JobStatus, now_ms
from jobtui.tui import app as app_module
from jobtui.tui.alerts import Alert, coalesce, end_alerts, is_quiet
from jobtui.tui.app import FILTER_HINT, JobtuiApp
from jobtui.tui.widgets.key_rows import KeyRow

from .conftest import FAILS, LONG, demo, run_idle, select, shown, tui, wait_until

S = JobStatus


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_the_filter_line_moves_no_pane_and_shows_its_whole_hint(client: Client) -> None:
    """Issue 8: opening the filter bar left a gap above the list (its top no longer met the detail's) and cut
    its hint."""
    await client.submit("demo", LONG)
    for size in ((80, 24), (140, 36)):
        async with tui(client, size=size) as (app, pilot):
            top = app.table.region.y
            await pilot.press("slash")
            await wait_until(pilot, lambda: app.focused is app.filter_input, what="the filter box focused")
            await pilot.pause()
            assert app.table.region.y == top, f"{size}: the list moved down when the filter opened"
            if size[0] >= 110:
                assert app.table.region.y == app.detail.region.y, "the list's top meets the detail's"
            assert app.filter_input.content_region.width >= len(FILTER_HINT), f"{size}: the hint is cut"
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.focused is app.table, what="the list focused again")


def _job(job_id: int, status: S, **kw: object) -> Job:
    return Job(job_id, "demo", status, {}, **kw)  # type: ignore[arg-type]


def test_many_ends_fold_into_one_toast_and_failures_stay_urgent() -> None:
    before = {i: S.RUNNING for i in range(1, 13)}
    after = {i: _job(i, S.COMPLETED) for i in range(1, 11)}
    after[11] = _job(11, S.FAILED, error_message="boom")
    after[12] = _job(12, S.PAUSED, pause_reason="auto-paused after 5 item failures in a row")
    alerts = end_alerts(dict(before), after)
    quiet = [a for a in alerts if is_quiet(a)]
    assert {a.job_id for a in quiet} == set(range(1, 11))
    assert {a.job_id for a in alerts if not is_quiet(a)} == {11, 12}, "a failure and an auto-pause call for the user"
    [folded] = coalesce(quiet, limit=1)
    assert folded.title == "10 jobs completed"
    assert folded.message.startswith("✓ completed: #1 #2") and "(+2 more)" in folded.message
    assert coalesce(quiet[:1], limit=1) == quiet[:1], "one job keeps its own toast"
    two = [Alert(1, "Job 1 · demo", "✗ failed: a", "error"), Alert(2, "Job 2 · demo", "✗ failed: b", "error")]
    assert coalesce(two) == two


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_jobs_that_complete_together_give_one_short_toast(client: Client) -> None:
    """The demo's toasts stacked over the detail pane: one per completed job, 5 s each."""
    async with tui(client) as (app, pilot):
        app.bell = lambda: None  # type: ignore[method-assign]
        ids = await client.submit_many([Submission("demo", demo()) for _ in range(6)])
        await run_idle(client)
        await wait_until(pilot, lambda: all((j := app.feed.jobs.get(i)) and j.status is S.COMPLETED for i in ids),
                         what="the jobs completed in the list")
        await wait_until(pilot, lambda: any("completed" in t for t in app.toasts),
                         what="a toast")
        await pilot.pause(0.2)
        completed = [t for t in app.toasts if "completed" in t]
        assert len(completed) <= 2, completed  # all in one poll, or split over two
        failed = await client.submit("demo", FAILS)
        await run_idle(client)
        await shown(app, pilot, failed, S.FAILED)
        await wait_until(pilot, lambda: any("failed" in t for t in app.toasts), what="the failure toast at once",
                         timeout=3)


def laid_out_whole(app: JobtuiApp) -> str:
    """Return the detail pane's text as a layout of the whole detail in one go gives it (no cached parts)."""
    pane = app.detail
    whole = app.console.render_lines(pane.render_detail(), app.console.options.update_width(
        pane.scrollable_content_region.width), pad=True, new_lines=False)
    return "\n".join("".join(seg.text for seg in line).rstrip() for line in whole)


async def test_a_progress_tick_relays_only_the_detail_parts_that_changed(client: Client) -> None:
    """The stage table (the costly part of the detail) is laid out again only when a stage changed."""
    job = await client.submit("demo", demo(delay=30))
    frozen_clock = now_ms() + 5_000  # elapsed times and countdowns do not move between two renders
    async with tui(client, runner=True, clock=lambda: frozen_clock) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await select(app, pilot, job)
        pane = app.detail
        pane.rerender()
        text = pane.text
        before = pane.parts_rendered
        pane.rerender()  # nothing changed: every part comes from the cache
        assert pane.parts_rendered == before and pane.text == text
        detail = pane.detail
        assert detail is not None
        ticked = dataclasses.replace(detail, job=dataclasses.replace(detail.job, progress_message="tick 7/10"))
        pane.show(ticked, pane.errors, history=pane.history)
        assert "tick 7/10" in pane.text
        assert pane.parts_rendered == before + 1, "only the fields part was laid out again"
        # What the cache gives is what a layout of the whole detail in one go gives.
        assert pane.text == laid_out_whole(app)


async def test_a_progress_write_lays_out_only_the_detail_rows_it_changed(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 (change to frame at 100,000 jobs): a progress write moves the job's message and its `updated`
    stamp; the rows below the stages (params, retries, times...) were one table laid out again whole on each
    write. Now the message's row and the `updated` row are laid out, and the lines are the whole detail's."""
    job = await client.submit("demo", demo(delay=30))
    frozen_clock = now_ms() + 5_000
    async with tui(client, runner=True, clock=lambda: frozen_clock) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await select(app, pilot, job)
        pane = app.detail
        pane.rerender()
        laid: list[int] = []
        real_table, real_row = Table.__rich_console__, KeyRow.__rich_console__

        def table(self: Table, console: Console, options: ConsoleOptions) -> RenderResult:
            laid.append(self.row_count)
            return real_table(self, console, options)

        def key_row(self: KeyRow, console: Console, options: ConsoleOptions) -> RenderResult:
            laid.append(1)
            return real_row(self, console, options)

        monkeypatch.setattr(Table, "__rich_console__", table)
        monkeypatch.setattr(KeyRow, "__rich_console__", key_row)
        detail = pane.detail
        assert detail is not None
        ticked = dataclasses.replace(detail, job=dataclasses.replace(
            detail.job, progress_message="tick 7/10", updated_at_ms=detail.job.updated_at_ms + 61_000))
        pane.show(ticked, pane.errors, history=pane.history)
        assert "tick 7/10" in pane.text
        assert laid == [1, 1], f"rows laid out for a progress write: {laid}"
        assert pane.text == laid_out_whole(app)


async def test_a_clock_tick_lays_out_only_the_detail_rows_that_read_differently(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 (idle CPU): each second the clock moved, the whole field grid of a running job was laid out
    again (Rich lays a table out at ~1 ms a row here); now each row is a part of its own: the elapsed time's
    row and the stage table are laid out, and the lines are those of the whole detail laid out in one go."""
    job = await client.submit("demo", demo(delay=30))
    clock = [now_ms() + 5_000]
    async with tui(client, runner=True, clock=lambda: clock[0]) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await select(app, pilot, job)
        pane = app.detail
        pane.rerender()
        laid: list[int] = []
        real = Table.__rich_console__

        def counting(self: Table, console: Console, options: ConsoleOptions) -> RenderResult:
            laid.append(self.row_count)
            return real(self, console, options)

        monkeypatch.setattr(Table, "__rich_console__", counting)
        clock[0] += 61_000
        pane.rerender()
        assert pane.detail is not None
        stages = len(pane.detail.stages)
        assert laid and sum(laid) <= stages + 2, f"rows laid out for a clock tick: {laid} ({stages} stages)"
        assert pane.text == laid_out_whole(app)


async def test_a_clock_tick_repaints_only_the_detail_lines_that_read_differently(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 (idle CPU): each second a running job's detail was repainted whole (27 lines at 160x50), even
    when no line read differently; now the lines that changed, or none."""
    job = await client.submit("demo", demo(delay=30))
    clock = [now_ms() + 5_000]
    async with tui(client, runner=True, clock=lambda: clock[0]) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await select(app, pilot, job)
        pane = app.detail
        pane.rerender()
        painted: list[Region | None] = []
        real = pane.refresh

        def recording(*regions: Region, **kwargs: Any) -> Any:
            painted.extend(regions or [None])
            return real(*regions, **kwargs)

        monkeypatch.setattr(pane, "refresh", recording)
        pane.rerender()  # the clock did not move: no line reads differently
        assert painted == [], f"repainted with nothing changed: {painted}"
        clock[0] += 61_000
        pane.rerender()
        assert painted and None not in painted, f"the whole pane repainted for a clock tick: {painted}"
        assert sum(r.height for r in painted if r is not None) < len(pane.text.splitlines())

@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_a_big_list_freezes_its_first_load_out_of_the_gc_and_thaws_on_exit(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted by the rows the list held, the freeze never happened once the list held only a window of them
    (at 100,000 jobs each full collection then took 120-210 ms, the slowest frames): it counts the jobs now."""
    monkeypatch.setattr(app_module, "FREEZE_AT", 150)
    await client.submit_many([Submission("demo", demo()) for _ in range(150)])
    frozen_before = gc.get_freeze_count()
    async with tui(client) as (app, pilot):
        assert len(app.feed.jobs) < 150, "the list holds a window of the jobs"
        await wait_until(pilot, lambda: gc.get_freeze_count() > frozen_before, what="the GC frozen")
    assert gc.get_freeze_count() == frozen_before == 0


async def test_the_polls_read_of_recent_changes_keeps_id_order(client: Client) -> None:
    """list_jobs(updated_after_ms=...) sorts in Python (so that SQLite walks the jobs_updated_id index)."""
    ids = await client.submit_many([Submission("demo", demo()) for _ in range(6)])
    mark = (await client.job(ids[0])).updated_at_ms - 1
    for job_id in (ids[4], ids[1], ids[3]):
        await client.pause(job_id)
    got = [j.job_id for j in await client.list_jobs(updated_after_ms=mark)]
    assert got == sorted(got) and set(got) == set(ids)
    newest = [j.job_id for j in await client.list_jobs(updated_after_ms=mark, newest_first=True)]
    assert newest == sorted(got, reverse=True)


async def test_a_selection_moved_while_the_list_is_read_again_stays(client: Client) -> None:
    """A reload (after an action, a scroll) began with the old highlight and put it back when its read ended:
    a job selected meanwhile lost its highlight (seen under load: `c` then acted on the previous job's row)."""
    ids = [await client.submit("demo", demo()) for _ in range(3)]
    async with tui(client) as (app, pilot):
        await select(app, pilot, ids[0])
        reading = asyncio.create_task(app.reload_list())  # starts before the highlight moves; reads meanwhile
        assert app.select_job(ids[2])
        await reading
        await wait_until(pilot, lambda: app.selected == ids[2] and app.settled, what="the new highlight shown")
        assert app.table.selected_id == ids[2]
