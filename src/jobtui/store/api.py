"""What the HTTP API keeps in the database: tokens, idempotency keys, the job event log, keyset pages of jobs.

The event log (`job_events`) is written by triggers on `jobs` (schema migration 12), in commit order: a
stream's cursor is the last event id it sent, and any server on the same database continues it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Unpack, cast

from ..apimodel import JobEvent, Scope, TokenInfo
from ..errors import UsageError
from ..listing import JobMatch
from ..model import Job, JobId, JobStatus
from .base import StoreCore
from .clash import retried_on_clash
from .jobs import JobQueries, job_filters
from .records import JOB_COLS, NewJob, _job, dumps
from .seam import Db, Params

_TOKEN_COLS = "token_id, name, scope, token_hash, created_at_ms, last_used_at_ms"
_EVENT_COLS = "event_id, job_id, ts_ms, kind, from_status, to_status, ref_id"


def _token(r: Any) -> TokenInfo:
    return TokenInfo(int(r[0]), r[1], Scope(r[2]), r[3], int(r[4]), None if r[5] is None else int(r[5]))


async def _used_key(db: Db, owner: str, key: str) -> tuple[JobId, str, bool] | None:
    """Return (job id, fingerprint, False) when `owner` already used the idempotency key `key`."""
    rows = await db.execute_fetchall(
        "SELECT job_id, fingerprint FROM idempotency_keys WHERE owner = $1 AND key = $2", (owner, key))
    return (int(rows[0][0]), str(rows[0][1]), False) if rows else None


EVENT_BOUNDS_SQL = "SELECT (SELECT min(event_id) FROM job_events), (SELECT max(event_id) FROM job_events)"
"""Each end read from the key's b-tree: `min(x), max(x)` in one SELECT scans every event (28 ms at 120,000 here,
twice in the TUI's first load)."""


class ApiQueries(StoreCore):
    """Tokens, idempotent submission, job events and job pages for `jobtui serve`."""

    # ------------------------------------------------------------------------------------ tokens
    async def add_token(self, name: str, scope: str, token_hash: str) -> None:
        """Store a token's hash under a name.

        Raises:
            UsageError: a token of this name exists.
        """
        async def _body(db: Db) -> None:
            rows = list(await db.execute_fetchall("SELECT 1 FROM api_tokens WHERE name = $1", (name,)))
            if rows:
                raise UsageError(f"a token named {name!r} exists (remove it first: jobtui token rm {name})")
            await db.execute(
                "INSERT INTO api_tokens (name, scope, token_hash, created_at_ms) VALUES ($1, $2, $3, $4)",
                (name, scope, token_hash, self.clock()),
            )
        await self._atomic(_body)

    async def tokens(self) -> list[TokenInfo]:
        """Return every token (its hash, never the token), by name."""
        return [_token(r) for r in await self._all(f"SELECT {_TOKEN_COLS} FROM api_tokens ORDER BY name")]

    async def token_by_hash(self, token_hash: str) -> TokenInfo | None:
        """Return the token stored with this hash, if any."""
        row = await self._one(f"SELECT {_TOKEN_COLS} FROM api_tokens WHERE token_hash = $1", (token_hash,))
        return None if row is None else _token(row)

    async def remove_token(self, name: str) -> None:
        """Delete a token (UsageError when none has this name)."""
        async def _body(db: Db) -> None:
            if await db.execute("DELETE FROM api_tokens WHERE name = $1", (name,)) == 0:
                raise UsageError(f"no token named {name!r} (see `jobtui token ls`)")
        await self._atomic(_body)

    async def touch_token(self, token_id: int, at_ms: int) -> None:
        """Record a token's last use."""
        async def _body(db: Db) -> None:
            await db.execute("UPDATE api_tokens SET last_used_at_ms = $1 WHERE token_id = $2", (at_ms, token_id))
        await self._atomic(_body)

    # ------------------------------------------------------------------------- idempotent submit
    async def add_job_once(
        self, owner: str, key: str | None, fingerprint: str, job: NewJob, *, source: str,
        prepare: Callable[[JobId], Awaitable[None]] | None = None,
    ) -> tuple[JobId, str, bool]:
        """Insert a job unless `owner` already submitted one with this key (no key: always); return (job id,
        the fingerprint stored with the key, whether it was created now), in one transaction.

        `prepare(job_id)` runs inside the transaction, before it commits (uploaded files are put in the
        job's workspace there: no runner can claim the job before they are in place); if it raises,
        nothing is stored.
        """
        now = self.clock()

        async def unit() -> tuple[JobId, str, bool]:
            async def _body(db: Db) -> tuple[JobId, str, bool]:
                if key is not None and (used := await _used_key(db, owner, key)):
                    return used
                keys = [job.unique_key] if job.unique_key is not None else []
                try:
                    # The store's classes mix JobQueries in beside this one (see sqlite.Store, postgres.PgStore).
                    (job_id,) = await cast(JobQueries, self)._insert_jobs(db, [job], keys, source, now)
                except UsageError:
                    # The submit that used this key may have committed since the read above (at READ COMMITTED
                    # each statement sees what committed before it): its job has the unique key. Answer with it.
                    if key is not None and (used := await _used_key(db, owner, key)):
                        return used
                    raise
                if key is not None:
                    await db.execute(
                        "INSERT INTO idempotency_keys (owner, key, fingerprint, job_id, created_at_ms)"
                        " VALUES ($1, $2, $3, $4, $5)", (owner, key, fingerprint, job_id, now))
                if prepare is not None:
                    await prepare(job_id)
                return job_id, fingerprint, True

            if prepare is None:
                return await self._atomic(_body)
            # `prepare` moves uploaded files (off the event loop) inside the transaction: its steps awaited one by
            # one, on a server's loop, which draws nothing.
            async with self._tx() as db:
                return await _body(db)

        # The same key (or the job's unique key) committed by another submit at this instant (PostgreSQL):
        # the second run reads the winner's key and returns its job, or words the unique key's refusal.
        return await retried_on_clash(unit, "submit")

    # -------------------------------------------------------------------------------- job events
    async def job_events(self, *, after_id: int = 0, limit: int = 1000, job_id: JobId | None = None) -> list[JobEvent]:
        """Return job events after `after_id` in order (of one job, when given)."""
        if job_id is None:
            rows = await self._all(
                f"SELECT {_EVENT_COLS} FROM job_events WHERE event_id > $1 ORDER BY event_id LIMIT $2", (after_id, limit))
        else:
            rows = await self._all(
                f"SELECT {_EVENT_COLS} FROM job_events WHERE event_id > $1 AND job_id = $2 ORDER BY event_id LIMIT $3",
                (after_id, job_id, limit))
        return [JobEvent(int(r[0]), int(r[1]), int(r[2]), r[3], r[4], r[5], None if r[6] is None else int(r[6]))
                for r in rows]

    async def event_bounds(self) -> tuple[int, int]:
        """Return (oldest kept event id - 1, newest event id): a cursor below the first was pruned."""
        row = await self._one(EVENT_BOUNDS_SQL)
        if row is None or row[1] is None:
            last = await self._one("SELECT coalesce(max(event_id), 0) FROM job_events")
            return int(last[0]), int(last[0])
        return int(row[0]) - 1, int(row[1])

    async def prune_events(self, before_ms: int, *, keep: int) -> int:
        """Delete events older than `before_ms` beyond the newest `keep`; return how many."""
        async def _body(db: Db) -> int:
            n = await db.execute(
                "DELETE FROM job_events WHERE ts_ms < $1 AND event_id <= (SELECT coalesce(max(event_id), 0) FROM"
                " job_events) - $2", (before_ms, keep))
            return max(0, n)
        return await self._atomic(_body)

    # --------------------------------------------------------------------------------- job pages
    async def page_jobs(
        self, *, after_id: int = 0, limit: int = 100, before_id: int | None = None, newest_first: bool = False,
        since_ms: int | None = None, until_ms: int | None = None, **match: Unpack[JobMatch],
    ) -> list[Job]:
        """Return up to `limit` jobs with ids after `after_id` (and before `before_id`), filtered (created in
        [since, until); `labels`: (key, value) each job has, None: any value), in id order or, with `newest_first`,
        from the newest down (keyset pages either way)."""
        p = Params(after_id)
        where = ["job_id > $1", *job_filters(self.sql, p, match)]
        if since_ms is not None:
            where.append(f"created_at_ms >= {p.add(since_ms)}")
        if until_ms is not None:
            where.append(f"created_at_ms < {p.add(until_ms)}")
        if before_id is not None:
            where.append(f"job_id < {p.add(before_id)}")
        order = "job_id DESC" if newest_first else "job_id"
        sql = f"SELECT {JOB_COLS} FROM jobs WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {p.add(limit)}"
        return [_job(r) for r in await self._all(sql, p.values)]

    async def jobs_by_ids(self, job_ids: Iterable[JobId]) -> dict[JobId, Job]:
        """Return the jobs with these ids that exist."""
        ids = sorted(set(job_ids))
        if not ids:
            return {}
        rows = await self._all(f"SELECT {JOB_COLS} FROM jobs WHERE {self.sql.id_in('job_id', '$1')}", (dumps(ids),))
        return {j.job_id: j for j in map(_job, rows)}

    async def oldest_queued_ms(self) -> int | None:
        """Return when the oldest queued job was created (None when none is queued)."""
        row = await self._one("SELECT min(created_at_ms) FROM jobs WHERE status = $1", (JobStatus.QUEUED.value,))
        return None if row is None or row[0] is None else int(row[0])
