"""JobtuiApp: the job list, the selected job's detail and log, and keys to steer jobs.

The app reads and steers through the Client only. With an embedded runner (plain `jobtui`), the
runner is a plain asyncio task beside the UI; attached (`jobtui tui --attach`) there is none here,
and requests reach a `jobtui run` process through the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Static

import jobtui

from ..client import Client
from ..engine.runner import Runner
from ..errors import JobtuiError, UsageError
from ..model import ACTIVE, Action, Job, JobDetail, JobId, JobStatus, Stats, action_applies, now_ms
from .feed import Delta, JobFeed
from .format import STATUS_GLYPH, Clock, absolute, clean
from .screens import ConfirmScreen, HelpScreen, NewJobScreen, QuitScreen, RewindScreen
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
DELETION_CHECK_S = 3.0
"""How often it looks for jobs deleted by another process."""
STATS_S = 2.0
"""How often it reads the runners' heartbeats (attached)."""
DEBOUNCE_S = 0.08
"""Holding j should not read a detail per row passed."""
LOG_TAIL = 500
"""Log lines shown at once when a job is selected."""

JOB_ACTIONS: dict[str, Action] = {
    "pause": Action.PAUSE, "resume": Action.RESUME, "cancel": Action.CANCEL, "retry": Action.RETRY,
    "rewind": Action.REWIND, "delete": Action.DELETE,
}
BULK = {"pause", "resume", "cancel", "retry", "delete"}
_HEADER_ORDER = ("running", "pausing", "cancelling", "waiting_retry", "queued", "blocked", "paused", "failed", "cancelled",
                 "completed")
_HEADER_WORD = {"waiting_retry": "retry", "completed": "done"}
_PAST = {Action.PAUSE: "pause requested", Action.RESUME: "resumed", Action.CANCEL: "cancel requested",
         Action.RETRY: "retry queued", Action.REWIND: "rewound", Action.DELETE: "deleted"}


@dataclass(frozen=True, slots=True)
class Background:
    """The detached `jobtui run` that took over this window's jobs."""

    pid: int
    log: Path
    process: subprocess.Popen[bytes]


class StatusBar(Static):
    """One line on top: database, runner health, counts by status, clock."""

    COMPONENT_CLASSES = {"statusbar--title", "statusbar--dim", "statusbar--good", "statusbar--bad",
                         *(f"statusbar--{s.value}" for s in JobStatus)}


class JobtuiApp(App[int]):
    """Supervise the jobs of one database."""

    CSS_PATH = [styles_dir() / "app.tcss"]
    TITLE = "jobtui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
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
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        client: Client,
        *,
        runner: Runner | None = None,
        readonly: bool = False,
        clock: Clock = now_ms,
        tz: tzinfo | None = None,
        theme: str | None = None,
        apps: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.client = client
        self.runner = runner
        self.readonly = readonly
        self.clock = clock
        self.tz = tz
        self.apps = tuple(apps)
        if runner is not None and client.runner is None:
            client.runner = runner
        for t in THEMES:
            self.register_theme(t)
        name = ALIASES.get(theme or DEFAULT, theme or DEFAULT)
        if name not in self.available_themes:
            raise UsageError(f"unknown theme {theme!r} (themes: {', '.join(sorted(self.available_themes))})")
        self.theme = name
        self.feed = JobFeed(client)
        self.view = JobView()
        self.selected: JobId | None = None
        self.stats: Stats | None = None
        self.background: Background | None = None
        self.runner_error: str | None = None
        self._runner_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ui_gone = False
        self._loaded = asyncio.Event()
        self._polling = False
        self._last_ids_check = 0.0
        self._last_stats = 0.0
        self._last_detail = 0.0
        self._debounce: Timer | None = None
        self._select_pending = False
        self._bindings_signature: tuple[bool | None, ...] = ()
        self.toasts: list[str] = []
        """The messages of recent notifications, newest last (what the user was told)."""
        self._poll_timer: Timer | None = None

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Show a toast, and remember its text."""
        self.toasts = [*self.toasts[-49:], message]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _ui_ok(self) -> bool:
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
    def selected_job(self) -> Job | None:
        """Return the highlighted job."""
        return None if self.selected is None else self.feed.jobs.get(self.selected)

    # ------------------------------------------------------------------------------- lifecycle
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="jobs-pane"):
                with Horizontal(id="filter-bar", classes="hidden"):
                    yield Label("/", id="filter-label")
                    yield Input(placeholder="words  status:running,failed  type:demo  !word   (enter: keep, esc: clear)",
                                id="filter", compact=True)
                yield JobTable(self.feed.jobs, clock=self.clock, id="jobs")
            with Vertical(id="right"):
                yield JobDetailPane(clock=self.clock, tz=self.tz, id="detail")
                yield LogView(tz=self.tz, id="log")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self.log_view.border_title = "Log"
        self.detail.show(None, missing="Loading…")
        self.table.focus()
        if self.runner is not None:
            self._runner_task = asyncio.create_task(self.runner.run(), name="jobtui-embedded-runner")
            self._runner_task.add_done_callback(self._runner_done)
        await self.poll(full=True)
        self._loaded.set()
        self._poll_timer = self.set_interval(POLL_S, self.poll, name="poll")
        self.set_interval(1.0, self._tick, name="clock")
        self.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())

    async def on_unmount(self) -> None:
        self._ui_gone = True
        await self.stop_runner()

    def _runner_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not self._stopping:
            self.runner_error = f"{type(error).__name__}: {error}"
            if self._ui_gone:
                return
            self.notify(f"The runner stopped: {self.runner_error}", severity="error", markup=False, timeout=30)
            self._update_status()

    async def stop_runner(self) -> None:
        """Stop the embedded runner: running jobs reach a safe point and go back to queued (or paused)."""
        task = self._runner_task
        if task is None or task.done() or self.runner is None:
            return
        self._stopping = True
        self.runner.stop()
        self._update_status()
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                raise
        except Exception:  # noqa: BLE001 - _runner_done has shown it to the user
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
                if self.runner is None and (full or mono - self._last_stats >= STATS_S):
                    self._last_stats = mono
                    self.stats = await self.client.stats()
            except JobtuiError as e:
                if self._ui_ok():
                    self._update_status(problem=str(e))
                return
            if not self._ui_ok():
                return
            self.apply_delta(delta)
            await self._follow_selected(delta)
            if self._ui_ok():
                self._update_status()
        finally:
            self._polling = False

    def apply_delta(self, delta: Delta) -> None:
        """Show changed, new and deleted jobs; keep the selection and the scroll."""
        if not delta:
            return
        table = self.table
        jobs = self.feed.jobs
        table.note_jobs(jobs[i] for i, before in delta.changed.items() if before is None and i in jobs)
        if self.view.apply(jobs, delta.changed, delta.removed) or not table.order and self.view.order:
            table.set_order(self.view.order, self.view.index)
        else:
            table.refresh_jobs(delta.changed)
        if delta.removed:
            table.forget_marks(delta.removed)
        selected = self.selected
        if selected is not None and selected in delta.changed:
            before = delta.changed[selected]
            job = jobs.get(selected)
            if before is None or job is None or before.status != job.status:
                self._bindings_changed()
        elif table.marked and any(i in table.marked for i in delta.changed):
            self._bindings_changed()
        self._update_titles()

    async def _follow_selected(self, delta: Delta) -> None:
        """Refresh the detail and the log of the selected job when it changed or runs."""
        job_id = self.selected
        job = self.selected_job
        if job_id is None or job is None or self._select_pending or not self._ui_ok():
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
        # Sent together, the reads queue on the connection at once: one hop instead of three.
        reads = await asyncio.gather(
            self.client.detail(job_id) if want_detail else _none(),
            self.client.attempt_errors(job_id) if want_detail else _none(),
            self.client.logs(job_id, after_id=log.last_id, limit=2000) if want_log else _none(),
            return_exceptions=True,
        )
        for r in reads:
            if isinstance(r, BaseException) and not isinstance(r, JobtuiError):
                raise r
        detail, errors, lines = (None if isinstance(r, BaseException) else r for r in reads)
        if self.selected != job_id or not self._ui_ok():
            return
        if isinstance(detail, JobDetail) and isinstance(errors, list):
            self.detail.show(detail, errors)  # type: ignore[arg-type]
        if isinstance(lines, list) and lines and log.job_id == job_id:
            log.add(lines)  # type: ignore[arg-type]

    def _tick(self) -> None:
        """Once a second: move the clock, the relative times and countdowns (drawing only what is on screen)."""
        if not self._ui_ok():
            return
        self._update_status()
        self.table.tick()
        if self.detail.ticking:
            self.detail.rerender()

    def _restyle(self) -> None:
        self.detail.rerender()
        self._update_status()
        self.table.refresh()
        self.log_view.refresh()

    # -------------------------------------------------------------------------------- selection
    def _bindings_changed(self) -> None:
        """Refresh the footer only when the set of applicable actions changed (a footer rebuild costs a layout)."""
        signature = tuple(self.check_action(a, ()) for a in (*JOB_ACTIONS, "new_job"))
        if signature != self._bindings_signature:
            self._bindings_signature = signature
            self.refresh_bindings()

    @on(JobTable.Highlighted, "#jobs")
    def _highlighted(self, event: JobTable.Highlighted) -> None:
        self.selected = event.job_id
        self._bindings_changed()
        if self._debounce is not None:
            self._debounce.stop()
        self._select_pending = True
        self._debounce = self.set_timer(DEBOUNCE_S, self._load_selected, name="select")

    @on(JobTable.MarksChanged, "#jobs")
    def _marks_changed(self) -> None:
        self._bindings_changed()
        self._update_titles()

    async def _load_selected(self) -> None:
        self._select_pending = False
        if not self._ui_ok():
            return
        job_id = self.selected
        log = self.log_view
        if job_id is None:
            self.detail.show(None, missing="No jobs here." if self.feed.jobs else "No jobs yet. Press n to submit one.")
            log.reset(None)
            log.border_title = "Log"
            return
        try:
            detail = await self.client.detail(job_id)
            errors = await self.client.attempt_errors(job_id)
        except JobtuiError as e:
            self.detail.show(None, missing=str(e))
            return
        if self.selected != job_id or not self._ui_ok():
            return
        self._last_detail = time.monotonic()
        self.detail.show(detail, errors)
        if log.job_id != job_id:
            try:
                lines = await self.client.logs(job_id, tail=True, limit=LOG_TAIL)
            except JobtuiError:
                return
            if self.selected == job_id and self._ui_ok():
                log.load(job_id, lines)
                log.border_title = f"Log · job {job_id}"

    def select_job(self, job_id: JobId) -> bool:
        """Highlight a job (if the filter shows it)."""
        return self.table.select(job_id)

    # ------------------------------------------------------------------------------- the header
    def _update_status(self, problem: str | None = None) -> None:
        if self._ui_gone:
            return
        bar = self.status_bar
        style = bar.get_component_rich_style
        dim = style("statusbar--dim", partial=True)
        width = bar.size.width or 120
        clock = absolute(self.clock(), self.tz, date=False)
        counts = self.feed.counts
        shown = [(s, counts[s]) for s in _HEADER_ORDER if counts.get(s)]

        def counts_text(words: bool) -> Text:
            out = Text()
            if not shown:
                out.append("no jobs", style=dim)
            for i, (s, n) in enumerate(shown):
                word = f" {_HEADER_WORD.get(s, s)}" if words else ""
                out.append(f"{'  ' if i else ''}{STATUS_GLYPH[s]} {n}{word}",
                           style=style(f"statusbar--{s}", partial=True))
            return out

        def line(db: bool, words: bool, hint: bool) -> Text:
            text = Text(no_wrap=True, overflow="ellipsis", end="")
            text.append(" jobtui ", style=style("statusbar--title", partial=True))
            if db:
                text.append(f" {self.client.db_path.name}", style=dim)
            text.append(" · ")
            text.append_text(self._runner_text(hint))
            if self.readonly:
                text.append(" · read-only", style=style("statusbar--bad", partial=True))
            text.append("  │  ")
            text.append_text(counts_text(words))
            if problem:
                text.append(f" ⚠ {clean(problem)}", style=style("statusbar--bad", partial=True))
            return text

        tiers = ((True, True, True), (True, True, False), (False, True, False), (True, False, False), (False, False, False))
        for db, words, hint in tiers:
            text = line(db, words, hint)
            if text.cell_len + len(clock) + 1 <= width:
                break
        pad = width - text.cell_len - len(clock) - 1
        if pad > 0:
            text.append(" " * pad)
            text.append(clock + " ", style=dim)
        bar.update(text, layout=False)

    def _runner_text(self, hint: bool = True) -> Text:
        style = self.status_bar.get_component_rich_style
        good = style("statusbar--good", partial=True)
        bad = style("statusbar--bad", partial=True)
        dim = style("statusbar--dim", partial=True)
        if self.runner is not None:
            task = self._runner_task
            if self.runner_error:
                return Text(f"runner ✗ stopped: {clean(self.runner_error)}", style=bad)
            if self._stopping or (task is not None and task.done()):
                return Text("runner ◌ stopping", style=dim)
            return Text.assemble(("runner ● ", good),
                                 (f"here · {len(self.runner.runs)}/{self.runner.concurrency} busy", dim))
        runners = self.stats.runners if self.stats is not None else ()
        if not runners:
            return Text("runner ○ none" + (": jobs wait for `jobtui run`" if hint else ""), style=bad)
        if len(runners) == 1:
            r = runners[0]
            return Text.assemble(("runner ● ", good), (f"pid {r.pid} · {r.concurrency} slots", dim))
        return Text.assemble(("runners ● ", good), (f"{len(runners)} up · {sum(r.concurrency for r in runners)} slots", dim))

    def _update_titles(self) -> None:
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
    def _targets(self) -> list[Job]:
        """Return the marked jobs, else the highlighted one."""
        jobs = self.feed.jobs
        marked = self.table.marked
        if marked:
            return [jobs[i] for i in sorted(marked) if i in jobs]
        job = self.selected_job
        return [job] if job is not None else []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in JOB_ACTIONS:
            if self.readonly:
                return False
            try:
                targets = self._targets()
            except NoMatches:  # asked before the widgets exist
                return None
            if action == "rewind" and self.table.marked:
                return False
            if not targets:
                return None
            return any(action_applies(JOB_ACTIONS[action], j.status) for j in targets)
        if action == "new_job":
            return not self.readonly
        return True

    def action_pause(self) -> None:
        self.act_soon(Action.PAUSE)

    def action_resume(self) -> None:
        self.act_soon(Action.RESUME)

    def action_retry(self) -> None:
        self.act_soon(Action.RETRY)

    def act_soon(self, action: Action, ids: Iterable[JobId] | None = None, *, to_stage: str | None = None) -> None:
        """Send requests without blocking the keys: a bulk action on many jobs takes many transactions."""
        targets = list(ids) if ids is not None else None
        self.run_worker(self.act(action, targets, to_stage=to_stage), group="act", name=f"{action.value}")

    def action_cancel(self) -> None:
        self._confirm(Action.CANCEL, "Cancel", "It stops at once; its checkpoints are kept and r resumes it.",
                      yes="Cancel it", no="Keep it")

    def action_delete(self) -> None:
        self._confirm(Action.DELETE, "Delete", "Its items, log and workspace are removed. This cannot be undone.",
                      yes="Delete", no="Keep it")

    def _confirm(self, action: Action, verb: str, consequence: str, *, yes: str, no: str) -> None:
        targets = [j for j in self._targets() if action_applies(action, j.status)]
        if not targets:
            self.notify(f"Nothing to {verb.lower()} here.", severity="warning")
            return
        if len(targets) == 1:
            j = targets[0]
            message = Text(f"{verb} job {j.job_id} ({clean(j.type)}, {j.status.value})?\n\n{consequence}")
            title = f"{verb} job {j.job_id}?"
        else:
            listed = ", ".join(str(j.job_id) for j in targets[:12]) + (" …" if len(targets) > 12 else "")
            message = Text(f"{verb} {len(targets)} jobs ({listed})?\n\n{consequence}")
            title = f"{verb} {len(targets)} jobs?"
        ids = [j.job_id for j in targets]

        def answered(ok: bool | None) -> None:
            if ok:
                self.act_soon(action, ids)

        self.push_screen(ConfirmScreen(title, message, yes=yes, no=no), answered)

    async def action_rewind(self) -> None:
        job = self.selected_job
        if job is None or self.readonly or not action_applies(Action.REWIND, job.status):
            return
        try:
            detail = await self.client.detail(job.job_id)
        except JobtuiError as e:
            self.notify(str(e), severity="error", markup=False)
            return

        def chosen(stage: str | None) -> None:
            if stage:
                self.act_soon(Action.REWIND, [job.job_id], to_stage=stage)

        self.push_screen(RewindScreen(detail), chosen)

    async def act(self, action: Action, ids: Iterable[JobId] | None = None, *, to_stage: str | None = None) -> None:
        """Send one request to each target job, show the outcome as a toast, and update the rows at once."""
        if self.readonly:
            return
        bulk = bool(self.table.marked)
        targets = [self.feed.jobs[i] for i in ids if i in self.feed.jobs] if ids is not None else self._targets()
        applicable = [j for j in targets if action_applies(action, j.status)]
        skipped = len(targets) - len(applicable)
        done: list[str] = []
        failed: list[str] = []
        delta = Delta()
        for job in applicable:
            try:
                r = await self.client.control(job.job_id, action, to_stage=to_stage)
            except JobtuiError as e:
                failed.append(str(e))
                continue
            if not self._ui_ok():
                return
            if r.after is None:
                delta.merge(self.feed.forget(job.job_id))
                done.append(f"job {job.job_id}: deleted")
            else:
                try:
                    delta.merge(self.feed.apply([await self.client.job(job.job_id)]))
                except JobtuiError:
                    pass
                extra = f" from {to_stage}" if action is Action.REWIND and to_stage else ""
                done.append(f"job {job.job_id}: {r.before.value} → {r.after.value}{extra}")
        if not self._ui_ok():
            return
        self.apply_delta(delta)
        if len(done) == 1 and not skipped:
            self.notify(done[0], title=_PAST[action].capitalize(), markup=False)
        elif done:
            note = f"{len(done)} jobs {_PAST[action]}" + (f"; {skipped} skipped (not applicable)" if skipped else "")
            self.notify(note, title=action.value.capitalize(), markup=False)
        elif not failed:
            self.notify(f"Nothing to {action.value}: no selected job allows it.", severity="warning")
        for message in failed[:3]:
            self.notify(message, severity="error", markup=False)
        if bulk and done:
            self.table.clear_marks()
        self._bindings_changed()
        if self.selected in delta.changed:
            self._last_detail = 0.0
            await self._follow_selected(delta)

    def action_new_job(self) -> None:
        if self.readonly:
            return

        async def submitted(job_id: JobId | None) -> None:
            if job_id is None:
                return
            try:
                job = await self.client.job(job_id)
            except JobtuiError:
                return
            self.apply_delta(self.feed.apply([job]))
            self.select_job(job_id)
            self.notify(f"job {job_id} ({clean(job.type)}) queued", title="Submitted", markup=False)

        self.push_screen(NewJobScreen(self.client), submitted)

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
        self._update_titles()

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
            self._update_titles()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # ------------------------------------------------------------------------------------ quit
    def running_here(self) -> list[JobId]:
        """Return the jobs the embedded runner holds."""
        if self.runner is None or self._runner_task is None or self._runner_task.done():
            return []
        return list(self.runner.runs)

    async def action_quit(self) -> None:
        running = self.running_here()
        if not running:
            await self.stop_runner()
            self.exit(0)
            return

        def chosen(choice: str | None) -> None:
            if choice is not None:
                self.run_worker(self.quit_with(choice), name="quit", exclusive=True)

        self.push_screen(QuitScreen(len(running)), chosen)

    async def quit_with(self, choice: str) -> None:
        """Quit, doing `choice` with the running jobs: 'keep' (background runner), 'pause' or 'stop'."""
        if choice == "pause":
            for job_id in self.running_here():
                try:
                    await self.client.pause(job_id)
                except JobtuiError:
                    pass  # it finished meanwhile
        self.notify("Bringing running jobs to a safe point…", timeout=30)
        await self.stop_runner()
        if choice == "keep":
            try:
                self.background = spawn_runner(self.client.db_path, self.apps,
                                               self.runner.concurrency if self.runner else 4)
            except OSError as e:
                self.notify(f"Could not start a background runner: {e}", severity="error", markup=False)
                self._stopping = False
                return
        self.exit(0)

    # ---------------------------------------------------------------------------- the palette
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        job = self.selected_job
        subject = f"job {job.job_id}" if job is not None else "the job"
        if self.table.marked:
            subject = f"{len(self.table.marked)} marked jobs"
        commands = [
            ("pause", "Pause", f"Pause {subject} at its next safe point", self.action_pause),
            ("resume", "Resume", f"Resume {subject} from its last checkpoint", self.action_resume),
            ("cancel", "Cancel", f"Cancel {subject} (asks first)", self.action_cancel),
            ("retry", "Retry", f"Retry {subject} now", self.action_retry),
            ("rewind", "Rewind", f"Run {subject} again from a stage", self.action_rewind),
            ("delete", "Delete", f"Delete {subject} (asks first)", self.action_delete),
            ("new_job", "New job", "Submit a job: choose its type and params", self.action_new_job),
        ]
        for action, title, help_text, callback in commands:
            if self.check_action(action, ()):
                yield SystemCommand(f"{title} {subject}" if action in JOB_ACTIONS else title, help_text, callback)
        yield SystemCommand("Filter", "Filter the jobs (words, status:, type:)", self.action_filter)
        yield SystemCommand("Sort", f"Next sort order (now {self.view.sort})", self.action_sort)
        yield SystemCommand("Failures only", "Show only failed jobs, or all again", self.action_failures)
        yield SystemCommand("Follow log", "Follow the log's tail again", self.action_follow)
        yield SystemCommand("Wrap log", "Wrap long log lines, or not", self.action_wrap)
        yield SystemCommand("Help", "Every key and status", self.action_help)
        yield from super().get_system_commands(screen)


async def _none() -> None:
    return None


HANGUP_GRACE_S = 3.0
"""After a hangup and the jobs handed back, how long the UI may take to close before the process just exits."""


async def _leave_after_hangup(app: JobtuiApp, client: Client) -> None:
    """Exit for sure once the jobs are handed back: with the terminal gone, closing the UI can block forever."""
    try:
        await app.stop_runner()
        await asyncio.sleep(HANGUP_GRACE_S)
    finally:
        try:
            await asyncio.wait_for(client.close(), 5)
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - leaving regardless
            pass
        os._exit(0)


def spawn_runner(db: Path, apps: Sequence[str], concurrency: int) -> Background:
    """Start a detached `jobtui run` on `db` that outlives this process; its output goes beside the db."""
    log = db.parent / f"{db.stem}.runner.log"
    cmd = [sys.executable, "-m", "jobtui", "run", "--db", str(db), "--concurrency", str(concurrency)]
    for module in apps:
        cmd += ["--app", module]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            close_fds=True,
        )
    return Background(process.pid, log, process)


def make_app(
    client: Client,
    *,
    runner: Runner | None = None,
    readonly: bool = False,
    clock: Clock = now_ms,
    tz: tzinfo | None = None,
    theme: str | None = None,
    apps: Sequence[str] = (),
) -> JobtuiApp:
    """Build the app: the one factory for the CLI, the Pilot tests, the snapshots and the screenshots.

    Args:
        client: the open Client (the app never closes it).
        runner: an embedded Runner to start on mount and stop on quit; None to watch a `jobtui run`.
        readonly: show jobs, steer nothing.
        clock: epoch ms for relative times (fixed in snapshots).
        tz: the time zone of absolute times (default: local).
        theme: a theme name (jobtui-dark, jobtui-light, or any Textual theme).
        apps: the --app modules, passed on to a background runner.
    """
    return JobtuiApp(client, runner=runner, readonly=readonly, clock=clock, tz=tz, theme=theme, apps=apps)


async def run_tui(client: Client, args: argparse.Namespace, *, demo: bool) -> int:
    """Open the TUI for the CLI (`jobtui`, `jobtui tui`, `jobtui demo`) and return the exit status."""
    from ..seed import seed_demo

    attach = bool(getattr(args, "attach", False))
    readonly = bool(getattr(args, "readonly", False))
    concurrency = int(getattr(args, "concurrency", 4) or 4)
    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    apps = list(getattr(args, "app", None) or [])
    if demo:
        await seed_demo(client)
    runner = None
    if not attach and not readonly:
        runner = await client.embedded_runner(concurrency=concurrency)
    app = make_app(client, runner=runner, readonly=readonly, theme=getattr(args, "theme", None), apps=apps)
    loop = asyncio.get_running_loop()

    leaving: list[asyncio.Task[None]] = []

    def stop(hangup: bool) -> None:
        # SIGTERM, or the terminal / SSH connection is gone (SIGHUP): hand the jobs back at a checkpoint, leave.
        if runner is not None:
            runner.stop()
        app.exit(0)
        if hangup and not leaving:
            leaving.append(asyncio.create_task(_leave_after_hangup(app, client), name="jobtui-hangup"))

    handled = []
    for sig, hangup in ((signal.SIGHUP, True), (signal.SIGTERM, False)):
        try:
            loop.add_signal_handler(sig, stop, hangup)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        code = await app.run_async()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await app.stop_runner()
    if app.background is not None:
        bg = app.background
        print(f"jobtui: jobs keep running in a background runner (pid {bg.pid}; log {bg.log})", file=sys.stderr)
    return code if isinstance(code, int) else 0
