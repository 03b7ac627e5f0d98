"""A person's control requests (pause, cancel, resume, retry, rewind, fail, rm), one guarded transaction each.

The job's row is read with the dialect's row lock (`FOR UPDATE` on PostgreSQL), so the move below it
is judged on the status it read; the move is also an `UPDATE ... WHERE status = <read>`. A retry or
resume of an ended job with a unique key checks that no other job with the key is active; two such
requests at one instant on PostgreSQL both pass that check, and the unique index refuses the second:
that unit runs again (store/clash.py) and its check words the refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidTransitionError, JobNotFoundError, UsageError
from ..model import (
    ACTION_FROM,
    ACTIVE,
    PAUSED_BY_REQUEST,
    TERMINAL,
    Action,
    JobId,
    JobStatus,
    NotifyEvent,
    can_transition,
)
from .base import StoreCore
from .clash import retried_on_clash
from .notify import insert_event
from .records import _TERMINAL_SQL, ControlResult, _loads, job_status
from .seam import Db

REQUEUE = (
    "resume_count = resume_count + 1, consecutive_failures = 0, pause_reason = NULL, error_message = NULL,"
    " failed_step = NULL, paused_at_ms = NULL, cancelled_at_ms = NULL, completed_at_ms = NULL,"
    " next_retry_at_ms = NULL"
)
"""What resume, retry and rewind reset when they queue a job again."""


@dataclass(frozen=True, slots=True)
class _Request:
    """One request and the job's row as the transaction read (and locked) it."""

    job_id: JobId
    action: Action
    source: str
    now: int
    status: JobStatus
    stage_names: list[str]
    items_failed: int
    unique_key: str | None
    step: int


class ControlQueries(StoreCore):
    """A person's requests to one job, each in one transaction."""

    async def control(
        self, job_id: JobId, action: Action, *, source: str = "cli", to_stage: int | None = None,
        reason: str | None = None,
    ) -> ControlResult:
        """Apply a person's request to a job in one transaction (`reason`: why, for FAIL).

        Raises:
            JobNotFoundError: no job has this id.
            InvalidTransitionError: the action does not apply to the job's state.
        """
        now = self.clock()

        async def unit() -> ControlResult:
            async def _body(db: Db) -> ControlResult:
                return await self._control(db, job_id, action, source, now, to_stage, reason)
            return await self._atomic(_body)

        return await retried_on_clash(unit, f"{action.value} {job_id}")

    async def _control(
        self, db: Db, job_id: JobId, action: Action, source: str, now: int, to_stage: int | None, reason: str | None
    ) -> ControlResult:
        rows = list(await db.execute_fetchall(
            "SELECT status, stage_names, items_failed, unique_key, current_step_index, purging_at_ms"
            f" FROM jobs WHERE job_id = $1{db.dialect.lock_rows}",
            (job_id,),
        ))
        if not rows:
            raise JobNotFoundError(job_id)
        status = job_status(rows[0][0])
        if status not in ACTION_FROM[action]:
            raise InvalidTransitionError(job_id, status.value, action.value)
        if rows[0][5] is not None and action is not Action.DELETE:
            # Retention has deleted part of its results (store/retention.py): it must not run on without them.
            raise InvalidTransitionError(job_id, status.value, action.value,
                                         "it is being deleted by retention (ended longer ago than --keep)")
        r = _Request(job_id, action, source, now, status, _loads(rows[0][1]), int(rows[0][2]), rows[0][3],
                     int(rows[0][4]))
        if action is Action.DELETE:
            await self._delete(db, r)
            return ControlResult(job_id, action, status, None)
        if action is Action.PAUSE:
            after = await self._pause(db, r)
        elif action is Action.CANCEL:
            after = await self._cancel(db, r)
        elif action in (Action.RESUME, Action.RETRY):
            after = await self._resume_or_retry(db, r)
        elif action is Action.REWIND:
            after = await self._rewind(db, r, to_stage)
        elif action is Action.FAIL:
            after = await self._fail(db, r, reason)
        else:  # pragma: no cover - every Action is handled above
            raise UsageError(f"unknown action {action}")
        detail = (r.stage_names[to_stage] if action is Action.REWIND and to_stage is not None
                  else reason if action in (Action.FAIL, Action.PAUSE) else None)
        await db.execute(
            "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, detail, source)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            (job_id, now, action.value, status.value, after.value, detail, source),
        )
        return ControlResult(job_id, action, status, after)

    async def _delete(self, db: Db, r: _Request) -> None:
        # Every dependent that has not ended waits on a dependency that has not completed, whatever its
        # own status (a paused or failed-and-retrying one goes back to blocked when resumed).
        waiting = [] if r.status is JobStatus.COMPLETED else list(await db.execute_fetchall(
            "SELECT d.job_id, j.status FROM job_deps d JOIN jobs j ON j.job_id = d.job_id"
            f" WHERE d.depends_on = $1 AND j.status NOT IN {_TERMINAL_SQL} ORDER BY d.job_id",
            (r.job_id,),
        ))
        if waiting:
            raise InvalidTransitionError(
                r.job_id, r.status.value, r.action.value,
                f"job(s) {', '.join(f'#{w[0]} ({w[1]})' for w in waiting)} wait on it; cancel them first",
            )
        await db.execute("DELETE FROM jobs WHERE job_id = $1", (r.job_id,))
        await db.execute("DELETE FROM logs WHERE job_id = $1", (r.job_id,))
        await db.execute("DELETE FROM requests WHERE job_id = $1", (r.job_id,))

    async def _pause(self, db: Db, r: _Request) -> JobStatus:
        if r.status is JobStatus.RUNNING:
            await _set(db, r.job_id, r.status, JobStatus.PAUSING, r.now)
            return JobStatus.PAUSING
        await _set(db, r.job_id, r.status, JobStatus.PAUSED, r.now,
                   f"paused_at_ms = $3, pause_reason = '{PAUSED_BY_REQUEST}', next_retry_at_ms = NULL", (r.now,))
        return JobStatus.PAUSED

    async def _cancel(self, db: Db, r: _Request) -> JobStatus:
        if r.status in ACTIVE:
            await _set(db, r.job_id, r.status, JobStatus.CANCELLING, r.now)
            return JobStatus.CANCELLING
        # lease_owner: a runner may hold a paused job's stage (a frozen command); it lets go.
        await _set(db, r.job_id, r.status, JobStatus.CANCELLED, r.now,
                   "cancelled_at_ms = $3, next_retry_at_ms = NULL, lease_owner = NULL, pause_reason = NULL", (r.now,))
        await insert_event(db, r.job_id, NotifyEvent.CANCELLED, r.now, self.notify_defaults)
        return JobStatus.CANCELLED

    async def _resume_or_retry(self, db: Db, r: _Request) -> JobStatus:
        if r.status in TERMINAL and r.unique_key is not None:
            clash = list(await db.execute_fetchall(
                f"SELECT job_id FROM jobs WHERE unique_key = $1 AND job_id != $2 AND status NOT IN {_TERMINAL_SQL}",
                (r.unique_key, r.job_id),
            ))
            if clash:
                raise InvalidTransitionError(
                    r.job_id, r.status.value, r.action.value, f"unique key {r.unique_key!r} has active job {clash[0][0]}"
                )
        if r.status is JobStatus.COMPLETED:
            first = list(await db.execute_fetchall(
                "SELECT min(stage_index) FROM stages WHERE job_id = $1 AND items_failed > 0", (r.job_id,)
            ))
            if r.items_failed == 0 or not first or first[0][0] is None:
                raise InvalidTransitionError(r.job_id, r.status.value, r.action.value, "no failed items to retry")
            await reopen(db, r.job_id, int(first[0][0]), keep_items=True)
        after = await requeue_status(db, r.job_id)
        # A resume continues a held stage in its runner; a retry starts it again anywhere.
        release = ", lease_owner = NULL" if r.action is Action.RETRY else ""
        await _set(db, r.job_id, r.status, after, r.now, REQUEUE + ", run_at_ms = NULL" + release)
        return after

    async def _rewind(self, db: Db, r: _Request, to_stage: int | None) -> JobStatus:
        if to_stage is None or not 0 <= to_stage < len(r.stage_names):
            raise UsageError(f"job {r.job_id}: no stage {to_stage!r} to rewind to")
        await reopen(db, r.job_id, to_stage, keep_items=False)
        after = await requeue_status(db, r.job_id)
        await _set(
            db, r.job_id, r.status, after, r.now,
            REQUEUE + ", current_step_index = $3, progress_done = 0, progress_total = 0, progress_message = NULL,"
            " lease_owner = NULL",
            (to_stage,),
        )
        return after

    async def _fail(self, db: Db, r: _Request, reason: str | None) -> JobStatus:
        # The runner holding a running job no longer owns it (lease_owner NULL): it stops the job at
        # its next control poll and writes nothing more for it.
        stage = r.stage_names[r.step] if r.step < len(r.stage_names) else None
        text = f"failed by {r.source}: {reason or 'no reason given'}"
        await _set(db, r.job_id, r.status, JobStatus.FAILED, r.now,
                   "lease_owner = NULL, failed_step = $3, error_message = $4, next_retry_at_ms = NULL,"
                   " pause_reason = NULL", (stage, text))
        await db.execute(
            "UPDATE stages SET status = 'failed', error = $1, finished_at_ms = $2"
            " WHERE job_id = $3 AND status IN ('running', 'retrying', 'interrupted')",
            (text, r.now, r.job_id),
        )
        return JobStatus.FAILED


async def requeue_status(db: Db, job_id: JobId) -> JobStatus:
    """Return where a job queued again goes: blocked while a dependency has not completed, else queued."""
    rows = list(await db.execute_fetchall(
        "SELECT 1 FROM job_deps d JOIN jobs p ON p.job_id = d.depends_on"
        " WHERE d.job_id = $1 AND p.status != 'completed' LIMIT 1",
        (job_id,),
    ))
    return JobStatus.BLOCKED if rows else JobStatus.QUEUED


async def _set(
    db: Db, job_id: JobId, before: JobStatus, after: JobStatus, now: int,
    extra: str = "", extra_params: Sequence[Any] = (),
) -> None:
    if not can_transition(before, after):
        raise InvalidTransitionError(job_id, before.value, f"move to {after.value}")
    # `extra`'s placeholders start at $3; the job's id and its status before follow them.
    sets = "status = $1, updated_at_ms = $2" + (", " + extra if extra else "")
    n = 2 + len(extra_params)
    await db.execute(
        f"UPDATE jobs SET {sets} WHERE job_id = ${n + 1} AND status = ${n + 2}",
        (after.value, now, *extra_params, job_id, before.value),
    )


async def reopen(db: Db, job_id: JobId, from_stage: int, *, keep_items: bool) -> None:
    """Reset stages from `from_stage` on to pending; drop their items unless `keep_items` (then drop failed)."""
    if keep_items:
        await db.execute(
            "DELETE FROM items WHERE job_id = $1 AND stage_index >= $2 AND (stage_index > $3 OR status = 'failed')",
            (job_id, from_stage, from_stage),
        )
    else:
        await db.execute("DELETE FROM items WHERE job_id = $1 AND stage_index >= $2", (job_id, from_stage))
    await db.execute(
        "UPDATE stages SET status = 'pending', attempts = 0, failures = 0, traceback = NULL,"
        " generation = generation + 1, started_at_ms = NULL,"
        " finished_at_ms = NULL, error = NULL, output = NULL, state = NULL, checkpoint_at_ms = NULL,"
        " next_attempt_at_ms = NULL, items_total = NULL,"
        " items_done = (SELECT count(*) FROM items i WHERE i.job_id = stages.job_id"
        "   AND i.stage_index = stages.stage_index AND i.status = 'done'),"
        " items_failed = 0 WHERE job_id = $1 AND stage_index >= $2",
        (job_id, from_stage),
    )
    await db.execute(
        "UPDATE jobs SET current_step_index = $1,"
        " items_done = (SELECT coalesce(sum(items_done), 0) FROM stages WHERE job_id = $2),"
        " items_failed = (SELECT coalesce(sum(items_failed), 0) FROM stages WHERE job_id = $3)"
        " WHERE job_id = $4",
        (from_stage, job_id, job_id, job_id),
    )
