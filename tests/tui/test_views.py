"""Views: filter and sort keep the selection, rows update in place, the log follows, text is never markup."""

from __future__ import annotations

import pytest

from jobtui import Context, JobType, PermanentError, Stage
from jobtui.client import Client
from jobtui.errors import UsageError
from jobtui.model import JobStatus
from jobtui.tui.app import make_app
from jobtui.tui.help import HelpScreen

from .conftest import FAILS, LONG, demo, run_idle, select, shown, tui, wait_until

S = JobStatus
MARKUP = "ValueError: [/closing] bad [bold]not bold[/] [link=x]"


async def _mixed(client: Client) -> dict[str, int]:
    """Jobs in several states: completed, failed, paused, cancelled, queued."""
    done = await client.submit("demo", demo())
    failed = await client.submit("demo", FAILS)
    await run_idle(client)
    paused = await client.submit("demo", demo())
    await client.pause(paused)
    cancelled = await client.submit("demo", demo())
    await client.cancel(cancelled)
    queued = await client.submit("demo", demo(), priority=3)
    return {"done": done, "failed": failed, "paused": paused, "cancelled": cancelled, "queued": queued}


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_filter_by_status_and_text_keeps_the_selection(client: Client) -> None:
    ids = await _mixed(client)
    async with tui(client) as (app, pilot):
        await select(app, pilot, ids["paused"])
        await pilot.press("slash")
        assert app.focused is app.filter_input
        for key in "status:paused,failed":
            await pilot.press({":": "colon", ",": "comma"}.get(key, key))
        await wait_until(pilot, lambda: app.table.order == [ids["failed"], ids["paused"]])
        assert app.selected == ids["paused"]
        assert app.table.cursor == 1
        await pilot.press("enter")
        assert app.focused is app.table
        assert "filter status:paused,failed" in str(app.table.border_title)
        await pilot.press("escape")  # clears the filter
        await wait_until(pilot, lambda: len(app.table.order) == 5)
        assert app.selected == ids["paused"]
        assert app.table.order[app.table.cursor] == ids["paused"]

        app.filter_input.value = "type:demo !status:c"  # negation by prefix: cancelled and completed
        await wait_until(pilot, lambda: set(app.table.order) == {ids["failed"], ids["paused"], ids["queued"]})
        app.filter_input.value = "uploading"  # free text: the failed stage and the error
        await wait_until(pilot, lambda: app.table.order == [ids["failed"]])
        await wait_until(pilot, lambda: app.selected == ids["failed"], what="the selection to move to a shown job")
        app.filter_input.value = "status:nosuch"
        await wait_until(pilot, lambda: app.table.order == [])
        assert "no status 'nosuch'" in str(app.table.border_subtitle)
        await wait_until(pilot, lambda: app.selected is None, what="no selection in an empty list")


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_sort_cycles_and_keeps_the_selection(client: Client) -> None:
    ids = await _mixed(client)
    async with tui(client) as (app, pilot):
        await select(app, pilot, ids["cancelled"])
        seen = []
        for _ in range(6):
            await pilot.press("s")
            seen.append(app.view.sort)
            assert app.selected == ids["cancelled"]
            assert app.table.order[app.table.cursor] == ids["cancelled"]
        assert seen == ["status", "updated", "progress", "priority", "type", "id"]
        await pilot.press("s")  # by status: failed first, completed last
        assert app.table.order[0] == ids["failed"] and app.table.order[-1] == ids["done"]
        await pilot.press("S")
        assert app.table.order[0] == ids["done"] and app.view.reverse
        assert app.table.order[app.table.cursor] == ids["cancelled"]


async def test_failures_only(client: Client) -> None:
    ids = await _mixed(client)
    async with tui(client) as (app, pilot):
        await pilot.press("F")
        assert app.table.order == [ids["failed"]]
        assert "failures only" in str(app.table.border_title)
        await pilot.press("F")
        assert len(app.table.order) == 5


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_rows_update_in_place_without_moving_selection_or_scroll(client: Client) -> None:
    ids = [await client.submit("demo", demo()) for _ in range(120)]
    async with tui(client, size=(120, 30)) as (app, pilot):
        await select(app, pilot, ids[60])
        offset = app.table.cursor - int(app.table.scroll_y)
        # Another process changes jobs above and below, deletes some above, and adds new ones.
        for job in ids[10:20] + ids[70:80]:
            await client.pause(job)
        for job in ids[0:5]:
            await client.delete(job)
        await client.submit("demo", demo())
        await app.poll(full=True)
        await pilot.pause()
        # The list holds the rows around the view (issue 18), and counts the rest.
        assert app.feed.jobs[ids[70]].status is S.PAUSED and app.feed.counts["paused"] == 20
        assert ids[0] not in app.table.index and app.table.count == 116
        assert app.table.selected_id == ids[60]
        assert app.table.order[app.table.cursor - app.table.top] == ids[60]
        assert app.table.cursor - int(app.table.scroll_y) == offset, "the selected row stays put on screen"


async def test_deleting_the_selected_job_elsewhere_moves_to_a_neighbour(client: Client) -> None:
    a, b, c = [await client.submit("demo", demo()) for _ in range(3)]
    async with tui(client) as (app, pilot):
        await select(app, pilot, b)
        await client.delete(b)
        await app.poll(full=True)
        await wait_until(pilot, lambda: app.selected == c and app.detail.detail is not None
                         and app.detail.detail.job.job_id == c)
        assert app.table.order == [a, c]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_navigation_keys_and_panes(client: Client) -> None:
    ids = [await client.submit("demo", demo()) for _ in range(50)]
    async with tui(client, size=(100, 30)) as (app, pilot):
        assert app.table.selected_id == ids[0]
        await pilot.press("j", "j", "down")
        assert app.table.selected_id == ids[3]
        await pilot.press("k", "up")
        assert app.table.selected_id == ids[1]
        await pilot.press("G")
        assert app.table.selected_id == ids[-1]
        await pilot.press("g")
        assert app.table.selected_id == ids[0]
        await pilot.press("pagedown")
        assert app.table.cursor > 5
        await pilot.press("tab")
        assert app.focused is app.detail
        await pilot.press("tab")
        assert app.focused is app.log_view
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused is app.table
        await pilot.press("z")
        assert app.screen.maximized is app.table
        await pilot.press("escape")
        assert app.screen.maximized is None
        await pilot.press("tab", "tab", "z")
        assert app.screen.maximized is app.log_view
        await pilot.press("z")
        assert app.screen.maximized is None
        await pilot.press("shift+tab", "shift+tab", "g")
        assert app.focused is app.table and int(app.table.scroll_y) == 0
        await pilot.click("#jobs", offset=(5, 4))  # border, header, then rows 0, 1, 2
        assert app.table.selected_id == ids[2]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_help_screen(client: Client) -> None:
    async with tui(client) as (app, pilot):
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def _bad(ctx: Context) -> None:
    ctx.log(f"about to fail: {MARKUP}")
    raise PermanentError(MARKUP)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_error_text_is_shown_as_text_never_markup(client: Client) -> None:
    client.registry.add(JobType("bad[red]", [Stage(_bad, "boom[/]")]))
    job = await client.submit("bad[red]", {})
    await run_idle(client)
    async with tui(client) as (app, pilot):
        await select(app, pilot, job)
        await wait_until(pilot, lambda: "about to fail" in app.log_view.text())
        await pilot.pause()
        shot = app.export_screenshot()
        assert "[/closing]" in shot.replace("&#160;", " ")
        assert MARKUP in app.detail.detail.job.error_message  # type: ignore[union-attr]
        assert "[/closing] bad [bold]not bold[/]" in app.log_view.text()
        await pilot.press("c")  # a dialog that names the job (its type holds brackets) opens fine
        await pilot.press("escape")
        app.filter_input.value = "[/nomatch] [bold]"  # shown in the list's title: text, not markup
        await wait_until(pilot, lambda: app.table.order == [])
        assert "[/nomatch]" in app.table.border_title.replace("\\", "")  # type: ignore[union-attr]


async def _chatty(ctx: Context) -> None:
    for i in range(40):
        ctx.log(f"line {i} " + "x" * 150)
    await ctx.checkpoint()
    for i in range(40, 1000):
        await ctx.sleep(0.05)  # sleep: a stage that takes a moment per step
        ctx.log(f"line {i}")


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_log_follows_stops_on_scroll_up_and_f_follows_again(client: Client) -> None:
    client.registry.add(JobType("chatty", [Stage(_chatty, "talk")]))
    job = await client.submit("chatty", {})
    async with tui(client, runner=True, size=(120, 30)) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await select(app, pilot, job)
        log = app.log_view
        await wait_until(pilot, lambda: log.line_count > 45)
        assert log.follow
        await wait_until(pilot, lambda: log.scroll_y == log.max_scroll_y and log.max_scroll_y > 0)
        log.focus()
        await pilot.press("k", "k", "k")
        assert not log.follow
        await wait_until(pilot, lambda: log.new_lines > 0, what="+N new lines")
        assert "new" in str(log.border_subtitle) and "f follows" in str(log.border_subtitle)
        top = log.scroll_y
        await pilot.pause(0.3)
        assert log.scroll_y == top, "not following: the view stays where the user put it"
        await pilot.press("f")
        assert log.follow and log.new_lines == 0
        await wait_until(pilot, lambda: log.scroll_y == log.max_scroll_y)
        lines_before = log.virtual_size.height
        await pilot.press("w")
        assert log.wrap
        assert log.virtual_size.height > lines_before, "long lines take several rows when wrapped"
        await pilot.press("w")
        assert not log.wrap
        await pilot.press("p")


async def test_light_theme_and_unknown_theme(client: Client) -> None:
    async with tui(client, theme="light") as (app, _pilot):
        assert app.theme == "jobtui-light"
    with pytest.raises(UsageError, match="unknown theme"):
        make_app(client, theme="nosuch")


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_status_line_counts_and_runner_health(client: Client) -> None:
    await _mixed(client)
    async with tui(client) as (app, pilot):
        text = str(app.status_bar.render())
        assert "runner ○ none" in text and "1 failed" in text and "1 paused" in text
    job = await client.submit("demo", LONG)
    async with tui(client, runner=True) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        state = client.runner_state()
        assert state is not None and job in state.busy
        app.update_status()  # the runner may have taken another job meanwhile: the line says what it holds now
        assert f"runner ● here · {len(client.running_job_ids())}/4 busy" in str(app.status_bar.render())
