"""The notification outbox: events written in the same transaction as a job's end, then delivered.

A job names its targets (`notify_targets`: a URL to POST to, a command to run); a runner may add
defaults for jobs that name none (`StoreCore.notify_defaults`). When a job completes, fails for good,
is cancelled or auto-pauses, one `notifications` row per target is inserted in the transaction that
records the end, so an event is never lost to a crash: a runner that starts later delivers it.
A deliverer claims due rows with a lease (`claimed_by`, `claimed_until_ms`); a dead runner's claims
are free again at once (its `runners` row is gone) or when the lease lapses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model import JobId, Notification, NotifyEvent
from .base import StoreCore
from .batch import R_JOB_END
from .records import dumps
from .seam import Db

R_NOTIFY = R_JOB_END + 2
"""After the job's end (and its dependents' release) in the same group commit."""

_COLS = (
    "notification_id, job_id, event, kind, target, state, attempts, last_error, created_at_ms, next_at_ms,"
    " sent_at_ms"
)
_STATUS_OF = {NotifyEvent.COMPLETED: "completed", NotifyEvent.FAILED: "failed",
              NotifyEvent.CANCELLED: "cancelled", NotifyEvent.PAUSED: "paused"}


def event_params(job_id: JobId, event: NotifyEvent, now: int, defaults: Sequence[tuple[str, str]]) -> tuple[Any, ...]:
    """Return the parameters of the dialect's `event_sql`: (job_id, event, now, defaults JSON, status).

    It inserts one row per target for an event, only if the job is in the event's status (its end applied);
    the unique key makes a repeat of one event a no-op."""
    return (job_id, event.value, now, dumps([list(d) for d in defaults]), _STATUS_OF[event])


async def insert_event(db: Db, job_id: JobId, event: NotifyEvent, now: int,
                       defaults: Sequence[tuple[str, str]]) -> None:
    """Insert an event's outbox rows inside an open transaction."""
    await db.execute(db.dialect.event_sql, event_params(job_id, event, now, defaults))


async def link_targets(db: Db, job_id: JobId, targets: Sequence[tuple[str, str]], notify_on: Sequence[str] = ()) -> None:
    """Record where a new job's ends (and the other moments `notify_on` names, jobtui/notify_on.py) are told."""
    await db.executemany(
        "INSERT INTO notify_targets (job_id, kind, target) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [(job_id, k, t) for k, t in targets],
    )
    if notify_on:
        await db.execute("UPDATE jobs SET notify_on = $1 WHERE job_id = $2", (",".join(notify_on), job_id))


def _row(r: Sequence[Any]) -> Notification:
    return Notification(*r)


class NotifyQueries(StoreCore):
    """The outbox: queue events with a job's end, claim due ones, record how delivery went."""

    def notify_event(self, job_id: JobId, event: NotifyEvent) -> None:
        """Queue: tell the job's targets about `event` (in the same group commit as the job's end)."""
        self._submit(R_NOTIFY, self.sql.event_sql, event_params(job_id, event, self.clock(), self.notify_defaults),
                     job=job_id)

    async def notifications(self, job_id: JobId) -> tuple[Notification, ...]:
        """Return every event of a job told or to tell, oldest first."""
        rows = await self._all(f"SELECT {_COLS} FROM notifications WHERE job_id = $1 ORDER BY notification_id",
                               (job_id,))
        return tuple(_row(r) for r in rows)

    async def claim_notifications(self, runner_id: str, limit: int, lease_ms: int,
                                  kinds: Sequence[str] = ("url", "cmd")) -> list[Notification]:
        """Take up to `limit` due deliveries for this runner (free, lapsed, or held by a runner that is gone)."""
        now = self.clock()
        async def _body(db: Db) -> list[Notification]:
            rows = list(await db.execute_fetchall(
                "UPDATE notifications SET claimed_by = $1, claimed_until_ms = $2 WHERE notification_id IN ("
                "  SELECT notification_id FROM notifications WHERE state = 'pending' AND next_at_ms <= $3"
                f"  AND kind IN ({self.sql.texts('$4')})"
                "  AND (claimed_by IS NULL OR claimed_until_ms < $5"
                "       OR claimed_by NOT IN (SELECT runner_id FROM runners))"
                f"  ORDER BY next_at_ms LIMIT $6{self.sql.skip_locked})"
                f" RETURNING {_COLS}",
                (runner_id, now + lease_ms, now, dumps(list(kinds)), now, limit),
            ))
            return sorted((_row(r) for r in rows), key=lambda n: n.notification_id)
        return await self._atomic(_body)

    async def database_id(self) -> str:
        """Return the database's identity: a random id made once, when the database was created or upgraded."""
        row = await self._one("SELECT database_id FROM database_identity LIMIT 1")
        return str(row[0]) if row else ""

    async def next_notification_ms(self) -> int | None:
        """Return when the next pending delivery is due (None: none is)."""
        row = await self._one("SELECT min(next_at_ms) FROM notifications WHERE state = 'pending'")
        return None if row is None or row[0] is None else int(row[0])

    async def notification_sent(self, notification_id: int, runner_id: str, attempts: int) -> None:
        """Record a delivery that succeeded."""
        async def _body(db: Db) -> None:
            await db.execute(
                "UPDATE notifications SET state = 'sent', sent_at_ms = $1, attempts = attempts + $2, last_error = NULL,"
                " claimed_by = NULL, claimed_until_ms = NULL WHERE notification_id = $3 AND state = 'pending'",
                (self.clock(), attempts, notification_id),
            )
        await self._atomic(_body)

    async def notification_failed(self, notification_id: int, runner_id: str, attempts: int, error: str,
                                  retry_at_ms: int | None) -> None:
        """Record a failed delivery: try again at `retry_at_ms`, or give up (state 'failed') when None."""
        async def _body(db: Db) -> None:
            await db.execute(
                "UPDATE notifications SET attempts = attempts + $1, last_error = $2, claimed_by = NULL,"
                " claimed_until_ms = NULL, next_at_ms = coalesce($3, next_at_ms),"
                " state = CASE WHEN $3 IS NULL THEN 'failed' ELSE 'pending' END"
                " WHERE notification_id = $4 AND state = 'pending'",
                (attempts, error, retry_at_ms, notification_id),
            )
        await self._atomic(_body)

    async def defer_notifications(self, notification_ids: Sequence[int], runner_id: str, next_at_ms: int) -> None:
        """Hand claimed deliveries back untried (no attempt counted), due again at `next_at_ms`."""
        if not notification_ids:
            return
        async def _body(db: Db) -> None:
            await db.execute(
                "UPDATE notifications SET claimed_by = NULL, claimed_until_ms = NULL, next_at_ms = $1"
                f" WHERE {self.sql.id_in('notification_id', '$2')} AND claimed_by = $3 AND state = 'pending'",
                (next_at_ms, dumps(list(notification_ids)), runner_id),
            )
        await self._atomic(_body)
