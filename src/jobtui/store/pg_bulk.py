"""PostgreSQL's one-statement forms of the group commit's hot statements: many rows through `unnest` arrays.

A group commit runs each of its statements for many rows (store/commit.py). Run row by row (asyncpg's
`executemany`: one Bind and Execute per row, pipelined), the server pays a statement's start and end
for every row; here the rows go as one array per parameter and the statement runs once. The profile
of bench/bench_pg.py showed the server's per-statement cost as the largest part of a stage's.

Each form is written for the statement it stands for (its key in `BULK`, the text the store queues),
and leaves the rows as running that statement once per row, in order, would: an UPDATE's target
rows are distinct (`key`: the parameters that name the row; a batch where two rows name one target
runs row by row instead), an INSERT keeps the rows' order (identity values given in that order),
and every guard of the single-row statement is in its form (docs/postgres-locking.md).
tests/pg/test_pg_bulk.py runs each both ways and compares the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .checkpoints import (
    _ITEM_SQL,
    _JOB_COMPLETED_SQL,
    _JOB_STEP_SQL,
    _LOG_SQL,
    _STAGE_DONE_SQL,
    _STAGE_RAN_SQL,
    _STAGE_START_SQL,
    _TO_COMPLETED,
)
from .deps import UNBLOCK_SQL
from .sql_pg import PG


@dataclass(frozen=True, slots=True)
class Bulk:
    """A statement's form for many rows: `sql` takes one array per parameter of the single-row statement."""

    sql: str
    key: tuple[int] | tuple[int, int] | tuple[int, int, int] | tuple[()] = ()
    """The parameters (up to 3) that name the row a statement writes: rows sharing one are run row by row."""

    def columns(self, rows: Sequence[Sequence[Any]]) -> list[list[Any]] | None:
        """Return the rows as one list per parameter, or None when two rows name one target row."""
        key = self.key
        if len(key) == 1:
            (a,) = key
            names = len({r[a] for r in rows})
        elif len(key) == 2:
            a, b = key
            names = len({(r[a], r[b]) for r in rows})
        elif key:
            a, b, c = key
            names = len({(r[a], r[b], r[c]) for r in rows})
        else:
            names = len(rows)
        if names != len(rows):
            return None
        return [list(c) for c in zip(*rows, strict=True)]


_STAGE_KEY = (
    " WHERE stages.job_id = v.job_id AND stages.stage_index = v.stage_index"
)

BULK: dict[str, Bulk] = {
    _STAGE_START_SQL: Bulk(
        "UPDATE stages SET status = 'running', attempts = v.attempts, max_attempts = v.max_attempts,"
        " runs = coalesce(v.runs, stages.runs + 1), failures = v.failures, traceback = NULL,"
        " started_at_ms = coalesce(stages.started_at_ms, v.now), finished_at_ms = NULL, next_attempt_at_ms = NULL"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],"
        " $7::bigint[]) AS v(attempts, max_attempts, runs, failures, now, job_id, stage_index)" + _STAGE_KEY,
        (5, 6)),
    _STAGE_DONE_SQL: Bulk(
        "UPDATE stages SET status = 'completed', output = v.output, finished_at_ms = v.finished,"
        " checkpoint_at_ms = v.checkpoint, error = v.error, next_attempt_at_ms = NULL"
        " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[])"
        " AS v(output, finished, checkpoint, error, job_id, stage_index)" + _STAGE_KEY,
        (4, 5)),
    _STAGE_RAN_SQL: Bulk(
        "UPDATE stages SET status = 'completed', attempts = v.attempts, max_attempts = v.max_attempts,"
        " runs = v.runs, failures = v.failures, traceback = NULL,"
        " started_at_ms = coalesce(stages.started_at_ms, v.started), output = v.output, finished_at_ms = v.finished,"
        " checkpoint_at_ms = v.checkpoint, error = v.error, next_attempt_at_ms = NULL"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[],"
        " $8::bigint[], $9::text[], $10::bigint[], $11::bigint[]) AS v(attempts, max_attempts, runs, failures,"
        " started, output, finished, checkpoint, error, job_id, stage_index)" + _STAGE_KEY,
        (9, 10)),
    _JOB_STEP_SQL: Bulk(
        "UPDATE jobs SET current_step_index = v.step, progress_done = 0, progress_total = 0, progress_message = NULL,"
        " updated_at_ms = coalesce(v.now, jobs.updated_at_ms)"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(step, now, job_id)"
        " WHERE jobs.job_id = v.job_id",
        (2,)),
    _JOB_COMPLETED_SQL: Bulk(
        "UPDATE jobs SET status = 'completed', lease_owner = NULL, completed_at_ms = v.completed,"
        " updated_at_ms = v.now, current_step_index = v.steps, progress_message = NULL, error_message = NULL,"
        " failed_step = NULL, pause_reason = NULL"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[])"
        " AS v(completed, now, steps, job_id, owner)"
        " WHERE jobs.job_id = v.job_id AND jobs.lease_owner = v.owner AND jobs.status IN " + _TO_COMPLETED,
        (3,)),
    # The dependents of all the completed jobs at once; one that two of them release gets the first time, as
    # row by row (rows are queued in time order).
    UNBLOCK_SQL: Bulk(
        "UPDATE jobs SET status = 'queued', updated_at_ms = v.now FROM (SELECT d.job_id, min(u.now) AS now"
        "   FROM unnest($1::bigint[], $2::bigint[]) AS u(now, parent) JOIN job_deps d ON d.depends_on = u.parent"
        "   GROUP BY d.job_id) AS v"
        " WHERE jobs.job_id = v.job_id AND jobs.status = 'blocked'"
        " AND NOT EXISTS (SELECT 1 FROM job_deps d JOIN jobs p ON p.job_id = d.depends_on"
        "   WHERE d.job_id = jobs.job_id AND p.status != 'completed')"),
    _LOG_SQL: Bulk(
        "INSERT INTO logs (job_id, ts_ms, level, message)"
        " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])"),
    _ITEM_SQL: Bulk(
        "INSERT INTO items (job_id, stage_index, key, status, result, error, attempts, updated_at_ms)"
        " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],"
        " $7::bigint[], $8::bigint[])"
        " ON CONFLICT (job_id, stage_index, key) DO UPDATE SET"
        " status = excluded.status, result = excluded.result, error = excluded.error,"
        " attempts = items.attempts + excluded.attempts, updated_at_ms = excluded.updated_at_ms",
        (0, 1, 2)),
    PG.event_sql: Bulk(
        "INSERT INTO notifications (job_id, event, event_at_ms, kind, target, created_at_ms, next_at_ms)"
        " SELECT j.job_id, v.event, j.updated_at_ms, t.kind, t.target, v.now, v.now"
        " FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[]) WITH ORDINALITY"
        "   AS v(job_id, event, now, defaults, status, n)"
        " JOIN jobs j ON j.job_id = v.job_id"
        " CROSS JOIN LATERAL (SELECT kind, target FROM notify_targets WHERE job_id = v.job_id"
        "   UNION SELECT je.value ->> 0, je.value ->> 1 FROM jsonb_array_elements(v.defaults::jsonb) AS je(value)"
        "     WHERE NOT EXISTS (SELECT 1 FROM notify_targets WHERE job_id = v.job_id)) AS t"
        " WHERE j.status = v.status AND (j.notify_on IS NULL OR ',' || j.notify_on || ',' LIKE '%,ended,%')"
        " ORDER BY v.n"
        " ON CONFLICT DO NOTHING",
        (0, 1)),
}
"""The single-row statement (as the store queues it) → its form for many rows."""
