"""Recurring schedules and their occurrences.

A runner fires a due schedule in one transaction: it moves `next_at_ms` on (guarded by the value it
read), inserts the occurrence into `schedule_runs` (primary key: name and occurrence time, so the
database itself refuses a second firing of one occurrence), and inserts the job, unless the
schedule's previous job has not ended yet (then the occurrence is recorded as skipped). The same
transaction keeps the history bounded: only a schedule's latest `KEEP_RUNS` occurrences stay (a
pruned occurrence cannot fire again: `next_at_ms` has moved past it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from ..model import JobId, Schedule, ScheduleRun
from .base import StoreCore
from .clash import retried_on_clash
from .records import _TERMINAL_SQL, NewJob, dumps
from .seam import Db

_COLS = (
    "name, cron, timezone, every_ms, anchor_ms, job_type, params, options, paused, created_at_ms, next_at_ms,"
    " last_at_ms, last_job_id"
)
_RUN_COLS = "name, occurrence_ms, outcome, job_id, missed, detail, at_ms, runner_id"
KEEP_RUNS = 500
"""Occurrences kept per schedule (`schedule show` lists the latest); older ones are deleted as new ones fire."""


def _schedule(r: Sequence[Any]) -> Schedule:
    return Schedule(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7]), bool(r[8]), *r[9:])


class ScheduleQueries(StoreCore):
    """Add, list, pause, remove and fire schedules."""

    async def add_schedule(self, s: Schedule) -> None:
        """Store a new schedule.

        Raises:
            UsageError: a schedule of this name exists.
        """
        async def _body(db: Db) -> None:
            rows = list(await db.execute_fetchall("SELECT 1 FROM schedules WHERE name = $1", (s.name,)))
            if rows:
                raise UsageError(f"a schedule named {s.name!r} exists (remove it first: jobtui schedule rm {s.name})")
            await db.execute(
                f"INSERT INTO schedules ({_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                (s.name, s.cron, s.tz, s.every_ms, s.anchor_ms, s.job_type, dumps(s.params), dumps(s.options),
                 int(s.paused), s.created_at_ms, s.next_at_ms, s.last_at_ms, s.last_job_id),
            )
        await self._atomic(_body)

    async def schedules(self) -> list[Schedule]:
        """Return every schedule, by name."""
        return [_schedule(r) for r in await self._all(f"SELECT {_COLS} FROM schedules ORDER BY name")]

    async def get_schedule(self, name: str) -> Schedule:
        """Return one schedule.

        Raises:
            UsageError: no schedule has this name.
        """
        row = await self._one(f"SELECT {_COLS} FROM schedules WHERE name = $1", (name,))
        if row is None:
            raise UsageError(f"no schedule named {name!r} (see `jobtui schedule ls`)")
        return _schedule(row)

    async def set_schedule_paused(self, name: str, paused: bool, next_at_ms: int | None = None) -> None:
        """Pause a schedule, or resume it from `next_at_ms` (occurrences while paused are not made up)."""
        async def _body(db: Db) -> None:
            n = await db.execute(
                "UPDATE schedules SET paused = $1, next_at_ms = coalesce($2, next_at_ms) WHERE name = $3",
                (int(paused), next_at_ms, name),
            )
            if n == 0:
                raise UsageError(f"no schedule named {name!r} (see `jobtui schedule ls`)")
        await self._atomic(_body)

    async def remove_schedule(self, name: str) -> None:
        """Delete a schedule and its history (its jobs stay)."""
        async def _body(db: Db) -> None:
            n = await db.execute("DELETE FROM schedules WHERE name = $1", (name,))
            if n == 0:
                raise UsageError(f"no schedule named {name!r} (see `jobtui schedule ls`)")
            await db.execute("DELETE FROM schedule_runs WHERE name = $1", (name,))
        await self._atomic(_body)

    async def schedule_runs(self, name: str, *, limit: int = 50) -> list[ScheduleRun]:
        """Return a schedule's latest occurrences, newest first."""
        rows = await self._all(
            f"SELECT {_RUN_COLS} FROM schedule_runs WHERE name = $1 ORDER BY occurrence_ms DESC LIMIT $2", (name, limit)
        )
        return [ScheduleRun(*r) for r in rows]

    async def next_schedule_ms(self) -> int | None:
        """Return when the next schedule is due (None: no active schedule)."""
        row = await self._one("SELECT min(next_at_ms) FROM schedules WHERE paused = 0")
        return None if row is None or row[0] is None else int(row[0])

    async def due_schedules(self, now_ms: int) -> list[Schedule]:
        """Return the active schedules due at `now_ms`."""
        rows = await self._all(
            f"SELECT {_COLS} FROM schedules WHERE paused = 0 AND next_at_ms <= $1 ORDER BY next_at_ms", (now_ms,)
        )
        return [_schedule(r) for r in rows]

    async def fire_schedule(
        self, s: Schedule, *, occurrence_ms: int, missed: int, next_at_ms: int, job: NewJob | None,
        error: str | None, runner_id: str, source: str = "schedule",
    ) -> ScheduleRun | None:
        """Record one occurrence and submit its job, in one transaction; None if another runner did it first.

        A job whose unique key a concurrent submit took at the same moment (PostgreSQL) makes the transaction
        run again: its check then refuses the job in one line, as it refuses a later firing.
        """
        return await retried_on_clash(
            lambda: self._fire_once(s, occurrence_ms=occurrence_ms, missed=missed, next_at_ms=next_at_ms, job=job,
                                    error=error, runner_id=runner_id, source=source),
            f"schedule {s.name}")

    async def _fire_once(
        self, s: Schedule, *, occurrence_ms: int, missed: int, next_at_ms: int, job: NewJob | None,
        error: str | None, runner_id: str, source: str,
    ) -> ScheduleRun | None:
        """Run fire_schedule's transaction once."""
        now = self.clock()
        async def _body(db: Db) -> ScheduleRun | None:
            n = await db.execute(
                "UPDATE schedules SET next_at_ms = $1, last_at_ms = $2 WHERE name = $3 AND next_at_ms = $4 AND paused = 0",
                (next_at_ms, occurrence_ms, s.name, s.next_at_ms),
            )
            if n == 0:
                return None
            n = await db.execute(
                "INSERT INTO schedule_runs (name, occurrence_ms, outcome, missed, at_ms, runner_id)"
                " VALUES ($1, $2, 'fired', $3, $4, $5) ON CONFLICT (name, occurrence_ms) DO NOTHING",
                (s.name, occurrence_ms, missed, now, runner_id),
            )
            if n == 0:
                return None
            outcome, job_id, detail = "fired", None, None
            active = [] if s.last_job_id is None else list(await db.execute_fetchall(
                f"SELECT status FROM jobs WHERE job_id = $1 AND status NOT IN {_TERMINAL_SQL}", (s.last_job_id,)
            ))
            if error is not None:
                outcome, detail = "error", error
            elif active:
                outcome, detail = "skipped", f"job #{s.last_job_id} is still {active[0][0]}"
            elif job is not None:
                [job_id] = await self._insert_jobs_for_schedule(db, job, source, now)
                await db.execute("UPDATE schedules SET last_job_id = $1 WHERE name = $2", (job_id, s.name))
            await db.execute(
                "UPDATE schedule_runs SET outcome = $1, job_id = $2, detail = $3 WHERE name = $4 AND occurrence_ms = $5",
                (outcome, job_id, detail, s.name, occurrence_ms),
            )
            await db.execute(
                "DELETE FROM schedule_runs WHERE name = $1 AND occurrence_ms <= (SELECT occurrence_ms FROM schedule_runs"
                "  WHERE name = $2 ORDER BY occurrence_ms DESC LIMIT 1 OFFSET $3)",
                (s.name, s.name, KEEP_RUNS),
            )
            return ScheduleRun(s.name, occurrence_ms, outcome, job_id, missed, detail, now, runner_id)
        return await self._atomic(_body)

    async def _insert_jobs_for_schedule(self, db: Any, job: NewJob, source: str, now: int) -> list[JobId]:
        insert = getattr(self, "_insert_jobs")  # JobQueries; the Store class has both  # noqa: B009
        keys = [job.unique_key] if job.unique_key is not None else []
        ids: list[JobId] = await insert(db, [job], keys, source, now)
        return ids
