"""Editing a job that no runner runs (issue 21 item 3): one guarded transaction, recorded in the job's history.

The transaction's first statement is `UPDATE jobs ... WHERE job_id = $2 AND status IN (editable)`: on SQLite
the transaction holds the write lock from BEGIN IMMEDIATE; on PostgreSQL that UPDATE locks the job's row
until commit (a claim's `FOR UPDATE SKIP LOCKED` passes it by, and a claim committed first leaves the job
running, which the guard then refuses). So a claim sees the job wholly before or wholly after an edit,
never half-edited. One SQL text for both dialects (`$n` placeholders, plain tables).
"""

from __future__ import annotations

from typing import Any

from ..editing import (
    EDITABLE,
    WAITING_TO_START,
    EditRefusedError,
    EditResult,
    JobEdit,
    StageState,
    change_texts,
    check_params_edit,
    labels_change,
)
from ..errors import JobNotFoundError
from ..labels import merged
from ..listing import search_text
from ..model import JobId
from .base import StoreCore
from .deps import attach_deps
from .labels import replace_labels
from .queues import check_queues
from .records import _loads, dumps, job_status
from .schema import sql_in
from .seam import Db

_EDITABLE_SQL = sql_in(EDITABLE)
_COLS = "status, type, params, priority, run_at_ms, timeout_ms, max_retries, unique_key, started_at_ms, lease_owner," \
        " purging_at_ms, queue"


class EditQueries(StoreCore):
    """Edit a job that is not running."""

    async def edit_job(self, job_id: JobId, edit: JobEdit, *, source: str = "cli") -> EditResult:
        """Apply an edit in one guarded transaction and record it in the job's history.

        Raises:
            JobNotFoundError: no job has this id.
            EditRefusedError: the job is running or completed, changed meanwhile, or the params rule refuses.
            UsageError: a bad dependency (as `depend`).
        """
        now = self.clock()
        async def _body(db: Db) -> EditResult:
            rows = list(await db.execute_fetchall(
                f"UPDATE jobs SET updated_at_ms = $1 WHERE job_id = $2 AND status IN {_EDITABLE_SQL} RETURNING {_COLS}",
                (now, job_id),
            ))
            if not rows:
                found = list(await db.execute_fetchall("SELECT status FROM jobs WHERE job_id = $1", (job_id,)))
                if not found:
                    raise JobNotFoundError(job_id)
                raise EditRefusedError(job_id, f"it is {found[0][0]} (edit applies to a job that is queued, blocked,"
                                               " paused, failed or cancelled)")
            r = rows[0]
            status = job_status(r[0], job_id)
            if r[10] is not None:
                raise EditRefusedError(job_id, "it is being deleted by retention")
            old: dict[str, Any] = {"params": _loads(r[2]), "priority": r[3], "run_at_ms": r[4], "timeout_ms": r[5],
                                   "max_retries": r[6], "queue": r[11]}
            old["needs"] = tuple(str(n[0]) for n in await db.execute_fetchall(
                "SELECT tag FROM job_needs WHERE job_id = $1 ORDER BY tag", (job_id,)))
            changes = change_texts(edit, old)
            if edit.params is not None:
                await self._edit_params(db, job_id, edit, old["params"], r[1], r[7], held=r[9] is not None)
            if edit.run_at_ms is not None and edit.run_at_ms != old["run_at_ms"] and status not in WAITING_TO_START:
                raise EditRefusedError(job_id, f"--at applies to a job waiting to start (queued or blocked); it is"
                                               f" {status.value}: resuming it starts it")
            await db.execute(
                "UPDATE jobs SET priority = coalesce($1, priority), run_at_ms = coalesce($2, run_at_ms),"
                " timeout_ms = coalesce($3, timeout_ms), max_retries = coalesce($4, max_retries) WHERE job_id = $5",
                (edit.priority, edit.run_at_ms, edit.timeout_ms, edit.max_retries, job_id),
            )
            if (edit.queue is not None or edit.no_queue) and (None if edit.no_queue else edit.queue) != r[11]:
                if r[9] is not None:
                    raise EditRefusedError(job_id, "a runner holds its stage in place (a paused command keeps its queue"
                                                   " and slot); cancel or retry the job first")
                await check_queues(db, [edit.queue])
                await db.execute("UPDATE jobs SET queue = $1, slot = NULL WHERE job_id = $2",
                                 (None if edit.no_queue else edit.queue, job_id))
            if edit.needs is not None:
                await db.execute("DELETE FROM job_needs WHERE job_id = $1", (job_id,))
                if edit.needs:
                    await db.executemany("INSERT INTO job_needs (job_id, tag) VALUES ($1, $2)",
                                         [(job_id, t) for t in sorted(set(edit.needs))])
            after = status
            if edit.after:
                _found, after = await attach_deps(db, job_id, status, r[8], edit.after, now)
            if edit.labels or edit.unlabel:
                have = tuple((str(k), str(v)) for k, v in await db.execute_fetchall(
                    "SELECT key, value FROM job_labels WHERE job_id = $1 ORDER BY key", (job_id,)))
                new = merged(have, edit.labels, edit.unlabel)
                said = labels_change(have, new)
                if said is not None:
                    changes.append(said)
                    await replace_labels(db, job_id, new)
            if not changes:
                changes = ["nothing changed"]
            await db.execute(
                "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, detail, source)"
                " VALUES ($1, $2, 'edit', $3, $4, $5, $6)",
                (job_id, now, status.value, after.value, "; ".join(changes), source),
            )
            return EditResult(job_id, status, after, tuple(changes))
        return await self._atomic(_body)

    @staticmethod
    async def _edit_params(db: Db, job_id: JobId, edit: JobEdit, old: dict[str, Any], type_: str,
                           unique_key: str | None, *, held: bool) -> None:
        """Store new params under the params rule (editing.py), and the new stage list where it may change."""
        assert edit.params is not None and edit.stage_names is not None
        if edit.base_params is not None and edit.base_params != old:
            raise EditRefusedError(job_id, "its params changed meanwhile (another edit); look again and retry")
        rows = list(await db.execute_fetchall(
            "SELECT stage_index, name, status, items_done + items_failed + (SELECT count(*) FROM items i"
            "   WHERE i.job_id = stages.job_id AND i.stage_index = stages.stage_index), 0, state FROM stages"
            " WHERE job_id = $1 ORDER BY stage_index", (job_id,)))
        stages = [StageState(int(s[0]), str(s[1]), s[2] == "completed", bool(s[3] or s[4] or s[5] is not None))
                  for s in rows]
        first_open = check_params_edit(job_id, stages, edit.stage_names, held)
        old_names = tuple(s.name for s in stages)
        if tuple(edit.stage_names) != old_names:
            # Only stages without kept progress are replaced (the rule checked it): their rows start afresh.
            await db.execute("DELETE FROM items WHERE job_id = $1 AND stage_index >= $2", (job_id, first_open))
            await db.execute("DELETE FROM stages WHERE job_id = $1 AND stage_index >= $2", (job_id, first_open))
            attempts = edit.max_attempts or ()
            await db.executemany(
                "INSERT INTO stages (job_id, stage_index, name, max_attempts) VALUES ($1, $2, $3, $4)",
                [(job_id, i, name, attempts[i] if i < len(attempts) else 1)
                 for i, name in enumerate(edit.stage_names) if i >= first_open],
            )
        await db.execute(
            "UPDATE jobs SET params = $1, stage_names = $2, search_text = $3 WHERE job_id = $4",
            (dumps(edit.params), dumps(list(edit.stage_names)), search_text(type_, unique_key, edit.params), job_id),
        )
