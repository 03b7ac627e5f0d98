"""Retention: delete old finished jobs in small transactions, and what VACUUM would give back.

A job is old enough when it has ended (a status of `TERMINAL`: completed, cancelled, failed) and
was last updated (its end, for an ended job) before the cutoff, and no job that has not ended
depends on it (a blocked dependent must keep seeing why it waits). The first transaction that
deletes any of its rows also marks it (`purging_at_ms`): from then on the job is deleted to the end,
whoever's cutoff, and no rewind, resume or retry is taken for it (store/jobs.py refuses them), since
it has already lost part of its results. Its items and logs, which may be many, go in chunks of
`CHUNK` rows per transaction; then up to `BATCH` job rows go in one transaction (stages, attempts,
files, dependencies, notifications and processes follow by `ON DELETE CASCADE`; logs and requests,
which have no foreign key, are deleted explicitly). So no transaction holds the write lock for long.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from json import dumps

from ..errors import StoreError
from ..model import TERMINAL, JobId, JobStatus
from .base import StoreCore
from .dbfile import _explain
from .schema import sql_in
from .seam import Db
from .values import DbSize

BATCH = 100
"""Jobs deleted per transaction."""
CHUNK = 2_000
"""Items or log lines deleted per transaction."""

_OLD = (
    f"jobs.status IN {sql_in(TERMINAL)} AND jobs.updated_at_ms < {{cutoff}}"
    " AND NOT EXISTS (SELECT 1 FROM job_deps d JOIN jobs b ON b.job_id = d.job_id"
    f"   WHERE d.depends_on = jobs.job_id AND b.status NOT IN {sql_in(TERMINAL)})"
)
"""A job that retention may delete: ended before the cutoff (`{cutoff}`: its placeholder), and no job that has
not ended depends on it."""
_DOOMED = f"(jobs.purging_at_ms IS NOT NULL OR ({_OLD}))"
"""A job retention has begun to delete (marked), or may delete: the purge goes on with the first."""


def _doomed(statuses: Collection[JobStatus] | None, cutoff: str) -> str:
    """Return `_DOOMED`, or (`clean --status`) the same rule for jobs of `statuses` only, marked or not
    (`cutoff`: the placeholder of the cutoff time)."""
    if statuses is None:
        return _DOOMED.format(cutoff=cutoff)
    wanted = sql_in(statuses) if statuses else "(NULL)"
    old = _OLD.replace(f"jobs.status IN {sql_in(TERMINAL)}", "TRUE", 1).format(cutoff=cutoff)
    return f"(jobs.status IN {wanted} AND (jobs.purging_at_ms IS NOT NULL OR ({old})))"


class RetentionQueries(StoreCore):
    """Delete old finished jobs in small transactions; size and VACUUM the file."""

    async def old_job_ids(self, cutoff_ms: int, *, limit: int = BATCH,
                          statuses: Collection[JobStatus] | None = None) -> list[JobId]:
        """Return up to `limit` jobs old enough to delete (see the module; of `statuses` if given), oldest first."""
        rows = await self._all(
            f"SELECT job_id FROM jobs WHERE {_doomed(statuses, '$1')} ORDER BY updated_at_ms, job_id LIMIT $2",
            (cutoff_ms, limit),
        )
        return [int(r[0]) for r in rows]

    async def purge_rows(self, job_id: JobId, cutoff_ms: int, *, chunk: int = CHUNK,
                         statuses: Collection[JobStatus] | None = None) -> int:
        """Mark one old job as being deleted, and delete up to `chunk` of its items, then log lines; return how many."""
        async def _body(db: Db) -> int:
            marked = await db.execute(
                f"UPDATE jobs SET purging_at_ms = coalesce(purging_at_ms, $1) WHERE job_id = $2"
                f" AND {_doomed(statuses, '$3')}",
                (self.clock(), job_id, cutoff_ms),
            )
            if marked < 1:
                return 0
            n = max(0, await db.execute(
                "DELETE FROM items WHERE (job_id, stage_index, key) IN"
                " (SELECT job_id, stage_index, key FROM items WHERE job_id = $1 LIMIT $2)",
                (job_id, chunk),
            ))
            if n < chunk:
                n += max(0, await db.execute(
                    "DELETE FROM logs WHERE log_id IN (SELECT log_id FROM logs WHERE job_id = $1 LIMIT $2)",
                    (job_id, chunk - n),
                ))
            return n
        return await self._atomic(_body)

    async def delete_old_jobs(self, job_ids: list[JobId], cutoff_ms: int,
                              statuses: Collection[JobStatus] | None = None) -> list[JobId]:
        """Delete those of `job_ids` still old enough, with their remaining rows, in one transaction."""
        if not job_ids:
            return []
        async def _body(db: Db) -> list[JobId]:
            rows = list(await db.execute_fetchall(
                f"SELECT job_id FROM jobs WHERE {db.dialect.id_in('job_id', '$1')} AND {_doomed(statuses, '$2')}"
                f" ORDER BY job_id{db.dialect.lock_rows}",
                (dumps(job_ids), cutoff_ms),
            ))
            ids = [int(r[0]) for r in rows]
            if not ids:
                return []
            text = dumps(ids)
            for table in ("logs", "requests"):
                await db.execute(f"DELETE FROM {table} WHERE {db.dialect.id_in('job_id', '$1')}", (text,))
            await db.execute(f"DELETE FROM jobs WHERE {db.dialect.id_in('job_id', '$1')}", (text,))
            return ids
        return await self._atomic(_body)

    async def db_size(self) -> DbSize:
        """Return the file's and the WAL's sizes on disk, and the bytes of its free pages."""
        page_size = await self._one("PRAGMA page_size")
        free = await self._one("PRAGMA freelist_count")
        ps = int(page_size[0]) if page_size else 4096

        def size(suffix: str) -> int:
            try:
                return self.path.with_name(self.path.name + suffix).stat().st_size
            except OSError:
                return 0

        return DbSize(size(""), size("-wal"), int(free[0]) * ps if free else 0, ps)

    async def vacuum(self) -> None:
        """Rewrite the file without its free pages, then truncate the WAL.

        It takes the write lock for as long as that takes (waiting up to the busy timeout for it).

        Raises:
            StoreError: the database stayed locked, or the disk has no room for the copy.
        """
        await self.commit_point()
        async with self._lock:
            try:
                await self._conn.execute("VACUUM")
                await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as e:
                raise StoreError(f"VACUUM failed: {_explain(e, self.path)}") from e
