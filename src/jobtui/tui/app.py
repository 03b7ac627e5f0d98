"""JobtuiApp: the job list, the selected job's detail and log, and keys to steer jobs.

The app reads and steers through the Client only. With an embedded runner (plain `jobtui`), the
runner is a plain asyncio task beside the UI; attached (`jobtui tui --attach`) there is none here,
and requests reach a `jobtui run` process through the database.

This module composes the screen and keeps it fresh (polling, selection, views); the status line
is `status_bar`, the job actions `actions`, quitting `quit`, and the CLI's entry point `launch`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
from collections.abc import Iterable, Sequence
from datetime import tzinfo
from pathlib import Path, PurePath
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label

import jobtui

from ..client import Client
from ..errors import JobtuiError, UsageError
from ..model import ACTIVE, Action, Job, JobDetail, JobId, Stats, now_ms
from . import settings as _settings
from .actions import JOB_ACTIONS, JobActions
from .alerts import Alert, coalesce, end_alerts, is_quiet
from .background import Background
from .feed import Delta, JobFeed
from .fleet import FleetScreen
from .format import Clock, absolute, clean
from .quit import QuitFlow
from .runner_log import RunnerLog, RunnerLogScreen, RunnerMessage
from .schedules import SchedulesScreen
from .screens import HelpScreen
from .status_bar import StatusBar, StatusInfo
from .themes import ALIASES, DEFAULT, THEMES
from .view import SORTS, JobView, Query
from .widgets.job_detail import JobDetailPane
from .widgets.job_list import JobTable
from .widgets.log_pane import LogView


def styles_dir() -> Path:
    """Return the folder of the .tcss files: inside the package (wheel), else <repo>/styles (editable)."""
    packaged = Path(jobtui.__file__).parent / "styles"
    if packaged.is_dir():
        return packaged
    return Path(jobtui.__file__).resolve().parents[2] / "styles"


POLL_S = 0.5
"""How often the job list reads what changed."""
DELETION_CHECK_S = 15.0
"""How often it compares every id, as a safety net (each poll notices deletions by the ids' signature)."""
STATS_S = 2.0
"""How often it reads the runners' heartbeats (attached)."""
EXTRAS_S = 5.0
"""How often a running job's failed attempts and history are read again when nothing hints they changed."""
QUIET_S = 4.0
"""Completed and cancelled jobs are toasted at most this often (folded into one toast), failures at once."""
DEBOUNCE_S = 0.08
"""Holding j should not read a detail per row passed."""
FREEZE_AT = 1_000
"""From this many jobs, the first load's objects are frozen out of the cyclic garbage collector (gc.freeze)."""
LOG_TAIL = 500
"""Log lines shown at once when a job is selected."""


FILTER_HINT = "words  status:running,failed  type:demo  !word   (enter: keep, esc: clear)"
"""The filter box's placeholder: its syntax and keys."""

_STEERING_KEYS = frozenset({"p", "r", "c", "t", "R", "d", "n"})
"""The keys of the job actions and the new-job form (hidden in read-only mode)."""
_TEXTUAL_COMMANDS = frozenset({"Theme", "Quit", "Keys"})
"""Textual's palette entries jobtui keeps."""


class JobtuiApp(App[int]):
    """Supervise the jobs of one database."""

    CSS_PATH: ClassVar[list[str | PurePath]] = [styles_dir() / "app.tcss"]
    TITLE = "jobtui"
    # Textual declares this one as an instance variable (App.HORIZONTAL_BREAKPOINTS), so no ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Resume"),
        Binding("c", "cancel", "Cancel"),
        Binding("t", "retry", "Retry"),
        Binding("R", "rewind", "Rewind"),
        Binding("d", "delete", "Delete"),
        Binding("n", "new_job", "New"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort", show=False),
        Binding("S", "reverse_sort", "Reverse sort", show=False),
        Binding("F", "failures", "Failures only", show=False),
        Binding("f", "follow", "Follow log", show=False),
        Binding("w", "wrap", "Wrap log", show=False),
        Binding("z", "zoom", "Full screen", show=False),
        Binding("escape", "escape", "Clear", show=False),
        Binding("L", "runner_log", "Runner messages", show=False),
        Binding("C", "schedules", "Schedules", show=False),
        Binding("H", "fleet", "Runners", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

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
        if theme is None and settings is not None:
            saved = _settings.load(settings).get("theme")
            if isinstance(saved, str) and ALIASES.get(saved, saved) in self.available_themes:
                theme = saved
        name = ALIASES.get(theme or DEFAULT, theme or DEFAULT)
        if name not in self.available_themes:
            raise UsageError(f"unknown theme {theme!r} (themes: {', '.join(sorted(self.available_themes))})")
        self.theme = name
        self.feed = JobFeed(client)
        self.view = JobView()
        self.actions = JobActions(self)
        self.quitting = QuitFlow(self)
        self.selected: JobId | None = None
        self.stats: Stats | None = None
        self.background: Background | None = None
        """The detached runner started by "keep them running" on quit."""
        self.runner_error: str | None = None
        self.runner_stopping = False
        self.loaded = asyncio.Event()
        """Set once the first read of the jobs is shown."""
        self._runner_task: asyncio.Task[None] | None = None
        self._ui_gone = False
        self._gc_frozen = False
        self._polling = False
        self._last_ids_check = 0.0
        self._last_stats = 0.0
        self._last_detail = 0.0
        self._last_extras = 0.0
        self._quiet_alerts: list[Alert] = []
        self._last_quiet = float("-inf")
        self._debounce: Timer | None = None
        self._select_pending = False
        self._bindings_signature: tuple[bool | None, ...] = ()
        self.toasts: list[str] = []
        """The messages of recent notifications, newest last (what the user was told)."""
        self._poll_timer: Timer | None = None
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
        if not self.loaded.is_set() or self._select_pending:
            return False
        job_id = self.selected
        if job_id is None:
            return True
        shown = self.detail.detail
        return shown is not None and shown.job.job_id == job_id and self.log_view.job_id == job_id

    def pause_polling(self) -> None:
        """Stop reading the database on a timer (a benchmark or a test then drives refreshes with `poll()`)."""
        if self._poll_timer is not None:
            self._poll_timer.pause()

    def resume_polling(self) -> None:
        """Read the database every POLL_S seconds again."""
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
            yield Input(placeholder=FILTER_HINT, id="filter", compact=True)
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self.runner_log = RunnerLog(self._runner_said, asyncio.get_running_loop()).install()
        self.log_view.border_title = "Log"
        self.detail.show(None, missing="Loading…")
        self.table.focus()
        if self.embedded:
            self._runner_task = asyncio.create_task(self.client.run_embedded(), name="jobtui-embedded-runner")
            self._runner_task.add_done_callback(self._runner_done)
        await self.poll(full=True)
        if self.ui_ok():
            # An empty database (or nothing highlighted yet) posts no Highlighted: say so now, not "Loading…".
            self.update_titles()
            self.bindings_changed()
            if self.selected is None and not self._select_pending:
                await self._load_selected()
        if len(self.feed.jobs) >= FREEZE_AT:
            # The jobs and the widgets just made live as long as the app: keep Python's cyclic garbage
            # collector from walking them again at each full collection (with 10,000 jobs those took
            # 15-180 ms here, the slowest refreshes). What is freed later still goes by reference counts.
            gc.collect()
            gc.freeze()
            self._gc_frozen = True
        self.loaded.set()
        self._poll_timer = self.set_interval(POLL_S, self.poll, name="poll")
        self.set_interval(1.0, self._tick, name="clock")
        self.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        if self.settings is not None:
            _settings.save(self.settings, theme=self.theme)  # --theme is remembered too

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

    def _runner_said(self, message: RunnerMessage) -> None:
        """Toast a warning or error of the runner (the full list: key L)."""
        if self._ui_gone:
            return
        self.notify(f"{message.text}  (L: runner messages)", title="Runner",
                    severity="error" if message.level == "error" else "warning", markup=False, timeout=8)

    def action_runner_log(self) -> None:
        """Show the runner's recent messages."""
        messages = [] if self.runner_log is None else list(self.runner_log.messages)
        self.push_screen(RunnerLogScreen(messages))

    @property
    def runner_alive(self) -> bool:
        """Tell whether the embedded runner runs (started and not finished)."""
        return self._runner_task is not None and not self._runner_task.done()

    def _runner_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not self.runner_stopping:
            self.runner_error = f"{type(error).__name__}: {error}"
            if self._ui_gone:
                return
            self.notify(f"The runner stopped: {self.runner_error}", severity="error", markup=False, timeout=30)
            self.update_status()

    async def stop_runner(self) -> None:
        """Stop the embedded runner: running jobs reach a safe point and go back to queued (or paused)."""
        task = self._runner_task
        if task is None or task.done():
            return
        self.runner_stopping = True
        self.client.stop_embedded()
        self.update_status()
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                raise
        except Exception:
            return

    # ---------------------------------------------------------------------------------- polling
    async def poll(self, *, full: bool = False) -> None:
        """Read what changed, update the rows in place, and refresh the selected job."""
        if self._polling:
            return
        self._polling = True
        try:
            mono = time.monotonic()
            check = full or mono - self._last_ids_check >= DELETION_CHECK_S
            if check:
                self._last_ids_check = mono
            try:
                delta = await self.feed.poll(check_deletions=check and self.feed.watermark is not None)
                if not self.embedded and (full or mono - self._last_stats >= STATS_S):
                    self._last_stats = mono
                    self.stats = await self.client.stats()
            except JobtuiError as e:
                if self.ui_ok():
                    self.update_status(problem=str(e))
                return
            if not self.ui_ok():
                return
            self.apply_delta(delta)
            await self._follow_selected(delta)
            if self.ui_ok():
                self.update_status()
        finally:
            self._polling = False

    def apply_delta(self, delta: Delta) -> None:
        """Show changed, new and deleted jobs; keep the selection and the scroll."""
        if not delta:
            return
        table = self.table
        jobs = self.feed.jobs
        table.note_jobs(jobs[i] for i, before in delta.changed.items() if before is None and i in jobs)
        if self.view.apply(jobs, delta.changed, delta.removed) or (not table.order and self.view.order):
            table.set_order(self.view.order, self.view.index)
        else:
            table.refresh_jobs(delta.changed)
        if delta.removed:
            table.forget_marks(delta.removed)
        alerts = end_alerts(delta.changed, jobs, new_jobs=self.loaded.is_set())
        urgent = [a for a in alerts if not is_quiet(a)]
        self._quiet_alerts += [a for a in alerts if is_quiet(a)]
        for alert in coalesce(urgent):
            self.notify(alert.message, title=alert.title, severity=alert.severity, markup=False, timeout=8)
        if urgent and self.bell_on_end:
            self.bell()
        self._show_quiet_alerts()
        selected = self.selected
        if selected is not None and selected in delta.changed:
            before = delta.changed[selected]
            job = jobs.get(selected)
            if before is None or job is None or before.status != job.status:
                self.bindings_changed()
        elif table.marked and any(i in table.marked for i in delta.changed):
            self.bindings_changed()
        self.update_titles()

    def _show_quiet_alerts(self) -> None:
        """Toast the jobs that completed or were cancelled, in one short toast at most every QUIET_S."""
        mono = time.monotonic()
        if not self._quiet_alerts or mono - self._last_quiet < QUIET_S:
            return
        self._last_quiet = mono
        alerts, self._quiet_alerts = self._quiet_alerts, []
        for alert in coalesce(alerts, limit=1):
            self.notify(alert.message, title=alert.title, severity=alert.severity, markup=False, timeout=QUIET_S - 1)
        if self.bell_on_end:
            self.bell()

    async def _follow_selected(self, delta: Delta) -> None:
        """Refresh the detail and the log of the selected job when it changed or runs."""
        job_id = self.selected
        job = self.selected_job
        if job_id is None or job is None or self._select_pending or not self.ui_ok():
            return
        changed = job_id in delta.changed
        active = job.status in ACTIVE
        mono = time.monotonic()
        want_detail = changed or (active and mono - self._last_detail >= 1.0)
        log = self.log_view
        want_log = (changed or active) and log.job_id == job_id
        if not (want_detail or want_log):
            return
        if want_detail:
            self._last_detail = mono
        # The failed attempts and the history change only with the job's state, counts or stage attempts:
        # re-read them then (or every few seconds), not on each progress tick.
        shown = self.detail.detail
        want_extras = want_detail and (
            shown is None or shown.job.job_id != job_id or _shape(shown.job) != _shape(job)
            or mono - self._last_extras >= EXTRAS_S)
        # Sent together, the reads queue on the connection at once: one hop instead of several.
        reads = await asyncio.gather(
            self.client.detail(job_id) if want_detail else _none(),
            self.client.attempt_errors(job_id) if want_extras else _none(),
            self.client.history(job_id) if want_extras else _none(),
            self.client.logs(job_id, after_id=log.last_id, limit=2000) if want_log else _none(),
            return_exceptions=True,
        )
        _raise_unexpected(reads)
        detail, errors, history, lines = (None if isinstance(r, BaseException) else r for r in reads)
        if (want_detail and not want_extras and isinstance(detail, JobDetail) and shown is not None
                and _stage_shape(detail) != _stage_shape(shown)):
            # A stage attempt ended without a change of the job's row: its failed attempts may be new.
            extras = await asyncio.gather(self.client.attempt_errors(job_id), self.client.history(job_id),
                                          return_exceptions=True)
            _raise_unexpected(extras)
            errors, history = (None if isinstance(r, BaseException) else r for r in extras)
            want_extras = True
        if self.selected != job_id or not self.ui_ok():
            return
        if want_extras and isinstance(errors, list) and isinstance(history, list):
            self._last_extras = mono
        else:
            errors, history = self.detail.errors, self.detail.history
        if isinstance(detail, JobDetail):
            self.detail.show(self._agree(detail), errors, history=history)  # type: ignore[arg-type]
        if isinstance(lines, list) and lines and log.job_id == job_id:
            log.add(lines)  # type: ignore[arg-type]

    def _tick(self) -> None:
        """Once a second: move the clock, the relative times and countdowns (drawing only what is on screen)."""
        if not self.ui_ok():
            return
        self.update_status()
        self._show_quiet_alerts()
        self.table.tick()
        if self.detail.ticking:
            self.detail.rerender()

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
        signature = tuple(self.actions.check(a) for a in (*JOB_ACTIONS, "new_job"))
        if signature != self._bindings_signature:
            self._bindings_signature = signature
            self.refresh_bindings()

    @on(JobTable.Highlighted, "#jobs")
    def _highlighted(self, event: JobTable.Highlighted) -> None:
        self.selected = event.job_id
        self.bindings_changed()
        if self._debounce is not None:
            self._debounce.stop()
        self._select_pending = True
        self._debounce = self.set_timer(DEBOUNCE_S, self._load_selected, name="select")

    @on(JobTable.MarksChanged, "#jobs")
    def _marks_changed(self) -> None:
        self.bindings_changed()
        self.update_titles()

    async def _load_selected(self) -> None:
        self._select_pending = False
        if not self.ui_ok():
            return
        job_id = self.selected
        log = self.log_view
        if job_id is None:
            self.detail.show(None, missing=self._empty_note())
            log.reset(None)
            log.border_title = "Log"
            return
        try:
            detail, errors, history = await asyncio.gather(
                self.client.detail(job_id), self.client.attempt_errors(job_id), self.client.history(job_id))
        except JobtuiError as e:
            self.detail.show(None, missing=str(e))
            return
        if self.selected != job_id or not self.ui_ok():
            return
        self._last_detail = self._last_extras = time.monotonic()
        self.detail.show(self._agree(detail), errors, history=history)
        if log.job_id != job_id:
            try:
                lines = await self.client.logs(job_id, tail=True, limit=LOG_TAIL)
            except JobtuiError:
                return
            if self.selected == job_id and self.ui_ok():
                log.load(job_id, lines)
                log.border_title = f"Log · job {job_id}"

    def _agree(self, detail: JobDetail) -> JobDetail:
        """Make the list and the detail show the same version of the job (the newer of the two reads)."""
        held = self.feed.jobs.get(detail.job.job_id)
        if held is not None and held.updated_at_ms > detail.job.updated_at_ms:
            return dataclasses.replace(detail, job=held)
        if held is not None and held != detail.job:
            self.apply_delta(self.feed.apply([detail.job]))
        return detail

    def _empty_note(self) -> str:
        """Say why no job is shown, and what to do."""
        if not self.feed.jobs:
            return "No jobs yet. Press n to submit one." if not self.readonly else "No jobs yet."
        hints = (["esc clears the filter"] if not self.view.query.empty else []) + (
            ["F shows all jobs again"] if self.view.failures_only else [])
        if hints:
            return f"No job matches. {'; '.join(hints)}."
        return "No job selected."

    def select_job(self, job_id: JobId) -> bool:
        """Highlight a job (if the filter shows it)."""
        return self.table.select(job_id)

    # ------------------------------------------------------------------------------- the header
    def update_status(self, problem: str | None = None) -> None:
        """Redraw the status line."""
        if self._ui_gone:
            return
        task = self._runner_task
        self.status_bar.show(StatusInfo(
            db=self.client.db_path.name,
            counts=self.feed.counts,
            clock=absolute(self.clock(), self.tz, date=False),
            readonly=self.readonly,
            embedded=self.client.runner_state() if self.embedded else None,
            embedded_error=self.runner_error,
            embedded_stopping=self.runner_stopping or (task is not None and task.done()),
            runners=self.stats.runners if self.stats is not None else (),
            problem=problem,
        ))

    def update_titles(self) -> None:
        """Redraw the job list's title: counts, sort, filter, marks."""
        table = self.table
        total = len(self.feed.jobs)
        title = f"Jobs {len(self.view.order)}/{total}" if len(self.view.order) != total else f"Jobs {total}"
        bits = [title, f"sort {self.view.sort} {'↓' if self.view.reverse else '↑'}"]
        if self.view.failures_only:
            bits.append("failures only")
        if not self.view.query.empty:
            bits.append(f"filter {clean(self.view.query.text)}")
        if table.marked:
            bits.append(f"{len(table.marked)} marked")
        table.border_title = Text(" · ".join(bits))  # Text: user text in a title is never markup
        problems = self.view.query.problems
        table.border_subtitle = Text(clean("; ".join(problems))) if problems else None

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

    async def act(self, action: Action, ids: Iterable[JobId] | None = None, *, to_stage: str | None = None) -> None:
        """Send `action` to jobs now (see JobActions.act)."""
        await self.actions.act(action, ids, to_stage=to_stage)

    async def refresh_selected(self, delta: Delta) -> None:
        """Read the selected job's detail and log again now (an action changed it)."""
        self._last_detail = self._last_extras = 0.0
        await self._follow_selected(delta)

    # ------------------------------------------------------------------------------------ views
    def action_filter(self) -> None:
        self.query_one("#filter-bar").remove_class("hidden")
        self.filter_input.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.set_view(query=Query.parse(event.value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#filter-bar").add_class("hidden")
        self.table.focus()

    def set_view(self, *, query: Query | None = None, sort: str | None = None, reverse: bool | None = None,
                 failures_only: bool | None = None) -> None:
        """Change the filter or the order; the highlighted job stays highlighted if still shown."""
        v = self.view
        if query is not None:
            v.query = query
        if sort is not None:
            v.sort = sort
        if reverse is not None:
            v.reverse = reverse
        if failures_only is not None:
            v.failures_only = failures_only
        v.rebuild(self.feed.jobs)
        self.table.set_order(v.order, v.index)
        self.update_titles()

    def action_sort(self) -> None:
        names = list(SORTS)
        nxt = names[(names.index(self.view.sort) + 1) % len(names)]
        self.set_view(sort=nxt)
        self.notify(f"Sorted by {nxt}", timeout=2)

    def action_reverse_sort(self) -> None:
        self.set_view(reverse=not self.view.reverse)

    def action_failures(self) -> None:
        on_ = not self.view.failures_only
        self.set_view(failures_only=on_)
        self.notify("Failures only" if on_ else "All jobs", timeout=2)

    def action_follow(self) -> None:
        self.log_view.follow = True

    def action_wrap(self) -> None:
        self.log_view.wrap = not self.log_view.wrap

    def action_zoom(self) -> None:
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
        elif screen.focused is not None:
            target = self.table if screen.focused is self.filter_input else screen.focused
            screen.maximize(target, container=False)

    def action_escape(self) -> None:
        box = self.filter_input
        if self.focused is box or (not self.table.marked and not self.view.query.empty):
            box.value = ""
            self.query_one("#filter-bar").add_class("hidden")
            self.set_view(query=Query())
            self.table.focus()
        elif self.table.marked:
            self.table.clear_marks()
            self.update_titles()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_schedules(self) -> None:
        """Show the recurring schedules with their next run."""
        self.push_screen(SchedulesScreen(self.client, clock=self.clock, tz=self.tz))

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
        if self.readonly and event.key in _STEERING_KEYS and self.screen is self.screen_stack[0]:
            what = "new jobs" if event.key == "n" else "job actions"
            self.notify(f"Read-only (--readonly): {what} are off. Open jobtui without --readonly to steer.",
                        severity="warning", timeout=4)
            event.stop()

    # ---------------------------------------------------------------------------- the palette
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for title, help_text, callback in self.actions.commands():
            yield SystemCommand(title, help_text, callback)
        yield SystemCommand("Filter", "Filter the jobs (words, status:, type:)", self.action_filter)
        yield SystemCommand("Sort", f"Next sort order (now {self.view.sort})", self.action_sort)
        yield SystemCommand("Failures only", "Show only failed jobs, or all again", self.action_failures)
        yield SystemCommand("Follow log", "Follow the log's tail again", self.action_follow)
        yield SystemCommand("Wrap log", "Wrap long log lines, or not", self.action_wrap)
        yield SystemCommand("Runners", "Every runner: host, tags, jobs, heartbeat, state", self.action_fleet)
        yield SystemCommand("Help", "Every key and status", self.action_help)
        # Of Textual's own entries, keep those that mean something here (not screenshot, maximize...).
        for command in super().get_system_commands(screen):
            if command.title in _TEXTUAL_COMMANDS:
                yield command


async def _none() -> None:
    return None


def _raise_unexpected(results: Sequence[object]) -> None:
    """Re-raise what a gathered read raised unless it is a JobtuiError (shown as 'gone' or a problem)."""
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, JobtuiError):
            raise r


def _shape(job: Job) -> tuple[object, ...]:
    """Return what changes when a job's failed attempts or history may have changed (not its progress)."""
    return (job.status, job.retry_count, job.resume_count, job.recovery_count, job.current_step_index,
            job.failed_step, job.error_message, job.pause_reason, job.next_retry_at_ms)


def _stage_shape(detail: JobDetail) -> tuple[tuple[object, ...], ...]:
    """Return the stages' attempt counters: a failed attempt changes them even when the job's row does not."""
    return tuple((s.status, s.attempts, s.failures) for s in detail.stages)


def make_app(
    client: Client,
    *,
    readonly: bool = False,
    clock: Clock = now_ms,
    tz: tzinfo | None = None,
    theme: str | None = None,
    apps: Sequence[str] = (),
    bell: bool = True,
    settings: Path | None = None,
) -> JobtuiApp:
    """Build the app: the one factory for the CLI, the Pilot tests, the snapshots and the screenshots.

    Args:
        client: the open Client (the app never closes it). With an embedded runner
            (`client.embedded_runner()`), the app starts it on mount and stops it on quit;
            without, it watches a `jobtui run`.
        readonly: show jobs, steer nothing.
        clock: epoch ms for relative times (fixed in snapshots).
        tz: the time zone of absolute times (default: local).
        theme: a theme name (jobtui-dark, jobtui-light, or any Textual theme).
        apps: the --app modules, passed on to a background runner.
        bell: ring the terminal bell when a job ends or auto-pauses (a toast shows either way).
        settings: the file that remembers the theme (see `settings.settings_path`); None: none.
    """
    return JobtuiApp(client, readonly=readonly, clock=clock, tz=tz, theme=theme, apps=apps, bell=bell,
                     settings=settings)
