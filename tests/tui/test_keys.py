"""Every job action key: the job's stored state changes as the key says, and the user is told."""

from __future__ import annotations

import pytest

from jobtui.client import Client
from jobtui.errors import JobNotFoundError
from jobtui.model import JobStatus, StageStatus
from jobtui.tui.screens import ConfirmScreen, NewJobScreen, RewindScreen

from .conftest import (
    FAILS,
    LONG,
    demo,
    run_idle,
    select,
    shown,
    tui,
    wait_status,
    wait_until,
)

S = JobStatus


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_p_pauses_a_running_job(client: Client) -> None:
    job = await client.submit("demo", LONG)
    async with tui(client, runner=True) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await select(app, pilot, job)
        await pilot.press("p")
        assert await wait_status(pilot, client, job, S.PAUSED) is S.PAUSED
        await shown(app, pilot, job, S.PAUSED)
        assert any(f"job {job}: running → pausing" in t for t in app.toasts)
        assert (await client.job(job)).pause_reason == "paused by request"


async def test_r_resumes_a_paused_job(client: Client) -> None:
    job = await client.submit("demo", demo())
    await client.pause(job)
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("r")
        assert await wait_status(pilot, client, job, S.QUEUED) is S.QUEUED
        await shown(app, pilot, job, S.QUEUED)
        assert any(f"job {job}: paused → queued" in t for t in app.toasts)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_c_asks_first_and_no_is_the_default(client: Client) -> None:
    job = await client.submit("demo", demo())
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("enter")  # the focused button is "keep it"
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert (await client.job(job)).status is S.QUEUED
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert (await client.job(job)).status is S.QUEUED
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await wait_status(pilot, client, job, S.CANCELLED) is S.CANCELLED
        await shown(app, pilot, job, S.CANCELLED)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_c_cancels_a_running_job_with_the_yes_button(client: Client) -> None:
    job = await client.submit("demo", LONG)
    async with tui(client, runner=True) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await select(app, pilot, job)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")  # move to the "cancel it" button and press it
        assert await wait_status(pilot, client, job, S.CANCELLED) is S.CANCELLED


async def test_t_retries_a_failed_job(client: Client) -> None:
    job = await client.submit("demo", FAILS)
    await run_idle(client)
    assert (await client.job(job)).status is S.FAILED
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("t")
        assert await wait_status(pilot, client, job, S.QUEUED) is S.QUEUED
        assert (await client.job(job)).resume_count == 1
        await shown(app, pilot, job, S.QUEUED)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_shift_r_rewinds_to_the_chosen_stage(client: Client) -> None:
    job = await client.submit("demo", FAILS)
    await run_idle(client)
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RewindScreen))
        await pilot.press("up", "enter")  # the failed stage (uploading) is highlighted; one up is downloading
        assert await wait_status(pilot, client, job, S.QUEUED) is S.QUEUED
        detail = await client.detail(job)
        assert detail.job.current_step_index == 1
        assert [s.status for s in detail.stages[:3]] == [StageStatus.COMPLETED, StageStatus.PENDING,
                                                         StageStatus.PENDING]
        assert any("from downloading" in t for t in app.toasts)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_rewind_chooser_escape_changes_nothing(client: Client) -> None:
    job = await client.submit("demo", FAILS)
    await run_idle(client)
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RewindScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RewindScreen))
        assert (await client.job(job)).status is S.FAILED


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_d_deletes_after_confirm(client: Client) -> None:
    keep = await client.submit("demo", demo())
    job = await client.submit("demo", demo())
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert (await client.job(job)).status is S.QUEUED
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: job not in app.feed.jobs, what="row removed")
        try:
            await client.job(job)
            raise AssertionError("job still stored")
        except JobNotFoundError:
            pass
        assert app.table.order == [keep]
        await wait_until(pilot, lambda: app.selected == keep)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_n_submits_a_job_from_the_form(client: Client) -> None:
    async with tui(client) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen))
        form = app.screen
        assert isinstance(form, NewJobScreen)
        await wait_until(pilot, lambda: "items" in form.fields)
        form.fields["items"].value = "not a number"  # type: ignore[assignment]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, NewJobScreen), "a bad param keeps the form open"
        assert "items" in str(form.query_one("#form-error").render())
        form.fields["items"].value = "3"  # type: ignore[assignment]
        form.fields["delay"].value = "0"  # type: ignore[assignment]
        form.query_one("#priority").value = "7"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, NewJobScreen))
        jobs = await client.list_jobs()
        assert len(jobs) == 1
        assert jobs[0].params["items"] == 3 and jobs[0].params["delay"] == 0.0 and jobs[0].priority == 7
        await wait_until(pilot, lambda: app.selected == jobs[0].job_id, what="new job selected")
        assert any("queued" in t for t in app.toasts)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_new_job_form_escape_submits_nothing(client: Client) -> None:
    async with tui(client) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, NewJobScreen))
        assert await client.list_jobs() == []


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_space_marks_rows_for_bulk_pause_resume_and_cancel(client: Client) -> None:
    ids = [await client.submit("demo", demo()) for _ in range(4)]
    async with tui(client) as (app, pilot):
        await select(app, pilot, ids[0])
        await pilot.press("space", "space", "space")  # marks 1, 2, 3 (the cursor moves down)
        assert app.table.marked == set(ids[:3])
        await pilot.press("p")
        for job in ids[:3]:
            assert await wait_status(pilot, client, job, S.PAUSED) is S.PAUSED
        assert (await client.job(ids[3])).status is S.QUEUED
        # The stored statuses change before the action's worker has re-read the rows and cleared the marks.
        await wait_until(pilot, lambda: not app.table.marked, what="the marks cleared after the bulk pause")
        assert any("3 jobs pause requested" in t for t in app.toasts)

        await pilot.press("g", "space", "space")
        await pilot.press("r")
        for job in ids[:2]:
            assert await wait_status(pilot, client, job, S.QUEUED) is S.QUEUED
        assert (await client.job(ids[2])).status is S.PAUSED
        await wait_until(pilot, lambda: not app.table.marked, what="the marks cleared after the bulk resume")

        await pilot.press("g", "space", "space", "space", "space", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        for job in ids:
            assert await wait_status(pilot, client, job, S.CANCELLED) is S.CANCELLED


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_actions_that_do_not_apply_are_hidden(client: Client) -> None:
    done = await client.submit("demo", demo())
    await run_idle(client)
    queued = await client.submit("demo", demo())
    async with tui(client) as (app, pilot):
        await select(app, pilot, done)
        footer = {b.action for _, b, enabled, _tip in app.screen.active_bindings.values() if enabled}
        assert {"pause", "resume", "cancel"}.isdisjoint(footer)
        assert {"delete", "rewind"} <= footer
        await pilot.press("p")  # a key whose action is hidden does nothing
        await pilot.pause()
        assert (await client.job(done)).status is S.COMPLETED
        await select(app, pilot, queued)
        footer = {b.action for _, b, enabled, _tip in app.screen.active_bindings.values() if enabled}
        assert {"pause", "cancel", "delete"} <= footer
        assert {"resume", "retry", "rewind"}.isdisjoint(footer)


async def test_readonly_steers_nothing(client: Client) -> None:
    job = await client.submit("demo", demo())
    async with tui(client, readonly=True) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("p", "c", "d", "n")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert (await client.job(job)).status is S.QUEUED
        assert all(not app.check_action(a, ()) for a in ("pause", "resume", "cancel", "retry", "rewind", "delete",
                                                         "new_job"))


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_command_palette_runs_the_same_actions(client: Client) -> None:
    job = await client.submit("demo", demo())
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        for ch in "pause job":
            await pilot.press("space" if ch == " " else ch)
        await pilot.pause(0.5)
        await pilot.press("enter")
        assert await wait_status(pilot, client, job, S.PAUSED) is S.PAUSED
