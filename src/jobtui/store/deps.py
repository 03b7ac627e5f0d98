"""Dependencies between jobs: a job waits in `blocked` until every job it depends on has completed.

The claim never looks at blocked jobs (it reads only `queued` ones through its index), so waiting
jobs cost the claim nothing. A dependency's completion releases its dependents in the same group
commit (`UNBLOCK_SQL`, queued by `job_completed`); `release_ready` sweeps for any left behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import InvalidTransitionError, JobNotFoundError, UsageError
from ..model import DEPENDABLE, JobId, JobRef, JobStatus, can_transition
from .base import StoreCore
from .records import dumps, job_status
from .seam import Db

UNBLOCK_SQL = (
    "UPDATE jobs SET status = 'queued', updated_at_ms = $1 WHERE status = 'blocked'"
    " AND job_id IN (SELECT job_id FROM job_deps WHERE depends_on = $2)"
    " AND NOT EXISTS (SELECT 1 FROM job_deps d JOIN jobs p ON p.job_id = d.depends_on"
    "   WHERE d.job_id = jobs.job_id AND p.status != 'completed')"
)
"""Queue the blocked dependents of one job whose dependencies have all completed: (now, job_id)."""

_READY_SQL = (
    "UPDATE jobs SET status = 'queued', updated_at_ms = $1 WHERE status = 'blocked'"
    " AND NOT EXISTS (SELECT 1 FROM job_deps d JOIN jobs p ON p.job_id = d.depends_on"
    "   WHERE d.job_id = jobs.job_id AND p.status != 'completed') RETURNING job_id"
)


async def check_deps(db: Db, deps: Iterable[JobId]) -> dict[JobId, JobStatus]:
    """Return the status of each dependency.

    Raises:
        UsageError: a dependency does not exist, or retention is deleting it.
    """
    wanted = sorted(set(deps))
    if not wanted:
        return {}
    rows = list(await db.execute_fetchall(
        # Held until the new job is linked: a parent that completes (or is deleted) meanwhile waits for
        # it, so its release of blocked dependents sees the new one.
        f"SELECT job_id, status, purging_at_ms FROM jobs WHERE {db.dialect.id_in('job_id', '$1')}"
        f" ORDER BY job_id{db.dialect.lock_share}",
        (dumps(wanted),),
    ))
    found = {int(r[0]): job_status(r[1]) for r in rows}
    missing = [d for d in wanted if d not in found]
    if missing:
        raise UsageError(f"--after: no job {', '.join(f'#{m}' for m in missing)}")
    going = [int(r[0]) for r in rows if r[2] is not None]
    if going:  # retention has begun to delete it (store/retention.py): nothing may wait on it now
        raise UsageError(f"--after: job {', '.join(f'#{g}' for g in going)} is being deleted by retention")
    return found


async def link_deps(db: Db, job_id: JobId, deps: Iterable[JobId]) -> None:
    """Record that `job_id` starts after each of `deps`."""
    await db.executemany(
        "INSERT INTO job_deps (job_id, depends_on) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(job_id, d) for d in set(deps)],
    )


async def attach_deps(
    db: Db, job_id: JobId, status: JobStatus, started_at_ms: int | None, deps: Iterable[JobId],
    now: int,
) -> tuple[dict[JobId, JobStatus], JobStatus]:
    """Make a job that has not started wait for `deps` too (inside an open transaction); return them and its status.

    Raises:
        UsageError: a dependency does not exist, is the job itself, or would close a cycle.
        InvalidTransitionError: the job has started (only queued, blocked or paused jobs take new ones).
    """
    if status not in DEPENDABLE or started_at_ms is not None:
        raise InvalidTransitionError(job_id, status.value, "add dependencies",
                                     "only a job that has not started yet takes new dependencies")
    found = await check_deps(db, deps)
    if job_id in found:
        raise UsageError(f"job {job_id} cannot depend on itself")
    # A cycle: job_id is already something one of the new dependencies (transitively) waits for.
    cyc = list(await db.execute_fetchall(
        f"WITH RECURSIVE up(id) AS ({db.dialect.ids('$1')}"
        "   UNION SELECT d.depends_on FROM job_deps d JOIN up ON d.job_id = up.id)"
        " SELECT 1 FROM up WHERE id = $2 LIMIT 1",
        (dumps(sorted(found)), job_id),
    ))
    if cyc:
        raise UsageError(
            f"refused: a cycle ({', '.join(f'#{d}' for d in sorted(found))} already waits, directly or not, on job {job_id})"
        )
    await link_deps(db, job_id, found)
    after = status
    if status is JobStatus.QUEUED and any(s is not JobStatus.COMPLETED for s in found.values()):
        after = JobStatus.BLOCKED
        if not can_transition(status, after):  # pragma: no cover - the table allows it
            raise InvalidTransitionError(job_id, status.value, "block")
        await db.execute(
            "UPDATE jobs SET status = 'blocked', updated_at_ms = $1 WHERE job_id = $2 AND status = 'queued'",
            (now, job_id),
        )
    return found, after


class DependencyQueries(StoreCore):
    """Reads and writes of the `job_deps` table."""

    async def waiting_on(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[JobRef, ...]]:
        """Return, for each of `job_ids` that has any, the dependencies that have not completed."""
        ids = sorted(set(job_ids))
        if not ids:
            return {}
        rows = await self._all(
            "SELECT d.job_id, j.job_id, j.type, j.status FROM job_deps d JOIN jobs j ON j.job_id = d.depends_on"
            f" WHERE {self.sql.id_in('d.job_id', '$1')} AND j.status != 'completed'"
            " ORDER BY d.job_id, j.job_id",
            (dumps(ids),),
        )
        out: dict[JobId, list[JobRef]] = {}
        for r in rows:
            out.setdefault(int(r[0]), []).append(JobRef(int(r[1]), str(r[2]), job_status(r[3])))
        return {k: tuple(v) for k, v in out.items()}

    async def add_dependencies(self, job_id: JobId, deps: Sequence[JobId], *, source: str = "cli") -> JobStatus:
        """Make a job that has not started yet wait for `deps` too; return its status after.

        Raises:
            JobNotFoundError: no job has this id.
            UsageError: a dependency does not exist, or would close a cycle.
            InvalidTransitionError: the job has started (only queued, blocked or paused jobs take new ones).
        """
        now = self.clock()
        async def _body(db: Db) -> JobStatus:
            rows = list(await db.execute_fetchall(
                f"SELECT status, started_at_ms FROM jobs WHERE job_id = $1{db.dialect.lock_rows}", (job_id,)
            ))
            if not rows:
                raise JobNotFoundError(job_id)
            status = job_status(rows[0][0])
            found, after = await attach_deps(db, job_id, status, rows[0][1], deps, now)
            await db.execute(
                "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, detail, source)"
                " VALUES ($1, $2, 'depend', $3, $4, $5, $6)",
                (job_id, now, status.value, after.value, dumps(sorted(found)), source),
            )
            return after
        return await self._atomic(_body)

    async def release_ready(self) -> list[JobId]:
        """Queue every blocked job whose dependencies have all completed; return their ids."""
        async def _body(db: Db) -> list[JobId]:
            rows = list(await db.execute_fetchall(_READY_SQL, (self.clock(),)))
            return [int(r[0]) for r in rows]
        return await self._atomic(_body)
