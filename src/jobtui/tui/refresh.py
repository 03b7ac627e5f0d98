"""Refresher: keeps the screen fresh: polls what changed, toasts job ends, follows the selected job's detail and log.

A poll costs what changed, not what exists (issue 18): it first asks the store whether anything was
committed (`JobFeed.poll`, one cheap read) and stops there when not; so it can run often (POLL_S), and a
change reaches the screen within a few tens of milliseconds. When something changed it reads the list's
window again (count, window, the highlighted job's place), then at most every BUSY_GAP_S while changes
keep coming, so that a busy database does not keep the app busy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence

from ..errors import JobtuiError
from ..model import ACTIVE, Job, JobDetail, JobId, Stats
from .alerts import Alert, coalesce, end_alerts, is_quiet, summarise
from .feed import Delta
from .host import AppHost
from .wake import FileWake

POLL_S = 0.5
"""How often the job list reads what changed in any case (the runners' heartbeats; a safety net)."""
WATCH_S = 0.025
"""How often it asks whether anything was committed (one cheap read, in a plain asyncio task: no Textual
timer's message per tick); when something was, it polls at once."""
WAKE_SAFETY_S = 0.5
"""With a FileWake, the token is also read this often (a write whose wake was missed)."""
WAKE_LAG_S = 0.5
"""After a wake with the token unmoved, it is read again until this long after the last wake: at each further
wake, and at growing steps (2, 4, 8 ... 32 ms: ~20 reads of ~20 us after a write that commits nothing). A
commit's last WAL write wakes the watcher before the WAL index shows the commit, and between the two the
writer syncs the WAL (tens of ms under load, more at times). Giving up after 6 ms, a change waited for the
safety timer (up to WAKE_SAFETY_S) about one time in five at load 8-12."""
BUSY_GAP_S = 0.1
"""After a poll that drew changed rows, the next one waits at least this long (at most ten refreshes a
second). A poll that found no row changed (a runner's heartbeat) sets no gap: the next change shows at once."""
MARGIN = 12
"""Rows read above and below those on screen."""
STATS_S = 2.0
"""How often it reads the runners' heartbeats (attached)."""
EXTRAS_S = 5.0
"""How often a running job's failed attempts and history are read again when nothing hints they changed."""
QUIET_S = 4.0
"""Completed and cancelled jobs are toasted at most this often (folded into one toast), failures at once."""
BELL_S = 8.0
"""The bell rings at most once in this many seconds."""
LOG_TAIL = 500
"""Log lines shown at once when a job is selected."""


class Refresher:
    """Read what changed on a timer and show it: the rows, the alerts, the selected job's detail and log."""

    def __init__(self, app: AppHost) -> None:
        self.app = app
        self.pending = False
        """A selection waits for its debounce (the screen is not settled)."""
        self._polling = asyncio.Lock()
        self.paused = False
        """Polling is paused (a benchmark or a test drives it)."""
        self._next_at = 0.0
        self._reload_lock = asyncio.Lock()
        self._last_stats = 0.0
        self._last_detail = 0.0
        self._last_extras = 0.0
        self._quiet_alerts: list[Alert] = []
        self._last_quiet = float("-inf")
        self._held: list[Alert] = []
        """Urgent alerts met while a dialog was shown: toasted when it closes."""
        self._last_bell = float("-inf")
        self._opened_ms = app.client.now_ms()
        """Jobs that ended before the app opened are no news: no toast, no bell."""

    async def watch(self) -> None:
        """Poll as soon as the store's change token moves (the app's task from mount to unmount).

        With a FileWake (a SQLite file, on Linux) the token is read when the database is written, at once;
        otherwise every WATCH_S.
        """
        wake = FileWake.open(self.app.client.location) if self.app.client.is_file_db else None
        try:
            while True:
                if wake is None:
                    await asyncio.sleep(WATCH_S)  # sleep: the cadence of the token's checks
                    woke = False
                else:
                    woke = await wake.wait(WAKE_SAFETY_S)
                if self.paused:
                    continue
                gap = self._next_at - time.monotonic()
                if gap > 0:
                    await asyncio.sleep(gap)  # sleep: at most one refresh per BUSY_GAP_S while changes keep coming
                await self._poll_if_moved(wake if woke else None)
        finally:
            if wake is not None:
                wake.close()

    async def _poll_if_moved(self, wake: FileWake | None) -> None:
        """Poll if the change token moved. After a wake (`wake`), when it did not move yet, look again after
        each further write, and at growing steps, for WAKE_LAG_S (see there)."""
        app = self.app
        until = time.monotonic() + WAKE_LAG_S
        step = 0.002
        while True:
            if self._polling.locked():
                async with self._polling:
                    pass  # a poll under way may have read the token before this change: look once it is done
            try:
                moved = await app.client.change_token() != app.feed.token
            except JobtuiError:
                return  # the timer's poll shows the problem
            if moved:
                await self.poll()
                return
            left = until - time.monotonic()
            if wake is None or left <= 0 or self.paused:
                return
            if await wake.wait(min(step, left)):
                until, step = time.monotonic() + WAKE_LAG_S, 0.002  # written again: that write may be the commit
            else:
                step = min(2 * step, 0.032)

    @property
    def settled(self) -> bool:
        """Tell whether the screen is up to date with the selection (see `JobtuiApp.settled`)."""
        app = self.app
        if not app.loaded.is_set() or self.pending:
            return False
        job_id = app.selected
        if job_id is None:
            return True
        shown = app.detail.detail
        return shown is not None and shown.job.job_id == job_id and app.log_view.job_id == job_id

    async def poll(self, *, full: bool = False) -> None:
        """Read what changed, show it (the list's window, toasts), and refresh the selected job.

        Every read (the list's window, the selected job's detail and log) is sent before anything is shown,
        and then all of it is shown at once: a change is painted in one frame, not the list in one and the
        detail in the next (each frame costs a compositor pass and a terminal write).
        """
        app = self.app
        if not full and (self._polling.locked() or time.monotonic() < self._next_at):
            return
        async with self._polling:
            mono = time.monotonic()
            try:
                delta = await app.feed.poll(force=full)
                moved = full or app.feed.moved
                if not app.embedded and (full or mono - self._last_stats >= STATS_S):
                    self._last_stats = mono
                    app.stats = Stats(runners=tuple(await app.client.alive_runners()))
                if not moved or not app.ui_ok():
                    return
                async with self._reload_lock:
                    # A heartbeat or a log line changes no row of the list: the window stands.
                    show_window, show_selected = await asyncio.gather(
                        self._read_window() if full or app.feed.rows_moved else _none(), self._follow_reads(delta))
                    if not app.ui_ok():
                        return
                    if show_window is not None:
                        show_window()
            except JobtuiError as e:
                if app.ui_ok():
                    app.update_status(problem=str(e))
                return
            if show_window is not None:
                self._next_at = time.monotonic() + BUSY_GAP_S
            self.apply_delta(delta)
            if show_selected is not None:
                show_selected()
            app.update_status()

    async def reload(self, *, top: int | None = None, show: JobId | None = None) -> None:
        """Read the list's window again and show it, the highlighted job (or `show`) staying highlighted.

        Args:
            top: the row the view should start at (a scroll asked for rows not loaded); default: as now.
            show: a job to highlight (e.g. one just submitted), wherever it is in the list.
        """
        async with self._reload_lock:
            show_window = await self._read_window(top=top, show=show)
            if show_window is not None:
                show_window()

    async def _read_window(self, *, top: int | None = None, show: JobId | None = None) -> Callable[[], None] | None:
        """Read the list's window (see `reload`); return what shows it (None when the UI is gone)."""
        app = self.app
        if not app.ui_ok():
            return None
        table, feed = app.table, app.feed
        page = max(1, table.size.height)
        wanted = show if show is not None else app.selected
        offset = table.screen_offset if show is None else page // 2
        view_top = int(table.scroll_y) if top is None else top
        cursor: int | None = None
        if show is not None:
            cursor = await feed.position(show)
            view_top = (cursor if cursor is not None else table.cursor) - offset
        # A margin above and below the view: a key or a short scroll reads nothing.
        window = await feed.fetch_window(max(0, view_top) - MARGIN, page + 2 * MARGIN)
        if show is None:
            wanted = table.selected_id  # the highlight may have moved while the rows were read: keep the new one
        if cursor is None and wanted is not None and top is None:
            if wanted in window.order:
                cursor = window.top + window.order.index(wanted)
            elif window.order:
                # It moved out of the window (another order, a filter): find it, and read around it.
                cursor = await feed.position(wanted)
                if cursor is not None:
                    window = await feed.fetch_window(max(0, cursor - offset) - MARGIN, page + 2 * MARGIN)
        if not app.ui_ok():
            return None

        def show_window() -> None:
            # Held only now, with everything else this poll read: the list is drawn from what is held.
            feed.take(window)
            table.note_jobs(feed.jobs.values(), max_id=feed.max_id)
            table.set_window(feed.top, list(feed.order), feed.matches, cursor=cursor,
                             screen_offset=offset if cursor is not None else None)
            if show is not None:
                table.select(show)
            app.update_titles()

        return show_window

    def apply_delta(self, delta: Delta) -> None:
        """Toast job ends, unmark deleted jobs, and keep the footer's actions in step with what changed."""
        app = self.app
        if not delta:
            return
        table = app.table
        jobs = app.feed.jobs
        if delta.removed:
            table.forget_marks(delta.removed)
        alerts = end_alerts(delta.changed, delta.rows, new_jobs=app.loaded.is_set(), since_ms=self._opened_ms)
        self._held += [a for a in alerts if not is_quiet(a)]
        self._quiet_alerts += [a for a in alerts if is_quiet(a)]
        self.show_urgent_alerts()
        self.show_quiet_alerts()
        selected = app.selected
        if selected is not None and selected in delta.changed:
            before = delta.changed[selected]
            job = jobs.get(selected)
            if before is None or job is None or before is not job.status:
                app.bindings_changed()
        elif table.marked and any(i in table.marked for i in delta.changed):
            app.bindings_changed()
        app.update_titles()

    def tick(self) -> None:
        """Once a second: move the clock, the relative times and countdowns (drawing only what is on screen)."""
        app = self.app
        if not app.ui_ok():
            return
        app.update_status()
        self.show_urgent_alerts()
        self.show_quiet_alerts()
        app.table.tick()
        if app.detail.ticking:
            app.detail.rerender()

    def _dialog_shown(self) -> bool:
        """Tell whether a dialog (or any screen) covers the main one: toasts wait until it closes."""
        return len(self.app.screen_stack) > 1

    def _ring(self) -> None:
        """Ring the bell, at most once every BELL_S (a burst of ends is one call for attention)."""
        mono = time.monotonic()
        if self.app.bell_on_end and mono - self._last_bell >= BELL_S:
            self._last_bell = mono
            self.app.bell()

    def show_urgent_alerts(self) -> None:
        """Toast the failures and auto-pauses held so far in one summary toast, unless a dialog is shown."""
        if not self._held or self._dialog_shown():
            return
        alerts, self._held = self._held, []
        for alert in summarise(alerts):
            self.app.notify(alert.message, title=alert.title, severity=alert.severity, markup=False, timeout=8)
        self._ring()

    def show_quiet_alerts(self) -> None:
        """Toast the jobs that completed or were cancelled, in one short toast at most every QUIET_S."""
        app = self.app
        mono = time.monotonic()
        if not self._quiet_alerts or mono - self._last_quiet < QUIET_S or self._dialog_shown():
            return
        self._last_quiet = mono
        alerts, self._quiet_alerts = self._quiet_alerts, []
        for alert in coalesce(alerts, limit=1):
            app.notify(alert.message, title=alert.title, severity=alert.severity, markup=False, timeout=QUIET_S - 1)
        self._ring()

    async def follow_selected(self, delta: Delta) -> None:
        """Refresh the detail and the log of the selected job when it changed or runs."""
        show_selected = await self._follow_reads(delta)
        if show_selected is not None:
            show_selected()

    async def _follow_reads(self, delta: Delta) -> Callable[[], None] | None:
        """Read the selected job's detail and new log lines if it changed or runs; return what shows them."""
        app = self.app
        job_id = app.selected
        job = app.selected_job
        if job_id is None or job is None or self.pending or not app.ui_ok():
            return None
        changed = job_id in delta.changed
        active = job.status in ACTIVE
        mono = time.monotonic()
        want_detail = changed or (active and mono - self._last_detail >= 1.0)
        log = app.log_view
        want_log = (changed or active) and log.job_id == job_id
        if not (want_detail or want_log):
            return None
        if want_detail:
            self._last_detail = mono
        # The failed attempts and the history change only with the job's state, counts or stage attempts:
        # re-read them then (or every few seconds), not on each progress tick.
        shown = app.detail.detail
        want_extras = want_detail and (
            shown is None or shown.job.job_id != job_id or _shape(shown.job) != _shape(job)
            or mono - self._last_extras >= EXTRAS_S)
        # Sent together, the reads queue on the connection at once: one hop instead of several.
        reads = await asyncio.gather(
            app.client.detail(job_id) if want_detail else _none(),
            app.client.attempt_errors(job_id) if want_extras else _none(),
            app.client.history(job_id) if want_extras else _none(),
            app.client.logs(job_id, after_id=log.last_id, limit=2000) if want_log else _none(),
            return_exceptions=True,
        )
        _raise_unexpected(reads)
        detail, errors, history, lines = (None if isinstance(r, BaseException) else r for r in reads)
        if (want_detail and not want_extras and isinstance(detail, JobDetail) and shown is not None
                and _stage_shape(detail) != _stage_shape(shown)):
            # A stage attempt ended without a change of the job's row: its failed attempts may be new.
            extras = await asyncio.gather(app.client.attempt_errors(job_id), app.client.history(job_id),
                                          return_exceptions=True)
            _raise_unexpected(extras)
            errors, history = (None if isinstance(r, BaseException) else r for r in extras)
            want_extras = True

        def show_selected() -> None:
            nonlocal errors, history
            if app.selected != job_id or not app.ui_ok():
                return
            if want_extras and isinstance(errors, list) and isinstance(history, list):
                self._last_extras = mono
            else:
                errors, history = app.detail.errors, app.detail.history
            if isinstance(detail, JobDetail):
                app.detail.show(self.agree(detail), errors, history=history)  # type: ignore[arg-type]
            if isinstance(lines, list) and lines and log.job_id == job_id:
                log.add(lines)  # type: ignore[arg-type]

        return show_selected

    async def load_selected(self) -> None:
        app = self.app
        self.pending = False
        if not app.ui_ok():
            return
        job_id = app.selected
        log = app.log_view
        if job_id is None:
            app.detail.show(None, missing=app.empty_note())
            log.reset(None)
            log.border_title = "Log"
            return
        try:
            detail, errors, history = await asyncio.gather(
                app.client.detail(job_id), app.client.attempt_errors(job_id), app.client.history(job_id))
        except JobtuiError as e:
            app.detail.show(None, missing=str(e))
            return
        if app.selected != job_id or not app.ui_ok():
            return
        self._last_detail = self._last_extras = time.monotonic()
        app.detail.show(self.agree(detail), errors, history=history)
        if log.job_id != job_id:
            try:
                lines = await app.client.logs(job_id, tail=True, limit=LOG_TAIL)
            except JobtuiError:
                return
            if app.selected == job_id and app.ui_ok():
                log.load(job_id, lines)
                log.border_title = f"Log · job {job_id}"

    def agree(self, detail: JobDetail) -> JobDetail:
        """Make the list and the detail show the same version of the job (the newer of the two reads)."""
        app = self.app
        held = app.feed.jobs.get(detail.job.job_id)
        if held is not None and held.updated_at_ms > detail.job.updated_at_ms:
            return dataclasses.replace(detail, job=held)
        if app.feed.update(detail.job):
            app.table.refresh_jobs([detail.job.job_id])
        return detail

    async def refresh_selected(self, delta: Delta) -> None:
        """Read the selected job's detail and log again now (an action changed it)."""
        self._last_detail = self._last_extras = 0.0
        await self.follow_selected(delta)


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
