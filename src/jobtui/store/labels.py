"""Labels of jobs (`job_labels`): written with a job, read in batches, and the filter conditions on them.

Portable SQL only (plain tables, `$n` placeholders): every backend runs these statements as they are.
A filter on a label is `jobs.job_id IN (SELECT job_id FROM job_labels WHERE key = $1 AND value = $2)`:
both SQLite and PostgreSQL read the matching ids off the (key, value, job_id) index, then the jobs by
their primary key, so finding the jobs of one label costs what they are, not the number of jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..labels import Labels
from ..model import JobId
from .base import StoreCore
from .seam import Db, Params

_CHUNK = 500
"""Ids per `IN ($1, ...)` list: well under every backend's limit on parameters."""


def label_condition(key: str, value: str | None, p: Params, *, negate: bool = False) -> str:
    """Return the SQL condition "the job has label key=value" (any value when None); its values go to `p`."""
    sql = f"SELECT l.job_id FROM job_labels l WHERE l.key = {p.add(key)}"
    if value is not None:
        sql += f" AND l.value = {p.add(value)}"
    return f"jobs.job_id {'NOT IN' if negate else 'IN'} ({sql})"


def label_conditions(labels: Iterable[tuple[str, str | None]], p: Params, *, negate: bool = False) -> list[str]:
    """Return one condition per label (all must hold); their values go to `p` in order."""
    return [label_condition(key, value, p, negate=negate) for key, value in labels]


async def link_labels(db: Db, jobs: Iterable[tuple[JobId, Labels]]) -> None:
    """Record the labels of new jobs (inside the submitting transaction)."""
    rows = [(job_id, k, v) for job_id, labels in jobs for k, v in labels]
    if rows:
        await db.executemany("INSERT INTO job_labels (job_id, key, value) VALUES ($1, $2, $3)", rows)


async def replace_labels(db: Db, job_id: JobId, labels: Labels) -> None:
    """Replace a job's labels (inside an open transaction: an edit)."""
    await db.execute("DELETE FROM job_labels WHERE job_id = $1", (job_id,))
    await link_labels(db, [(job_id, labels)])


class LabelQueries(StoreCore):
    """Reads of jobs' labels."""

    async def job_labels(self, job_ids: Iterable[JobId]) -> dict[JobId, Labels]:
        """Return, for each of `job_ids` that has any, its labels sorted by key."""
        wanted: Sequence[JobId] = sorted(set(job_ids))
        out: dict[JobId, list[tuple[str, str]]] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i:i + _CHUNK]
            marks = ", ".join(f"${n}" for n in range(1, len(chunk) + 1))
            rows = await self._all(
                f"SELECT job_id, key, value FROM job_labels WHERE job_id IN ({marks}) ORDER BY job_id, key", tuple(chunk)
            )
            for job_id, key, value in rows:
                out.setdefault(int(job_id), []).append((str(key), str(value)))
        return {k: tuple(v) for k, v in out.items()}
