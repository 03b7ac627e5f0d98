"""JobtuiApp: the job list, the selected job's detail and log, and keys to steer jobs.

The app reads and steers through the Client only. With an embedded runner (plain `jobtui`), the
runner is a plain asyncio task beside the UI; attached (`jobtui tui --attach`) there is none here,
and requests reach a `jobtui run` process through the database.

This module composes the screen and keeps it fresh (polling, selection, views); the status line
is `status_bar`, the job actions `actions`, quitting `quit`, and the CLI's entry point `launch`.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable, Mapping, Sequence
from datetime import tzinfo
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label

from ..client import Client
from ..model import Action, Job, JobId, Stats, now_ms
from . import settings as _settings
from .actions import JOB_ACTIONS, JobActions
from .admin import AdminActions
from .background import Background
from .export import deliver_export, delivered
from .feed import JobFeed
from .fleet import FleetScreen
from .format import Clock, absolute
from .help import HelpScreen
from .keys import BINDINGS, FILTER_HINT, PALETTE, TEXTUAL_COMMANDS
from .lifecycle import RunnerLifecycle
from .ordered_input import OrderedInput
from .paused import PausedTimes
from .queues import QueuesScreen
from .quit import QuitFlow
from .refresh import POLL_S, Refresher
from .runner_log import RunnerLog, RunnerLogScreen, runner_failed, toast
from .schedules import SchedulesScreen
from .status_bar import StatusBar, StatusInfo
from .themes import THEMES, choose_theme, styles_dir
from .view import JobView, Query
from .viewing import ViewControl
from .widgets.job_detail import JobDetailPane
from .widgets.job_list import JobTable
from .widgets.log_pane import LogView

DEBOUNCE_S = 0.08
"""Holding j should not read a detail per row passed."""
FREEZE_AT = 1_000
"""From this many jobs in the database, what exists at the first frame is frozen out of the cyclic GC (gc.freeze)."""


class JobtuiApp(App[int]):
    """Supervise the jobs of one database."""

    CSS_PATH: ClassVar[list[str | PurePath]] = [styles_dir() / "app.tcss"]
    TITLE = "jobtui"
    # Textual declares this one as an instance variable (App.HORIZONTAL_BREAKPOINTS), so no ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = BINDINGS

    def __init__(
        self,
        client: Client,
        *,
        readonly: bool = False,
        clock: Clock = now_ms,
        tz: tzinfo | None = None,
        theme: str | None = None,
        apps: Sequence[str] = (),
        bell: bool = True,
        settings: Path | None = None,
    ) -> None:
        """Build the app on an open Client (the app never closes it).

        With an embedded runner (`client.embedded_runner()`), the app starts it on mount and stops it on quit;
        without, it watches a `jobtui run`. `readonly`: show jobs, steer nothing. `clock`: epoch ms for relative
        times (fixed in snapshots). `tz`: the zone of absolute times (default: local). `theme`: a theme name.
        `apps`: the --app modules, passed on to a background runner. `bell`: ring the terminal bell when a job
        ends or auto-pauses. `settings`: the file that remembers the theme (`settings.settings_path`; None: none).
        """
        super().__init__()
        self.settings = settings
        """Where the chosen theme is remembered (None: nowhere, as in tests)."""
        self.client = client
        self.embedded = client.embedded and not readonly
        """Whether this process runs the jobs (the client's embedded runner starts on mount)."""
        self.readonly = readonly
        self.clock = clock
        self.tz = tz
        self.apps = tuple(apps)
        self.bell_on_end = bell
        """Ring the terminal bell when a job ends or auto-pauses (off: `--no-bell`, JOBTUI_BELL=0)."""
        for t in THEMES:
            self.register_theme(t)
        saved = _settings.load(settings).get("theme") if theme is None and settings is not None else None
        self.theme = choose_theme(theme, saved, set(self.available_themes))
        self.feed = JobFeed(client)
        self.view = JobView()
        self.actions = JobActions(self)
        self.admin = AdminActions(self, self.actions)
        self.paused_times = PausedTimes(client, on_change=lambda: self.table.refresh() if self.ui_ok() else None,
                                        spawn=lambda read: self.run_worker(read, group="paused", name="paused"))
        self.keys_in_use: dict[str, str] = {}
        """The keymap applied (binding id -> keys, Textual's spelling): what `?` shows."""
        self.selected: JobId | None = None
        self.stats: Stats | None = None
        self.background: Background | None = None
        """The detached runner started by "keep them running" on quit."""
        self.lifecycle = RunnerLifecycle(client, on_error=lambda e: runner_failed(self, e), on_change=self.update_status)
        """The embedded runner's task (started on mount when `embedded`)."""
        self.quitting = QuitFlow(self, self.lifecycle)
        self.loaded = asyncio.Event()
        """Set once the first read of the jobs is shown."""
        self._ui_gone = False
        self._gc_frozen = False
        self.refresher = Refresher(self)
        self.views = ViewControl(self)
        self._debounce: Timer | None = None
        self._bindings_signature: tuple[bool | None, ...] = ()
        self.toasts: list[str] = []
        """The messages of recent notifications, newest last (what the user was told)."""
        self._poll_timer: Timer | None = None
        self.poll_s = POLL_S
        """Seconds between reads of the database (the config file's tui.poll_interval)."""
        self.runner_log: RunnerLog | None = None
        """The runner's log messages (key L); warnings and errors are also toasted."""

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Show a toast, and remember its text."""
        self.toasts = [*self.toasts[-49:], message]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def ui_ok(self) -> bool:
        """Tell whether the main widgets still exist (a poll may finish while the app shuts down)."""
        if self._ui_gone:
            return False
        try:
            for selector in ("#jobs", "#status", "#detail", "#log"):
                self.query_one(selector)
        except NoMatches:
            self._ui_gone = True
            return False
        return True

    # -------------------------------------------------------------------------------- accessors
    @property
    def table(self) -> JobTable:
        """Return the job list."""
        return self.query_one("#jobs", JobTable)

    @property
    def detail(self) -> JobDetailPane:
        """Return the detail pane."""
        return self.query_one("#detail", JobDetailPane)

    @property
    def log_view(self) -> LogView:
        """Return the log pane."""
        return self.query_one("#log", LogView)

    @property
    def filter_input(self) -> Input:
        """Return the filter box."""
        return self.query_one("#filter", Input)

    @property
    def status_bar(self) -> StatusBar:
        """Return the top line."""
        return self.query_one("#status", StatusBar)

    @property
    def settled(self) -> bool:
        """Tell whether the screen is up to date with the selection (the readiness hook for tests and tools).

        True once the first read of the jobs is shown, no selection waits for its debounce, and the
        highlighted job's detail and log are the ones shown (or nothing is highlighted). Wait for it
        after starting the app or moving the selection, e.g. `await wait_until(pilot, lambda: app.settled)`.
        """
        return self.refresher.settled

    def pause_polling(self) -> None:
        """Stop reading the database on a timer (a benchmark or a test then drives refreshes with `poll()`)."""
        self.refresher.paused = True
        if self._poll_timer is not None:
            self._poll_timer.pause()

    def resume_polling(self) -> None:
        """Read the database every POLL_S seconds again."""
        self.refresher.paused = False
        if self._poll_timer is not None:
            self._poll_timer.resume()

    @property
    def selected_job(self) -> Job | None:
        """Return the highlighted job."""
        return None if self.selected is None else self.feed.jobs.get(self.selected)

    # ------------------------------------------------------------------------------- lifecycle
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="jobs-pane"):
                yield JobTable(self.feed.jobs, clock=self.clock, id="jobs")
            with Vertical(id="right"):
                yield JobDetailPane(clock=self.clock, tz=self.tz, id="detail")
                yield LogView(tz=self.tz, id="log")
        # The filter line spans the screen above the footer (as htop's): the panes keep their tops aligned
        # and the whole hint fits at 80 columns.
        with Horizontal(id="filter-bar", classes="hidden"):
            yield Label("/", id="filter-label")
            yield OrderedInput(placeholder=FILTER_HINT, id="filter", compact=True)
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        # The list holds a window of rows; the highlighted and the marked jobs are held wherever they are (none
        # once the app closes: a read may end after its widgets are gone).
        self.feed.pinned = lambda: [*self.table.marked, *[s for s in [self.selected] if s is not None]] if self.ui_ok() else []
        self.runner_log = RunnerLog(lambda m: toast(self, m), asyncio.get_running_loop()).install()
        self.log_view.border_title = "Log"
        self.table.paused = self.paused_times
        self.detail.show(None, missing="Loading…")
        self.table.focus()
        if self.embedded:
            self.lifecycle.start()
        await self.poll(full=True)
        if self.ui_ok():
            # An empty database (or nothing highlighted yet) posts no Highlighted: say so now, not "Loading…".
            self.update_titles()
            self.bindings_changed()
            if self.selected is None and not self.refresher.pending:
                await self.refresher.load_selected()
        if self.feed.total >= FREEZE_AT:  # the jobs in the database: the list holds only a window of them
            self.call_after_refresh(self._freeze_gc)  # after the first frame: a full collection takes ~0.1 s
        self.loaded.set()
        self._poll_timer = self.set_interval(self.poll_s, self.poll, name="poll")
        self.run_worker(self.refresher.watch(), group="watch", name="watch changes")
        self.set_interval(1.0, self.refresher.tick, name="clock")
        self.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        if self.settings is not None:
            _settings.save(self.settings, theme=self.theme)  # --theme is remembered too

    def _freeze_gc(self) -> None:
        """Keep the cyclic GC from walking the widgets, modules and styles at each full collection (120-210 ms each)."""
        if not self._ui_gone and not self._gc_frozen:
            gc.collect()
            gc.freeze()
            self._gc_frozen = True

    async def on_unmount(self) -> None:
        self._ui_gone = True
        if self._gc_frozen:
            gc.unfreeze()
            self._gc_frozen = False
        try:
            await self.stop_runner()
        finally:
            if self.runner_log is not None:
                self.runner_log.uninstall()

    def action_runner_log(self) -> None:
        """Show the runner's recent messages."""
        self.push_screen(RunnerLogScreen([] if self.runner_log is None else list(self.runner_log.messages)))

    async def stop_runner(self) -> None:
        """Stop the embedded runner: running jobs reach a safe point and go back to queued (or paused)."""
        await self.lifecycle.stop()

    # ---------------------------------------------------------------------------------- polling
    async def poll(self, *, full: bool = False) -> None:
        """Read what changed, update the rows in place, and refresh the selected job."""
        await self.refresher.poll(full=full)

    async def reload_list(self, *, top: int | None = None, show: JobId | None = None) -> None:
        """Read the list's window again (from row `top`; around job `show`, highlighting it)."""
        await self.refresher.reload(top=top, show=show)

    def _restyle(self) -> None:
        if self.settings is not None:
            _settings.save(self.settings, theme=self.theme)
        self.detail.rerender()
        self.update_status()
        self.table.refresh()
        self.log_view.refresh()

    # -------------------------------------------------------------------------------- selection
    def bindings_changed(self) -> None:
        """Refresh the footer only when the set of applicable actions changed (a footer rebuild costs a layout)."""
        if not self.ui_ok():
            return  # a message handled while the app closes: the widgets are gone
        signature = tuple(self.actions.check(a) for a in (*JOB_ACTIONS, "new_job", "depend"))
        if signature != self._bindings_signature:
            self._bindings_signature = signature
            self.refresh_bindings()

    @on(JobTable.Highlighted, "#jobs")
    def _highlighted(self, event: JobTable.Highlighted) -> None:
        self.selected = event.job_id
        self.bindings_changed()
        if self._debounce is not None:
            self._debounce.stop()
        self.refresher.pending = True
        self._debounce = self.set_timer(DEBOUNCE_S, self.refresher.load_selected, name="select")

    @on(JobTable.MarksChanged, "#jobs")
    def _marks_changed(self) -> None:
        self.bindings_changed()
        self.update_titles()

    def empty_note(self) -> str:
        """Say why no job is shown, and what to do."""
        return self.views.empty_note()

    def select_job(self, job_id: JobId) -> bool:
        """Highlight a job if its row is loaded; else find it in the list (if the filter shows it) and return False."""
        if self.table.select(job_id):
            return True

        async def show() -> None:
            await self.refresher.reload(show=job_id)

        # A function, not a coroutine: a worker replaced before it starts (by a view change) leaves none unawaited.
        self.run_worker(show, group="view", name="show")  # type: ignore[arg-type]  # Textual infers Never
        return False

    @on(JobTable.RowsNeeded, "#jobs")
    def _rows_needed(self, event: JobTable.RowsNeeded) -> None:
        async def rows() -> None:
            await self.refresher.reload(top=event.top)

        self.run_worker(rows, group="rows", name="rows", exclusive=True)  # type: ignore[arg-type]  # as above

    # ------------------------------------------------------------------------------- the header
    def update_status(self, problem: str | None = None) -> None:
        """Redraw the status line."""
        if self._ui_gone:
            return
        self.status_bar.show(StatusInfo(
            db=self.client.db_path.name,
            counts=self.feed.counts,
            clock=absolute(self.clock(), self.tz, date=False),
            readonly=self.readonly,
            embedded=self.client.runner_state() if self.embedded else None,
            embedded_error=self.lifecycle.error,
            embedded_stopping=self.lifecycle.stopping or self.lifecycle.ended,
            runners=self.stats.runners if self.stats is not None else (),
            problem=problem,
        ))

    def update_titles(self) -> None:
        """Redraw the job list's title: counts, sort, filter, marks."""
        self.views.update_titles()

    # ---------------------------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        try:
            return self.actions.check(action)
        except NoMatches:  # asked before the widgets exist
            return None

    def action_pause(self) -> None:
        self.actions.soon(Action.PAUSE)

    def action_resume(self) -> None:
        self.actions.soon(Action.RESUME)

    def action_retry(self) -> None:
        self.actions.soon(Action.RETRY)

    def action_cancel(self) -> None:
        self.actions.cancel()

    def action_delete(self) -> None:
        self.actions.delete()

    async def action_rewind(self) -> None:
        await self.actions.rewind()

    def action_new_job(self) -> None:
        self.actions.new_job()

    def action_fail(self) -> None:
        self.admin.fail()

    async def action_clean(self) -> None:
        await self.admin.clean()

    def action_depend(self) -> None:
        self.admin.depend()

    def action_export(self) -> None:
        if (job := self.selected_job) is not None:
            self.run_worker(deliver_export(self, self.client, job), group="export", exit_on_error=False)

    @on(events.DeliveryComplete)
    @on(events.DeliveryFailed)
    def _delivered(self, event: events.DeliveryComplete | events.DeliveryFailed) -> None:
        delivered(self, event)

    # ------------------------------------------------------------------------------------ views
    def action_filter(self) -> None:
        self.views.open_filter()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.set_view(query=Query.parse(event.value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.views.close_filter(clear=False, keep=bool(event.value.strip()))

    def set_view(self, *, query: Query | None = None, sort: str | None = None, reverse: bool | None = None,
                 failures_only: bool | None = None) -> None:
        """Change the filter or the order; the highlighted job stays highlighted if still shown."""
        self.views.set_view(query=query, sort=sort, reverse=reverse, failures_only=failures_only)

    def action_sort(self) -> None:
        self.views.next_sort()

    def action_reverse_sort(self) -> None:
        self.set_view(reverse=not self.view.reverse)

    def action_failures(self) -> None:
        self.views.toggle_failures()

    def action_follow(self) -> None:
        self.log_view.follow = True

    def action_wrap(self) -> None:
        self.log_view.wrap = not self.log_view.wrap

    def action_zoom(self) -> None:
        self.views.zoom(self.screen)

    def action_escape(self) -> None:
        self.views.escape(self.focused is self.filter_input)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keys_in_use))

    def set_keymap(self, keymap: Mapping[str, str]) -> None:
        """Rebind keys by binding id (the config file's [keys]); `?` shows the keys as rebound."""
        super().set_keymap(keymap)
        self.keys_in_use = dict(self._normalize_keymap(keymap))

    def action_schedules(self) -> None:
        """Show the recurring schedules with their next run."""
        self.push_screen(SchedulesScreen(self.client, clock=self.clock, tz=self.tz, readonly=self.readonly))

    async def action_mark_all(self) -> None:
        await self.views.mark_all()

    def action_queues(self) -> None:
        """Show every queue with its limits and counts (pause and resume there)."""
        self.push_screen(QueuesScreen(self.client, readonly=self.readonly))

    def action_fleet(self) -> None:
        """Show every runner (name, host, pid, tags, jobs, heartbeat, state) and the jobs none can take."""
        self.push_screen(FleetScreen(self.client, lambda: self.feed.jobs.values()))

    # ------------------------------------------------------------------------------------ quit
    def running_here(self) -> list[JobId]:
        """Return the jobs the embedded runner holds."""
        return self.quitting.running_here()

    async def action_quit(self) -> None:
        await self.quitting.start()

    def on_key(self, event: events.Key) -> None:
        """Read-only: say why a steering key does nothing (its binding is hidden)."""
        if self.screen_stack:  # a key still queued while the app closes finds no screen
            self.actions.readonly_key(event, main=self.screen is self.screen_stack[0])

    # ---------------------------------------------------------------------------- the palette
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for title, help_text, callback in [*self.actions.commands(), *self.admin.commands()]:
            yield SystemCommand(title, help_text, callback)
        for title, help_text, action in PALETTE:
            yield SystemCommand(title, help_text.format(sort=self.view.sort), getattr(self, f"action_{action}"))
        # Of Textual's own entries, keep those that mean something here (not screenshot, maximize...).
        yield from (c for c in super().get_system_commands(screen) if c.title in TEXTUAL_COMMANDS)


make_app = JobtuiApp
"""Build the app (`make_app(client, readonly=..., theme=...)`): the one factory for the CLI, the Pilot tests,
the snapshots and the screenshots; its options are JobtuiApp's."""
