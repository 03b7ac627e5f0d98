"""The moments of a job told beside its end (`--notify-on started,progress,retrying`; issue 21 item 6).

A runner's notifier looks, about once a second, at what changed (engine/life_events.py) and inserts the
outbox rows of those moments here; the outbox delivers them as it delivers ends. Each row's event time
is the moment's own (the job event's, the next attempt's, the progress read), and the outbox's unique key
(job, event, time, target) makes a second look, or a second runner, insert nothing twice.
One SQL text for both dialects (`$n` placeholders) but for the stage count (the dialect's fragment).
"""

from __future__ import annotations

from ..model import JobId
from ..notify_on import EVENT_OF_STATUS
from .base import StoreCore
from .schema import sql_in
from .seam import Db
from .values import Watched


class LifeQueries(StoreCore):
    """Find the moments to tell, and queue their outbox rows."""

    async def last_job_event(self) -> int:
        """Return the newest job event's id (0: none)."""
        row = await self._one("SELECT coalesce(max(event_id), 0) FROM job_events")
        return int(row[0]) if row else 0

    async def life_events(self, after_id: int, limit: int = 500) -> list[tuple[int, JobId, int, str, str]]:
        """Return (event id, job id, time, to status, notify_on) of jobs that name events, started or set to retry."""
        rows = await self._all(
            "SELECT e.event_id, e.job_id, e.ts_ms, e.to_status, j.notify_on FROM job_events e"
            " JOIN jobs j ON j.job_id = e.job_id WHERE e.event_id > $1 AND e.kind = 'transition'"
            f" AND e.to_status IN {sql_in(EVENT_OF_STATUS)} AND j.notify_on IS NOT NULL"
            " ORDER BY e.event_id LIMIT $2",
            (after_id, limit),
        )
        return [(int(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows]

    async def watched_jobs(self, runner_id: str) -> list[Watched]:
        """Return this runner's running jobs whose targets want progress or retrying."""
        count = self.sql.stage_count
        rows = await self._all(
            f"SELECT j.job_id, j.notify_on, j.current_step_index, j.progress_done, j.progress_total, {count},"
            " (SELECT max(s.next_attempt_at_ms) FROM stages s WHERE s.job_id = j.job_id AND s.status = 'retrying')"
            " FROM jobs j WHERE j.lease_owner = $1 AND j.status = 'running' AND j.notify_on IS NOT NULL"
            " AND (j.notify_on LIKE '%progress%' OR j.notify_on LIKE '%retrying%')",
            (runner_id,),
        )
        out = []
        for job_id, notify_on, index, done, total, stages, retry_at in rows:
            inner = min(1.0, done / total) if total else 0.0
            percent = min(100.0, (index + inner) * 100 / stages) if stages else 0.0
            out.append(Watched(int(job_id), str(notify_on), round(percent, 1), None if retry_at is None else int(retry_at)))
        return out

    async def notify_on(self, job_id: JobId) -> tuple[str, ...]:
        """Return the moments a job's targets are told of (`--notify-on`; (): its ends only)."""
        row = await self._one("SELECT notify_on FROM jobs WHERE job_id = $1", (job_id,))
        return tuple(str(row[0]).split(",")) if row and row[0] else ()

    async def tell(self, job_id: JobId, event: str, event_at_ms: int) -> int:
        """Queue one outbox row per target of a job for a moment; return how many were new."""
        now = self.clock()
        async def _body(db: Db) -> int:
            return await db.execute(
                "INSERT INTO notifications (job_id, event, event_at_ms, kind, target, created_at_ms, next_at_ms)"
                " SELECT t.job_id, $2, $3, t.kind, t.target, $4, $4 FROM notify_targets t WHERE t.job_id = $1"
                " ON CONFLICT DO NOTHING",
                (job_id, event, event_at_ms, now),
            )
        return await self._atomic(_body)
