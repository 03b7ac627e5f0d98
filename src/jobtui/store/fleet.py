"""Several hosts: runner names and tags, the tags a job needs, and who holds which job.

Portable SQL only (plain tables, `$n` placeholders, no JSON functions, no dialect's own forms): every
backend runs these statements as they are. A runner's tags live in `runner_tags` (deleted with its
runner row); a job's needs in `job_needs`. A runner claims a job only when it has every tag the job
needs: `fits()` is the NOT EXISTS condition the claim (store/runs.py) adds to its WHERE clause.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..model import ACTIVE, HOLDABLE, JobId
from .base import StoreCore
from .schema import sql_in
from .seam import Db

_CHUNK = 500
"""Ids per `IN (?, ...)` list: well under every backend's limit on parameters."""


def fits(runner: str = "$1") -> str:
    """Return the SQL condition "this job needs no tag the runner lacks" (`runner`: its placeholder).

    Used inside a query over `jobs`: a job with no needs always fits, and one row of `job_needs` per
    needed tag is probed by its primary key, so it costs a claim nothing for jobs without needs.
    """
    return (
        "NOT EXISTS (SELECT 1 FROM job_needs n WHERE n.job_id = jobs.job_id AND NOT EXISTS"
        f" (SELECT 1 FROM runner_tags t WHERE t.runner_id = {runner} AND t.tag = n.tag))"
    )


async def link_needs(db: Any, jobs: Iterable[tuple[JobId, Sequence[str]]]) -> None:
    """Record the tags each new job needs (inside the submitting transaction)."""
    rows = [(job_id, tag) for job_id, needs in jobs for tag in sorted(set(needs))]
    if rows:
        await db.executemany("INSERT INTO job_needs (job_id, tag) VALUES ($1, $2)", rows)


async def write_runner_tags(db: Any, runner_id: str, tags: Iterable[str]) -> None:
    """Replace a runner's tags (inside the registering transaction)."""
    await db.execute("DELETE FROM runner_tags WHERE runner_id = $1", (runner_id,))
    rows = [(runner_id, t) for t in sorted(set(tags))]
    if rows:
        await db.executemany("INSERT INTO runner_tags (runner_id, tag) VALUES ($1, $2)", rows)


def _chunks(ids: Sequence[JobId]) -> Iterable[Sequence[JobId]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


class FleetQueries(StoreCore):
    """The fleet: the tags jobs need, the jobs each runner holds, and the requests that runners stop."""

    async def request_runner_stop(self, runner_ids: Sequence[str]) -> int:
        """Ask runners to hand their jobs back and exit (read at their next heartbeat); return how many were asked."""
        async def _body(db: Db) -> int:
            asked = 0
            for runner_id in runner_ids:
                asked += await db.execute(
                    "UPDATE runners SET stop_requested_at_ms = $1 WHERE runner_id = $2", (self.clock(), runner_id))
            return asked
        return await self._atomic(_body)

    async def stop_requested(self, runner_id: str) -> bool:
        """Tell whether someone asked this runner to stop (`jobtui runners stop`)."""
        row = await self._one("SELECT stop_requested_at_ms FROM runners WHERE runner_id = $1", (runner_id,))
        return row is not None and row[0] is not None

    async def job_needs(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[str, ...]]:
        """Return, for each of `job_ids` that needs any, the tags it needs (sorted)."""
        wanted = sorted(set(job_ids))
        out: dict[JobId, list[str]] = {}
        for chunk in _chunks(wanted):
            marks = ", ".join(f"${i}" for i in range(1, len(chunk) + 1))
            rows = await self._all(
                f"SELECT job_id, tag FROM job_needs WHERE job_id IN ({marks}) ORDER BY job_id, tag", tuple(chunk)
            )
            for job_id, tag in rows:
                out.setdefault(int(job_id), []).append(str(tag))
        return {k: tuple(v) for k, v in out.items()}

    async def held_jobs(self) -> dict[str, tuple[JobId, ...]]:
        """Return the jobs each runner holds (running, or paused with its stage held), by runner id."""
        rows = await self._all(
            f"SELECT lease_owner, job_id FROM jobs WHERE lease_owner IS NOT NULL AND status IN {sql_in(ACTIVE | HOLDABLE)}"
            " ORDER BY lease_owner, job_id"
        )
        out: dict[str, list[JobId]] = {}
        for owner, job_id in rows:
            out.setdefault(str(owner), []).append(int(job_id))
        return {k: tuple(v) for k, v in out.items()}
