"""Issue 19, item 8: the TUI does what the CLI does: force-fail with a reason (X), clean finished jobs (D), add a
dependency (a), the `stage:` filter, schedules paused, resumed and added from C, elapsed time without the pauses."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Input, Static

from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.config import load as load_config
from jobtui.errors import UsageError
from jobtui.model import Action, JobStatus, RequestRecord, auto_pause_reason, is_auto_paused
from jobtui.query import Query
from jobtui.store import Store
from jobtui.tui.ask import AskScreen
from jobtui.tui.help import HelpScreen
from jobtui.tui.keymap import check_keymap
from jobtui.tui.paused import paused_ms
from jobtui.tui.schedule_form import AddScheduleScreen, when_of
from jobtui.tui.schedules import SchedulesScreen
from jobtui.tui.screens import ConfirmScreen
from tests.clock import FakeClock

from .conftest import FAILS, LONG, demo, run_idle, select, shown, tui, wait_status, wait_until

S = JobStatus
MIN = 60_000


async def _type(pilot: object, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])  # type: ignore[attr-defined]


async def test_x_asks_why_then_fails_the_job_with_that_reason(client: Client) -> None:
    job = await client.submit("demo", LONG)
    done = await client.submit("demo", demo())
    async with tui(client, runner=True) as (app, pilot):
        await shown(app, pilot, done, S.COMPLETED)
        await shown(app, pilot, job, S.RUNNING)
        await select(app, pilot, done)
        assert app.check_action("fail", ()) is False, "a completed job cannot be failed: X is hidden"
        await select(app, pilot, job)
        assert app.check_action("fail", ()) is True
        await pilot.press("X")
        await wait_until(pilot, lambda: isinstance(app.screen, AskScreen), what="the reason question")
        await pilot.press("enter")  # no reason: refused in the dialog, which stays
        await wait_until(pilot, lambda: "Say why" in str(app.screen.query_one("#ask-error", Static).content))
        assert isinstance(app.screen, AskScreen)
        await _type(pilot, "disk full")
        await pilot.press("enter")
        assert await wait_status(pilot, client, job, S.FAILED) is S.FAILED
        await shown(app, pilot, job, S.FAILED)
    stored = await client.job(job)
    assert stored.error_message is not None and "disk full" in stored.error_message
    assert [h.detail for h in await client.history(job) if h.action == "fail"] == ["disk full"]


async def test_d_counts_the_finished_jobs_asks_then_cleans_them(client: Client) -> None:
    finished = [await client.submit("demo", demo()) for _ in range(3)]
    finished.append(await client.submit("demo", FAILS))
    await run_idle(client)
    waiting = await client.submit("demo", demo())  # queued: no runner here, and clean keeps it
    async with tui(client) as (app, pilot):
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the clean question")
        body = str(app.screen.query_one(".dialog-body", Static).content)
        assert "Delete 4 finished jobs (3 completed, 1 failed)" in body, body
        await pilot.press("n")  # the safe answer: nothing deleted
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert await client.job_ids() == {*finished, waiting}
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: "deleted 4 finished job(s)" in app.toasts, what="the clean toast")
        await wait_until(pilot, lambda: app.table.order == [waiting], what="only the queued job listed")
    assert await client.job_ids() == {waiting}


async def test_a_makes_a_job_wait_for_the_ids_typed(client: Client) -> None:
    first = await client.submit("demo", demo())
    second = await client.submit("demo", demo())
    done = await client.submit("demo", demo())
    await run_idle(client)
    first, second = await client.submit("demo", demo()), await client.submit("demo", demo())  # queued, no runner
    async with tui(client) as (app, pilot):
        await select(app, pilot, done)
        assert app.check_action("depend", ()) is False, "a finished job takes no dependency"
        await select(app, pilot, second)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AskScreen), what="the ids question")
        await _type(pilot, "x1")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "bad job id 'x1'" in str(app.screen.query_one("#ask-error", Static).content))
        app.screen.query_one("#answer", Input).value = f"#{first}"
        await pilot.press("enter")
        assert await wait_status(pilot, client, second, S.BLOCKED) is S.BLOCKED
        await shown(app, pilot, second, S.BLOCKED)
        await wait_until(pilot, lambda: any(f"job {second}: blocked" in t for t in app.toasts), what="the toast")
    assert [r.job_id for r in (await client.waiting_on([second]))[second]] == [first]


def test_the_stage_token_parses_as_the_others_do() -> None:
    q = Query.parse("stage:Fetch,upload !stage:x")
    assert q.stages == {"fetch", "upload"} and q.not_stages == {"x"} and not q.empty
    assert Query.parse("st:a").listing().stages == {"a"}
    assert Query.parse("stage:").problems == ("no stage name in 'stage:'",)


async def test_the_stage_filter_shows_the_jobs_at_that_stage(client: Client) -> None:
    failed = await client.submit("demo", FAILS)  # fails for good in its third stage, uploading
    completed = await client.submit("demo", demo())
    await run_idle(client)
    queued = await client.submit("demo", demo())  # at its first stage
    first_stage = (await client.job(queued)).stage_names[0]
    async with tui(client) as (app, pilot):
        for text, want in (("stage:uploading", [failed]), ("stage:UPLOADING", [failed]),
                           (f"stage:{first_stage}", [queued]), ("!stage:uploading", [completed, queued])):
            app.set_view(query=Query.parse(text))
            await wait_until(pilot, lambda want=want: app.table.order == want, what=f"{text}: {want}")  # type: ignore[misc]


def _help_text(screen: HelpScreen, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    for part in screen.query(Static):
        console.print(part.content)
    return console.export_text()


async def test_help_lists_the_log_keys_and_the_theme_switch_as_rebound(client: Client, tmp_path: Path) -> None:
    """`?` showed the default keys whatever the config file's [keys] said (issue 19)."""
    await client.submit("demo", demo())
    config = tmp_path / "config.toml"
    config.write_text('[keys]\ncancel = "x"\n"log.search" = "ctrl+f"\ntheme = "ctrl+t"\n')
    app_keymap = check_keymap(load_config(str(config)).keys)  # the file as `jobtui` reads it
    async with tui(client) as (app, pilot):
        app.set_keymap(app_keymap)  # as tui.launch.run_tui does
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        text = _help_text(app.screen)  # type: ignore[arg-type]
        lines = {" ".join(line.split()) for line in text.splitlines()}
        assert "x cancel (asks first)" in lines, text
        assert "ctrl+f find in the log (enter finds)" in lines, text
        assert "ctrl+t switch the theme (the choice is remembered)" in lines, text
        for keys in ("n N next / previous match", "o open the whole log in $PAGER", "p pause: a running job stops "
                     "at its next safe point", "X force-fail with a reason (asks why; a running job stops at once)"):
            assert keys in lines, (keys, text)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the theme picker")


async def test_schedules_pause_resume_and_add_from_c(client: Client) -> None:
    await client.add_schedule("a-hourly", "demo", demo(), every_ms=3_600_000)
    await client.add_schedule("b-nightly", "demo", demo(), cron="0 3 * * *")
    async with tui(client, size=(80, 24)) as (app, pilot):
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, SchedulesScreen) and app.screen.schedules,
                         what="the schedules")
        screen = app.screen
        assert isinstance(screen, SchedulesScreen)
        await pilot.press("j", "p")
        await wait_until(pilot, lambda: [s.paused for s in screen.schedules] == [False, True], what="b paused")
        assert [s.paused for s in await client.schedules()] == [False, True]
        await pilot.press("r")
        await wait_until(pilot, lambda: [s.paused for s in screen.schedules] == [False, False], what="b resumed")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AddScheduleScreen), what="the schedule form")
        form = app.screen
        form.query_one("#sched-name", Input).value = "c-every-5m"
        form.query_one("#sched-when", Input).value = "5 minutes"  # neither a period nor a cron line
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not form.query_one("#form-error").has_class("hidden"), what="the error")
        assert isinstance(app.screen, AddScheduleScreen)
        form.query_one("#sched-when", Input).value = "5m"
        form.query_one("#sched-params", Input).value = '{"items": 2}'
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen and len(screen.schedules) == 3, what="the new one")
        assert screen.selected is not None and screen.selected.name == "c-every-5m"
    added = {s.name: s for s in await client.schedules()}["c-every-5m"]
    assert added.every_ms == 5 * MIN and added.params["items"] == 2


def test_the_schedule_forms_when_is_a_period_or_a_cron_line() -> None:
    assert when_of("90s") == (90_000, None)
    assert when_of(" 0 3 * * * ") == (None, "0 3 * * *")
    for bad in ("", "soon"):
        try:
            when_of(bad)
        except UsageError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def test_paused_time_is_counted_from_the_pause_request_to_the_request_that_ends_it() -> None:
    def r(ts: int, action: str, a: str, b: str) -> RequestRecord:
        return RequestRecord(ts, action, a, b, "tui")

    history = [r(0, "submit", "", "queued"), r(1 * MIN, "pause", "running", "pausing"),
               r(11 * MIN, "resume", "paused", "queued"), r(12 * MIN, "pause", "queued", "paused"),
               r(15 * MIN, "cancel", "paused", "cancelled"), r(16 * MIN, "pause", "running", "pausing"),
               r(17 * MIN, "cancel", "pausing", "cancelling")]
    assert paused_ms(history, 0) == 10 * MIN + 3 * MIN
    assert paused_ms(history, 12 * MIN + 30_000) == 2 * MIN + 30_000, "pauses before the first start do not count"
    assert paused_ms(history, None) == 0


async def test_elapsed_time_leaves_out_the_paused_interval(tmp_path: Path) -> None:
    """A job ran 1 min, was paused 10 min, then ran 30 s: it shows 1m30s elapsed (the list and the detail)."""
    clock = FakeClock(1_700_000_000_000)
    store = await Store.open(tmp_path / "t.db", clock=clock)
    client = Client(store, default_registry(), source="tui")
    try:
        job = await client.submit("demo", LONG)
        assert [c.job.job_id for c in await store.claim("r1", 1, ["demo"])] == [job]
        clock.advance(1 * MIN)
        await client.control(job, Action.PAUSE)
        store.job_paused(job, "r1", "paused by request")  # the runner reaches a safe point
        await store.commit_point()
        clock.advance(10 * MIN)
        await client.control(job, Action.RESUME)
        assert [c.job.job_id for c in await store.claim("r1", 1, ["demo"])] == [job]
        clock.advance(30_000)
        async with tui(client, clock=clock, size=(220, 30)) as (app, pilot):  # wide: the list has its elapsed column
            await select(app, pilot, job)
            await wait_until(pilot, lambda: any(line.split()[:2] == ["elapsed", "1m30s"] and
                                                "10m00s paused not counted" in line
                                                for line in app.detail.text.splitlines() if line.strip()),
                             what="the detail's elapsed time")

            def listed() -> str:  # the row's ELAPSED cell: the one after the progress percentage
                cells = app.table.render_line(1).text.split()
                return cells[cells.index("0%") + 1]

            await wait_until(pilot, lambda: listed() == "1m", what="the list's elapsed time (it said 11m)")
    finally:
        await client.close()


async def test_an_auto_pause_is_in_the_history_and_its_time_is_not_counted(tmp_path: Path) -> None:
    """A runner's auto-pause (no request) writes its own history row, so its paused stretch is left out too."""
    clock = FakeClock(1_700_000_000_000)
    store = await Store.open(tmp_path / "t.db", clock=clock)
    client = Client(store, default_registry(), source="tui")
    try:
        job = await client.submit("demo", LONG)
        [claimed] = await store.claim("r1", 1, ["demo"])
        clock.advance(1 * MIN)
        store.job_paused(job, "r1", auto_pause_reason(3, "item-7", "boom"))  # what the items loop stops with
        await store.commit_point()
        clock.advance(10 * MIN)
        await client.control(job, Action.RESUME)
        history = await client.history(job)
        auto = [h for h in history if h.action == "auto_pause"]
        assert [(h.from_status, h.to_status, h.source) for h in auto] == [("running", "paused", "r1")]
        assert is_auto_paused(auto[0].detail)
        assert paused_ms(history, claimed.job.started_at_ms) == 10 * MIN  # counted 0 before the row existed
        store.job_paused(job, "r1", auto_pause_reason(3, "item-8", "boom"))  # not running under r1: no row
        await store.commit_point()
        assert len([h for h in await client.history(job) if h.action == "auto_pause"]) == 1
    finally:
        await client.close()


def test_every_app_and_list_key_is_on_the_help_screen() -> None:
    """Every key must be found: each binding of the app and the job list is a line of `?` (by its id)."""
    from jobtui.tui.help import KEYS
    from jobtui.tui.keymap import actions

    listed = {i for _, rows in KEYS for _, ids, _ in rows for i in ids}
    missing = {a for a, (scope, _, _) in actions().items() if scope in ("app", "list")} - listed
    assert not missing
    assert {"log.search", "log.next", "log.previous", "log.pager", "theme"} <= listed
    assert listed <= set(actions()), "a help line names a binding id that does not exist"


async def test_readonly_offers_none_of_them(client: Client) -> None:
    """--readonly: X, a and D are hidden (and say why), and the schedules screen steers nothing."""
    job = await client.submit("demo", demo())
    await client.add_schedule("hourly", "demo", demo(), every_ms=3_600_000)
    async with tui(client, readonly=True) as (app, pilot):
        await select(app, pilot, job)
        assert [app.check_action(a, ()) for a in ("fail", "depend", "clean")] == [False, False, False]
        await pilot.press("X")
        await wait_until(pilot, lambda: any("Read-only" in t for t in app.toasts), what="the read-only note")
        assert not isinstance(app.screen, AskScreen)
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, SchedulesScreen) and app.screen.schedules)
        await pilot.press("p", "a")
        await wait_until(pilot, lambda: sum("schedules are not" in t for t in app.toasts) == 2, what="two refusals")
        assert not isinstance(app.screen, AddScheduleScreen)
    assert [s.paused for s in await client.schedules()] == [False]
