"""The group-committed writes of running jobs: queued with no I/O, committed together by the store's writer (store/commit.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from typing import Any

from ..model import (
    ACTIVE,
    PAUSED_BY_REQUEST,
    JobId,
    JobStatus,
    StageStatus,
    is_auto_paused,
    sources,
)
from ..storable import count, opt_text, text
from .base import StoreCore
from .batch import (
    R_ATTEMPT,
    R_ITEM,
    R_JOB_END,
    R_LOG,
    R_LOG_TRIM,
    R_PROGRESS,
    R_STAGE_COUNTERS,
    R_STAGE_END,
    R_STAGE_START,
    R_STAGE_STATE,
)
from .deps import UNBLOCK_SQL
from .dialect import item_upsert
from .done_items import DoneItems
from .records import (
    _ACTIVE_SQL,
    dumps,
)
from .schema import sql_in

log = logging.getLogger("jobtui.store")


def _from(target: JobStatus) -> str:
    """Return the SQL list of states a running job may move to `target` from, per the transition table."""
    return sql_in(sources(target) & ACTIVE)


_TO_COMPLETED = _from(JobStatus.COMPLETED)
_TO_FAILED = _from(JobStatus.FAILED)
_TO_WAITING = _from(JobStatus.WAITING_RETRY)
_TO_PAUSED = _from(JobStatus.PAUSED)
_TO_CANCELLED = _from(JobStatus.CANCELLED)



_STAGE_START_SQL = (
    "UPDATE stages SET status = 'running', attempts = $1, max_attempts = $2, runs = coalesce($3, runs + 1),"
    " failures = $4, traceback = NULL,"
    " started_at_ms = coalesce(started_at_ms, $5), finished_at_ms = NULL, next_attempt_at_ms = NULL"
    " WHERE job_id = $6 AND stage_index = $7"
)


_JOB_STEP_SQL = (
    "UPDATE jobs SET current_step_index = $1, progress_done = 0, progress_total = 0, progress_message = NULL,"
    " updated_at_ms = coalesce($2, updated_at_ms) WHERE job_id = $3"
)
"""The job's current stage; `$2` None leaves its stamp: no index changes, so PostgreSQL updates the row in place
(a HOT update: a fifth of the server's work for this row, bench/profile_pg.py) and SQLite writes no index."""
_STAGE_DONE_SQL = (
    "UPDATE stages SET status = 'completed', output = $1, finished_at_ms = $2, checkpoint_at_ms = $3,"
    " error = $4, next_attempt_at_ms = NULL WHERE job_id = $5 AND stage_index = $6"
)
_STAGE_RAN_SQL = (
    "UPDATE stages SET status = 'completed', attempts = $1, max_attempts = $2, runs = $3, failures = $4,"
    " traceback = NULL, started_at_ms = coalesce(started_at_ms, $5), output = $6, finished_at_ms = $7,"
    " checkpoint_at_ms = $8, error = $9, next_attempt_at_ms = NULL WHERE job_id = $10 AND stage_index = $11"
)
"""A stage's start and completion in one write (both waited for the same group commit)."""
_ITEM_SQL = item_upsert("$1, $2, $3, $4, $5, $6, $7, $8")
"""The item upsert as PostgreSQL runs it (`PG.item_sql`; SQLite's has numbered placeholders: `SQLITE.item_sql`)."""
_JOB_COMPLETED_SQL = (
    "UPDATE jobs SET status = 'completed', lease_owner = NULL, completed_at_ms = $1, updated_at_ms = $2,"
    " current_step_index = $3, progress_message = NULL, error_message = NULL, failed_step = NULL,"
    " pause_reason = NULL WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _TO_COMPLETED
)
_LOG_SQL = "INSERT INTO logs (job_id, ts_ms, level, message) VALUES ($1, $2, $3, $4)"
"""The statements of the group commit that PostgreSQL also runs as one statement for many rows (store/pg_bulk.py)."""

_STAGE_COUNTERS_SQL = (
    "UPDATE stages SET items_total = $1, items_done = $2, items_failed = $3, checkpoint_at_ms = $4"
    " WHERE job_id = $5 AND stage_index = $6"
)
_PROGRESS_SQL = (
    "UPDATE jobs SET progress_done = $1, progress_total = $2, progress_message = $3, items_done = $4,"
    " items_failed = $5, consecutive_failures = $6, updated_at_ms = $7 WHERE job_id = $8"
)


class CheckpointWrites(StoreCore):
    """A running job's stage starts, checkpoints, items, progress, logs and end, queued for the group commit."""

    @cached_property
    def _item_sql(self) -> str:
        """This backend's item upsert (read once per item)."""
        return self._conn.dialect.item_sql

    def stage_started(
        self, job_id: JobId, index: int, attempt: int, max_attempts: int, run: int | None = None, failures: int = 0,
        *, lazy: bool = False,
    ) -> None:
        """Queue: a stage attempt starts (`attempt` of `max_attempts` in its retry budget; its `run`-th start). A `lazy`
        one starts no commit of its own (its run was counted already: it joins the next one, LAZY_S later at most)."""
        now = self.clock()
        params = (attempt, max_attempts, run, failures, now, job_id, index)
        if run is None:
            self._submit(R_STAGE_START, _STAGE_START_SQL, params, job=job_id, lazy=lazy)
        else:
            # Keyed, so that stage_finished can fold it into its own row while both wait for one commit.
            self._submit(R_STAGE_START, _STAGE_START_SQL, params, key=(job_id, index), job=job_id, lazy=lazy)
        self._submit(R_STAGE_START, _JOB_STEP_SQL, (index, now, job_id), key=job_id, job=job_id, lazy=lazy)

    def stage_state(self, job_id: JobId, index: int, state: Any) -> None:
        """Queue: a stage's checkpoint state."""
        self._submit(
            R_STAGE_STATE,
            "UPDATE stages SET state = $1, checkpoint_at_ms = $2 WHERE job_id = $3 AND stage_index = $4",
            (dumps(state), self.clock(), job_id, index), job=job_id,
        )
        # Readers that poll `updated_after_ms` (the TUI) see a checkpoint too.
        self._submit(R_STAGE_STATE, "UPDATE jobs SET updated_at_ms = $1 WHERE job_id = $2", (self.clock(), job_id),
                     key=job_id, job=job_id)

    def file_tracked(self, job_id: JobId, index: int, path: str, size: int, sha256: str) -> None:
        """Queue: a file kept in the job's workspace (a later record of the same path replaces it)."""
        self._submit(
            R_STAGE_STATE,
            "INSERT INTO files (job_id, path, stage_index, size, sha256, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (job_id, path) DO UPDATE SET stage_index = excluded.stage_index, size = excluded.size,"
            " sha256 = excluded.sha256, created_at_ms = excluded.created_at_ms",
            (job_id, path, index, size, sha256, self.clock()), job=job_id,
        )

    def item_finished(
        self, job_id: JobId, index: int, key: str, ok: bool, result: Any, error: str | None, attempts: int
    ) -> None:
        """Queue: an item's result and its done (or failed) mark, in one row."""
        if not key.isascii() or "\x00" in key:
            key = text(key)
        self._submit(
            R_ITEM, self._item_sql,
            (job_id, index, key, "done" if ok else "failed", None if result is None else dumps(result),
             None if error is None else text(error), attempts, self.clock()), job=job_id,
        )

    def items_done(self, job_id: JobId, index: int, items: DoneItems) -> None:
        """Queue: the rows of the items in `items` (done at their first attempt) as the next group commit finds them.

        That commit makes their rows and empties `items`. Call it again whenever `batches` changed, before adding
        to `items`: what is added meanwhile joins the batch at no cost.
        """
        self._later(R_ITEM, job_id, lambda: items.statements(self._conn.dialect, job_id, index, self.clock()))

    def stage_counters(self, job_id: JobId, index: int, total: int | None, done: int, failed: int) -> None:
        """Queue: a stage's item counters (the last value queued wins)."""
        self._submit(
            R_STAGE_COUNTERS, _STAGE_COUNTERS_SQL, (total, done, failed, self.clock(), job_id, index),
            key=("counters", job_id, index), job=job_id,
        )

    def watch_stage_counters(self, job_id: JobId, index: int, read: Callable[[], tuple[int | None, int, int]]) -> None:
        """Queue: a stage's item counters (total, done, failed) as `read` returns them when the next commit is taken.

        Call it at every change; it costs a dict lookup once queued. `read` must count only items
        whose rows are already queued (so that no counter runs ahead of what commits with it).
        """
        def row() -> tuple[Any, ...]:
            total, done, failed = read()
            return (total, done, failed, self.clock(), job_id, index)

        self._latest(R_STAGE_COUNTERS, _STAGE_COUNTERS_SQL, ("counters", job_id, index), job_id, row)

    def stage_finished(self, job_id: JobId, index: int, output: Any, *, note: str | None = None) -> None:
        """Queue: a stage completed with its output (and `note`, kept as its error: the failed items it tolerated).

        When its start still waits for the same group commit (a quick stage), the two become one
        UPDATE of the stage's row: the row ends as both would have left it, with one write fewer. The job's row
        then takes the stage as its current one without a new stamp (`updated_at_ms`): a stage that began and
        ended within one commit was never seen running, and readers that follow stamps (the SSE progress, the
        TUI's changes) see the job's next stamp, at the next stage that is seen running or at its end.
        """
        now = self.clock()
        start = self._unqueue(R_STAGE_START, _STAGE_START_SQL, (job_id, index))
        if start is not None:
            steps = self._batch.keyed.get(R_STAGE_START, {}).get(_JOB_STEP_SQL)
            if steps is not None and job_id in steps:  # the job's queued step row, its stamp left out (in place)
                job, (step, _stamp, _job) = steps[job_id]
                steps[job_id] = (job, (step, None, job_id))
        if start is None:
            self._submit(R_STAGE_END, _STAGE_DONE_SQL, (dumps(output), now, now, note, job_id, index), job=job_id)
        else:
            attempt, max_attempts, run, failures, started = start[:5]
            self._submit(
                R_STAGE_END, _STAGE_RAN_SQL,
                (attempt, max_attempts, run, failures, started, dumps(output), now, now, note, job_id, index),
                job=job_id,
            )

    def stage_stopped(
        self, job_id: JobId, index: int, status: StageStatus, error: str | None, next_attempt_at_ms: int | None = None
    ) -> None:
        """Queue: a stage attempt ended without output (retrying, interrupted or failed)."""
        self._submit(
            R_STAGE_END,
            "UPDATE stages SET status = $1, error = coalesce($2, error), next_attempt_at_ms = $3,"
            " finished_at_ms = CASE WHEN $4 = 'failed' THEN $5 ELSE finished_at_ms END"
            " WHERE job_id = $6 AND stage_index = $7",
            (status.value, opt_text(error), next_attempt_at_ms, status.value, self.clock(), job_id, index), job=job_id,
        )

    def attempt_failed(
        self, job_id: JobId, index: int, attempt: int, error: str, transient: bool, *,
        failures: int | None = None, traceback: str | None = None,
    ) -> None:
        """Queue: one failed attempt of a stage (its `attempt`-th run), kept as history.

        With `failures`, also set the stage's count of failed attempts in its retry budget; with
        `traceback`, keep the last frames of an unexpected exception on the stage.
        """
        self._submit(
            R_ATTEMPT,
            "INSERT INTO attempts (job_id, stage_index, attempt, failed_at_ms, error, transient)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, stage_index, attempt) DO UPDATE SET"
            " failed_at_ms = excluded.failed_at_ms, error = excluded.error, transient = excluded.transient",
            (job_id, index, attempt, self.clock(), text(error), int(transient)), job=job_id,
        )
        if failures is not None or traceback is not None:
            self._submit(
                R_ATTEMPT,
                "UPDATE stages SET failures = coalesce($1, failures), traceback = coalesce($2, traceback)"
                " WHERE job_id = $3 AND stage_index = $4",
                (failures, opt_text(traceback), job_id, index), job=job_id,
            )

    def job_completed(self, job_id: JobId, runner_id: str, total_steps: int) -> None:
        """Queue: the job completed."""
        now = self.clock()
        self._submit(
            R_JOB_END, _JOB_COMPLETED_SQL,
            (now, now, total_steps, job_id, runner_id), job=job_id,
        )
        # Its blocked dependents whose other dependencies are done become runnable in the same commit.
        self._submit(R_JOB_END + 1, UNBLOCK_SQL, (now, job_id), job=job_id)

    def job_failed(
        self, job_id: JobId, runner_id: str, stage: str, error: str, *, retry_at_ms: int | None
    ) -> None:
        """Queue: the job failed; with `retry_at_ms` it waits for an automatic retry."""
        now = self.clock()
        if retry_at_ms is None:
            self._submit(
                R_JOB_END,
                "UPDATE jobs SET status = 'failed', lease_owner = NULL, failed_step = $1, error_message = $2,"
                " updated_at_ms = $3 WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _TO_FAILED,
                (stage, text(error), now, job_id, runner_id), job=job_id,
            )
        else:
            self._submit(
                R_JOB_END,
                "UPDATE jobs SET status = 'waiting_retry', lease_owner = NULL, failed_step = $1, error_message = $2,"
                " retry_count = retry_count + 1, next_retry_at_ms = $3, updated_at_ms = $4"
                " WHERE job_id = $5 AND lease_owner = $6 AND status IN " + _TO_WAITING,
                (stage, text(error), retry_at_ms, now, job_id, runner_id), job=job_id,
            )

    def job_paused(self, job_id: JobId, runner_id: str, reason: str) -> None:
        """Queue: the job stopped at a safe point and is paused (an auto-pause is written in its history too)."""
        now = self.clock()
        if is_auto_paused(reason):
            # No request moved it, so no request row tells when this pause began: the row written here does (the
            # TUI leaves paused time out of elapsed time, `jobtui history` shows who paused it). Ranked just before
            # the job's own update, which it reads the status from: only a job still running under this runner.
            self._submit(
                R_JOB_END - 1,
                "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, detail, source)"
                " SELECT job_id, $1, 'auto_pause', status, 'paused', $2, $3 FROM jobs"
                " WHERE job_id = $4 AND lease_owner = $5 AND status = 'running'",
                (now, text(reason), runner_id, job_id, runner_id), job=job_id,
            )
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'paused', lease_owner = NULL, paused_at_ms = $1, pause_reason = $2,"
            " updated_at_ms = $3 WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _TO_PAUSED,
            (now, text(reason), now, job_id, runner_id), job=job_id,
        )

    def job_held(self, job_id: JobId, runner_id: str, reason: str) -> None:
        """Queue: the job is paused, but this runner keeps holding it (its stage waits in place)."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'paused', paused_at_ms = $1, pause_reason = $2, updated_at_ms = $3"
            " WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _TO_PAUSED,
            (now, text(reason), now, job_id, runner_id),
        )

    def job_unheld(self, job_id: JobId, runner_id: str) -> None:
        """Queue: this runner lets go of a held job (paused, or resumed but not yet continued)."""
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET lease_owner = NULL, updated_at_ms = $1 WHERE job_id = $2 AND lease_owner = $3"
            f" AND status NOT IN {_ACTIVE_SQL}",
            (self.clock(), job_id, runner_id),
        )

    def job_cancelled(self, job_id: JobId, runner_id: str) -> None:
        """Queue: the job was cancelled."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'cancelled', lease_owner = NULL, cancelled_at_ms = $1, updated_at_ms = $2,"
            " pause_reason = NULL WHERE job_id = $3 AND lease_owner = $4 AND status IN " + _TO_CANCELLED,
            (now, now, job_id, runner_id), job=job_id,
        )

    def job_released(self, job_id: JobId, runner_id: str) -> None:
        """Queue: the runner shuts down and hands the job back (queued, pausing → paused, cancelling → cancelled).

        Each of the three moves is in the transition table (tests/test_model.py checks it).
        """
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET lease_owner = NULL, updated_at_ms = $1,"
            " status = CASE status WHEN 'pausing' THEN 'paused' WHEN 'cancelling' THEN 'cancelled' ELSE 'queued' END,"
            " paused_at_ms = CASE status WHEN 'pausing' THEN $2 ELSE paused_at_ms END,"
            f" pause_reason = CASE status WHEN 'pausing' THEN '{PAUSED_BY_REQUEST}' WHEN 'cancelling' THEN NULL"
            " ELSE pause_reason END,"
            " cancelled_at_ms = CASE status WHEN 'cancelling' THEN $3 ELSE cancelled_at_ms END"
            " WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _ACTIVE_SQL,
            (now, now, now, job_id, runner_id), job=job_id,
        )

    def progress(
        self, job_id: JobId, done: int, total: int, message: str | None, items_done: int, items_failed: int,
        consecutive_failures: int,
    ) -> None:
        """Queue: a job's progress and counters (the last value queued wins)."""
        self._submit(
            R_PROGRESS, _PROGRESS_SQL,
            (count(done), count(total), opt_text(message), items_done, items_failed, consecutive_failures,
             self.clock(), job_id),
            key=("progress", job_id), job=job_id,
        )

    def watch_progress(
        self, job_id: JobId, read: Callable[[], tuple[int, int, str | None, int, int, int]]
    ) -> None:
        """Queue: a job's progress and counters (done, total, message, items_done, items_failed,
        consecutive_failures) as `read` returns them when the next commit is taken (see watch_stage_counters)."""
        def row() -> tuple[Any, ...]:
            done, total, message, *counters = read()
            return (count(done), count(total), opt_text(message), *counters, self.clock(), job_id)

        self._latest(R_PROGRESS, _PROGRESS_SQL, ("progress", job_id), job_id, row)

    def log(self, job_id: JobId, level: str, message: str, *, held: bool = True) -> None:
        """Queue: one line of a job's log (`held=False`: of a job this runner does not hold, e.g. one it recovered)."""
        self._submit(
            R_LOG, _LOG_SQL,
            (job_id, self.clock(), level, text(message)), job=job_id if held else None,
        )

    def trim_logs(self, job_id: JobId, keep: int) -> None:
        """Queue: drop all but the last `keep` log lines of a job."""
        self._submit(
            R_LOG_TRIM,
            "DELETE FROM logs WHERE job_id = $1 AND log_id <= (SELECT log_id FROM logs WHERE job_id = $2"
            " ORDER BY log_id DESC LIMIT 1 OFFSET $3)",
            (job_id, job_id, keep),
            key=job_id, job=job_id,
        )
