"""The job detail in one statement: the job's row with its stages, files, dependencies, notifications,
processes, needs and labels, each gathered into a JSON array by a subquery (issue 22: the API's polls).

One statement instead of ten: one round trip (one hop to aiosqlite's thread, one to a PostgreSQL
server) and one consistent snapshot (nine reads could straddle a commit). The dialects differ only in
how they gather rows into JSON (store/dialect.py `json_rows`, `json_list`). The order of each list is set in Python
(SQLite 3.40 has no ORDER BY inside an aggregate): code point order, as SQLite's BINARY collation.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ..errors import JobNotFoundError
from ..model import FileRecord, JobDetail, JobId, JobRef, Notification
from .base import StoreCore
from .dialect import Dialect
from .notify import _COLS as NOTIFY_COLS
from .processes import PROC_COLS, _proc
from .records import JOB_COLS, STAGE_COLS, CorruptRowError, _job, _stage, job_status

_PARTS: tuple[tuple[str, str], ...] = (
    # (columns, FROM ... WHERE of the job j): one JSON array each, in this order after the job's columns.
    (STAGE_COLS, "stages WHERE job_id = j.job_id"),
    ("path, stage_index, size, sha256, created_at_ms", "files WHERE job_id = j.job_id"),
    ("o.job_id, o.type, o.status, d.depends_on = j.job_id",
     "job_deps d JOIN jobs o ON o.job_id = CASE WHEN d.job_id = j.job_id THEN d.depends_on ELSE d.job_id END"
     " WHERE d.job_id = j.job_id OR d.depends_on = j.job_id"),
    ("kind, target", "notify_targets WHERE job_id = j.job_id"),
    (NOTIFY_COLS, "notifications WHERE job_id = j.job_id"),
    (PROC_COLS, "processes WHERE job_id = j.job_id"),
    ("tag", "job_needs WHERE job_id = j.job_id"),
    ("key, value", "job_labels WHERE job_id = j.job_id"),
)
_DONE = "(SELECT count(*) FROM items WHERE job_id = j.job_id AND status = 'done')"


@functools.cache
def detail_sql(d: Dialect) -> str:
    """Return dialect `d`'s detail statement: each part's rows gathered into a JSON array (`d.json_rows`), the
    parts into one JSON array (`d.json_list`), decoded at once."""
    parts = d.json_list.format(parts=", ".join(d.json_rows.format(cols=cols, source=source) for cols, source in _PARTS))
    job = ", ".join(f"j.{c.strip()}" for c in JOB_COLS.split(","))
    return f"SELECT {job}, {_DONE}, {parts} FROM jobs j WHERE j.job_id = $1"


_N_JOB = len(JOB_COLS.split(","))


def _parts(text: Any, job_id: JobId) -> list[list[list[Any]]]:
    try:
        parts = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise CorruptRowError(f"job {job_id}: its detail in the database is unreadable (invalid JSON)") from None
    if not isinstance(parts, list) or len(parts) != len(_PARTS):
        raise CorruptRowError(f"job {job_id}: its detail in the database is unreadable")
    return parts


def detail_from_row(row: Any) -> JobDetail:
    """Return the job detail of one row of the detail statement."""
    job = _job(row[:_N_JOB])
    done = row[_N_JOB]
    stages, files, deps, targets, told, procs, needs, labels = _parts(row[_N_JOB + 1], job.job_id)
    stages.sort(key=lambda r: r[0])
    files.sort(key=lambda r: r[0])
    deps.sort(key=lambda r: r[0])
    targets.sort()
    told.sort(key=lambda r: r[0])
    procs.sort(key=lambda r: (r[1], r[2]))
    needs.sort()
    labels.sort()
    return JobDetail(
        job, tuple(_stage(r) for r in stages), int(done or 0),
        tuple(FileRecord(*f) for f in files),
        tuple(JobRef(r[0], r[1], job_status(r[2])) for r in deps if not r[3]),
        tuple(JobRef(r[0], r[1], job_status(r[2])) for r in deps if r[3]),
        tuple((str(t[0]), str(t[1])) for t in targets), tuple(Notification(*n) for n in told),
        needs=tuple(str(n[0]) for n in needs), processes=tuple(_proc(tuple(p)) for p in procs),
        labels=tuple((str(k), str(v)) for k, v in labels),
    )


class DetailQueries(StoreCore):
    """The job detail (`show`, the TUI's detail pane, the API's GET /jobs/{id}) in one statement."""

    async def get_detail(self, job_id: JobId) -> JobDetail:
        """Return one job with its stages, counters, files, dependencies, notifications, processes, needs.

        Raises:
            JobNotFoundError: no job has this id.
        """
        row = await self._one(detail_sql(self.sql), (job_id,))
        if row is None:
            raise JobNotFoundError(job_id)
        return detail_from_row(row)
