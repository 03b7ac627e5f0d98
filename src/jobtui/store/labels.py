"""Labels of jobs (`job_labels`): written with a job, read in batches, and the filter conditions on them.

Portable SQL only (plain tables, `?` placeholders): every backend runs these statements as they are.
A filter on a label is `jobs.job_id IN (SELECT job_id FROM job_labels WHERE key = ? AND value = ?)`:
both SQLite and PostgreSQL read the matching ids off the (key, value, job_id) index, then the jobs by
their primary key, so finding the jobs of one label costs what they are, not the number of jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..labels import Labels
from ..model import JobId
from .base import StoreCore

_CHUNK = 500
"""Ids per `IN (?, ...)` list: well under every backend's limit on parameters."""


def label_condition(key: str, value: str | None, *, negate: bool = False) -> tuple[str, list[Any]]:
    """Return the SQL condition "the job has label key=value" (any value when None) and its parameters."""
    sql = "SELECT l.job_id FROM job_labels l WHERE l.key = ?" + (" AND l.value = ?" if value is not None else "")
    params: list[Any] = [key] if value is None else [key, value]
    return f"jobs.job_id {'NOT IN' if negate else 'IN'} ({sql})", params


def label_conditions(labels: Iterable[tuple[str, str | None]], *, negate: bool = False) -> tuple[list[str], list[Any]]:
    """Return one condition per label (all must hold), and their parameters in order."""
    where: list[str] = []
    params: list[Any] = []
    for key, value in labels:
        cond, p = label_condition(key, value, negate=negate)
        where.append(cond)
        params += p
    return where, params


async def link_labels(db: Any, jobs: Iterable[tuple[JobId, Labels]]) -> None:
    """Record the labels of new jobs (inside the submitting transaction)."""
    rows = [(job_id, k, v) for job_id, labels in jobs for k, v in labels]
    if rows:
        await db.executemany("INSERT INTO job_labels (job_id, key, value) VALUES (?, ?, ?)", rows)


async def replace_labels(db: Any, job_id: JobId, labels: Labels) -> None:
    """Replace a job's labels (inside an open transaction: an edit)."""
    await db.execute("DELETE FROM job_labels WHERE job_id = ?", (job_id,))
    await link_labels(db, [(job_id, labels)])


class LabelQueries(StoreCore):
    """Reads of jobs' labels."""

    async def job_labels(self, job_ids: Iterable[JobId]) -> dict[JobId, Labels]:
        """Return, for each of `job_ids` that has any, its labels sorted by key."""
        wanted: Sequence[JobId] = sorted(set(job_ids))
        out: dict[JobId, list[tuple[str, str]]] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i:i + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows = await self._all(
                f"SELECT job_id, key, value FROM job_labels WHERE job_id IN ({marks}) ORDER BY job_id, key", tuple(chunk)
            )
            for job_id, key, value in rows:
                out.setdefault(int(job_id), []).append((str(key), str(value)))
        return {k: tuple(v) for k, v in out.items()}
