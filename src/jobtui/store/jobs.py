"""Submission and reads (a person's control requests: store/control.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from operator import itemgetter
from typing import Any, Unpack

from ..errors import JobNotFoundError, UsageError
from ..listing import JobMatch, search_text
from ..model import (
    AttemptRecord,
    ItemRecord,
    Job,
    JobId,
    JobStatus,
    LogLine,
    RequestRecord,
    RunnerInfo,
    Stats,
)
from .base import StoreCore
from .clash import retried_on_clash
from .deps import check_deps, link_deps
from .dialect import Dialect
from .fleet import link_needs
from .labels import label_conditions, link_labels
from .notify import link_targets
from .queues import check_queues
from .records import (
    _TERMINAL_SQL,
    JOB_COLS,
    NewJob,
    _job,
    _loads,
    dumps,
    item_status,
)
from .seam import Db, Params


def job_filters(d: Dialect, p: Params, match: JobMatch) -> list[str]:
    """Return the WHERE conditions selecting the jobs `match` names (unique key, current stage, status, type, labels,
    queue); their values go to `p`."""
    where = label_conditions(match.get("labels", ()), p)
    queue, unique_key, stage = match.get("queue"), match.get("unique_key"), match.get("stage")
    statuses, types = match.get("statuses"), match.get("types")
    if queue is not None:
        where.append(f"queue = {p.add(queue)}")
    if unique_key is not None:
        where.append(f"unique_key = {p.add(unique_key)}")
    if stage is not None:
        where.append(f"{d.step_name} = {p.add(stage)}")
    if statuses is not None:
        where.append(f"status IN ({d.texts(p.add(dumps([str(s) for s in statuses])))})")
    if types is not None:
        where.append(f"type IN ({d.texts(p.add(dumps(list(types))))})")
    return where


class JobQueries(StoreCore):
    """What the CLI and the TUI read and send, through the client."""

    async def add_jobs(self, jobs: Sequence[NewJob], *, source: str = "cli") -> list[JobId]:
        """Insert jobs (queued) with their pending stages; return their ids in order.

        Raises:
            UsageError: a unique key already has an active job, or repeats within `jobs`.
        """
        if not jobs:
            return []
        now = self.clock()
        keys = [j.unique_key for j in jobs if j.unique_key is not None]
        if len(keys) != len(set(keys)):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise UsageError(f"unique key {dup!r} is given to more than one new job")

        async def unit() -> list[JobId]:
            async def _body(db: Db) -> list[JobId]:
                return await self._insert_jobs(db, jobs, keys, source, now)
            return await self._atomic(_body)

        # A unique key taken by a submit committing at the same instant (PostgreSQL): the second run's check words it.
        return await retried_on_clash(unit, "submit")

    async def _insert_jobs(
        self, db: Db, jobs: Sequence[NewJob], keys: list[str], source: str, now: int
    ) -> list[JobId]:
        """Insert jobs inside an open transaction (submission, and a schedule's firing)."""
        if keys:
            rows = list(await db.execute_fetchall(
                f"SELECT unique_key, job_id FROM jobs WHERE status NOT IN {_TERMINAL_SQL}"
                f" AND unique_key IN ({db.dialect.texts('$1')})",
                (dumps(keys),),
            ))
            for key, job_id in rows:
                raise UsageError(f"unique key {key!r} already has active job {job_id}")
        ids = [int(r[0]) for r in await db.execute_fetchall(db.dialect.new_ids_sql, (len(jobs),))]
        deps = await check_deps(db, (d for j in jobs for d in j.after))
        status = [
            "blocked" if any(deps[d] is not JobStatus.COMPLETED for d in j.after) else "queued" for j in jobs
        ]
        await check_queues(db, (j.queue for j in jobs))
        await db.executemany(
            "INSERT INTO jobs (job_id, type, status, params, priority, unique_key, stage_names, run_at_ms,"
            " max_retries, created_at_ms, updated_at_ms, timeout_ms, search_text, queue)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            [
                (jid, j.type, st, dumps(j.params), j.priority, j.unique_key, dumps(list(j.stage_names)),
                 j.run_at_ms, j.max_retries, now, now, j.timeout_ms, search_text(j.type, j.unique_key, j.params),
                 j.queue)
                for jid, j, st in zip(ids, jobs, status, strict=True)
            ],
        )
        await link_needs(db, ((jid, j.needs) for jid, j in zip(ids, jobs, strict=True) if j.needs))
        await link_labels(db, ((jid, j.labels) for jid, j in zip(ids, jobs, strict=True) if j.labels))
        for jid, j in zip(ids, jobs, strict=True):
            if j.after:
                await link_deps(db, jid, j.after)
            if j.notify:
                await link_targets(db, jid, j.notify, j.notify_on)
        await db.executemany(
            "INSERT INTO stages (job_id, stage_index, name, max_attempts) VALUES ($1, $2, $3, $4)",
            [
                (jid, i, name, j.max_attempts[i] if i < len(j.max_attempts) else 1)
                for jid, j in zip(ids, jobs, strict=True)
                for i, name in enumerate(j.stage_names)
            ],
        )
        await db.executemany(
            "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, source)"
            " VALUES ($1, $2, 'submit', '', $3, $4)",
            [(jid, now, st, source) for jid, st in zip(ids, status, strict=True)],
        )
        return ids

    # -------------------------------------------------------------------------------------- reads
    async def get_job(self, job_id: JobId) -> Job:
        """Return one job.

        Raises:
            JobNotFoundError: no job has this id.
        """
        row = await self._one(f"SELECT {JOB_COLS} FROM jobs WHERE job_id = $1", (job_id,))
        if row is None:
            raise JobNotFoundError(job_id)
        return _job(row)

    async def list_jobs(
        self, *, limit: int | None = None, updated_after_ms: int | None = None, newest_first: bool = False,
        **match: Unpack[JobMatch],
    ) -> list[Job]:
        """Return jobs, oldest first unless `newest_first`, filtered by status, type, change time, unique key,
        the stage they are at (by name), labels (each one; a None value: any value of that key) and queue."""
        p = Params()
        where = job_filters(self.sql, p, match)
        if updated_after_ms is not None:
            where.append(f"updated_at_ms > {p.add(updated_after_ms)}")
        params = p.values
        sql = f"SELECT {JOB_COLS} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if updated_after_ms is not None and limit is None:
            # The TUI's poll: a few recent rows. Sorted here, SQLite walks the jobs_updated_id index over them;
            # with ORDER BY job_id it scans the whole table in id order (8 ms instead of 3 at 10,000 jobs).
            rows = await self._all(sql, params)
            rows.sort(key=itemgetter(0), reverse=newest_first)
            return [_job(r) for r in rows]
        sql += " ORDER BY job_id DESC" if newest_first else " ORDER BY job_id"
        if limit is not None:
            sql += f" LIMIT {p.add(limit)}"
        return [_job(r) for r in await self._all(sql, params)]

    async def iter_jobs(
        self,
        *,
        statuses: Iterable[str] | None = None,
        types: Iterable[str] | None = None,
        newest: int | None = None,
        page: int = 1000,
    ) -> AsyncIterator[Job]:
        """Yield jobs oldest first (only the `newest` N when given), reading `page` rows at a time.

        Memory stays bounded whatever the number of jobs (`ls --json` on 50k jobs held them all).
        """
        p = Params()
        where = job_filters(self.sql, p, {"statuses": statuses, "types": types})
        params = p.values
        n = len(params)
        after = 0
        if newest is not None:
            if newest <= 0:
                return
            cond = " WHERE " + " AND ".join(where) if where else ""
            row = await self._one(
                f"SELECT job_id FROM jobs{cond} ORDER BY job_id DESC LIMIT 1 OFFSET ${n + 1}", (*params, newest - 1)
            )
            after = row[0] - 1 if row is not None else 0
        sql = (f"SELECT {JOB_COLS} FROM jobs WHERE " + " AND ".join([*where, f"job_id > ${n + 1}"])
               + f" ORDER BY job_id LIMIT ${n + 2}")
        while True:
            rows = await self._all(sql, (*params, after, page))
            for r in rows:
                yield _job(r)
            if len(rows) < page:
                return
            after = rows[-1][0]

    async def job_ids(self) -> set[JobId]:
        """Return the ids of every job."""
        return {r[0] for r in await self._all("SELECT job_id FROM jobs")}

    async def job_ids_signature(self) -> tuple[int, int, int]:
        """Return (count, max id, sum of ids) of the jobs: cheap to read, and it changes when a job is deleted."""
        row = await self._one("SELECT count(*), coalesce(max(job_id), 0), coalesce(sum(job_id), 0) FROM jobs")
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def stats(self, *, runner_ttl_ms: int = 30_000) -> Stats:
        """Return counts by status and type, item totals and live runners."""
        by_status = {r[0]: r[1] for r in await self._all("SELECT status, count(*) FROM jobs GROUP BY status")}
        by_type = {r[0]: r[1] for r in await self._all("SELECT type, count(*) FROM jobs GROUP BY type")}
        items = await self._one("SELECT coalesce(sum(items_done), 0), coalesce(sum(items_failed), 0) FROM jobs")
        now = self.clock()
        runners = tuple(r for r in await self.runners() if r.alive(now, runner_ttl_ms))
        return Stats(by_status, by_type, runners, int(items[0]), int(items[1]))

    async def logs(
        self, job_id: JobId, *, after_id: int = 0, limit: int = 1000, tail: bool = False
    ) -> list[LogLine]:
        """Return log lines of a job after `after_id`; with `tail`, the last `limit` of them."""
        if tail:
            rows = await self._all(
                "SELECT log_id, job_id, ts_ms, level, message FROM logs WHERE job_id = $1 AND log_id > $2"
                " ORDER BY log_id DESC LIMIT $3",
                (job_id, after_id, limit),
            )
            rows.reverse()
        else:
            rows = await self._all(
                "SELECT log_id, job_id, ts_ms, level, message FROM logs WHERE job_id = $1 AND log_id > $2"
                " ORDER BY log_id LIMIT $3",
                (job_id, after_id, limit),
            )
        return [LogLine(*r) for r in rows]

    async def all_logs(self, *, after_id: int = 0, limit: int = 1000, tail: bool = False) -> list[LogLine]:
        """Return log lines of every job after `after_id`, in order; with `tail`, the last `limit`."""
        order = "DESC" if tail else ""
        rows = await self._all(
            f"SELECT log_id, job_id, ts_ms, level, message FROM logs WHERE log_id > $1 ORDER BY log_id {order} LIMIT $2",
            (after_id, limit),
        )
        if tail:
            rows.reverse()
        return [LogLine(*r) for r in rows]

    async def items(self, job_id: JobId, *, chunk: int = 5000) -> AsyncIterator[ItemRecord]:
        """Yield every stored item outcome of a job, by stage then key."""
        names = {r[0]: r[1] for r in await self._all(
            "SELECT stage_index, name FROM stages WHERE job_id = $1", (job_id,))}
        last: tuple[int, str] = (-1, "")
        while True:
            rows = await self._all(
                "SELECT stage_index, key, status, result, error, attempts, updated_at_ms FROM items"
                " WHERE job_id = $1 AND (stage_index, key) > ($2, $3) ORDER BY stage_index, key LIMIT $4",
                (job_id, last[0], last[1], chunk),
            )
            for r in rows:
                yield ItemRecord(r[0], names.get(r[0], str(r[0])), r[1], item_status(r[2]), _loads(r[3]), r[4],
                                 r[5], r[6])
            if len(rows) < chunk:
                return
            last = (rows[-1][0], rows[-1][1])

    async def item_results(self, job_id: JobId, stage_index: int) -> dict[str, Any]:
        """Return the results of the done items of one stage, by key."""
        rows = await self._all(
            "SELECT key, result FROM items WHERE job_id = $1 AND stage_index = $2 AND status = 'done' ORDER BY key",
            (job_id, stage_index),
        )
        return {r[0]: _loads(r[1]) for r in rows}

    async def attempt_errors(self, job_id: JobId) -> list[AttemptRecord]:
        """Return every failed attempt of a job's stages, by stage then attempt."""
        rows = await self._all(
            "SELECT stage_index, attempt, failed_at_ms, error, transient FROM attempts WHERE job_id = $1"
            " ORDER BY stage_index, attempt",
            (job_id,),
        )
        return [AttemptRecord(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    async def requests(self, job_id: JobId) -> list[RequestRecord]:
        """Return the audit trail of a job: each request and recovery, who and when, oldest first."""
        rows = await self._all(
            "SELECT ts_ms, action, from_status, to_status, source, detail FROM requests WHERE job_id = $1"
            " ORDER BY request_id",
            (job_id,),
        )
        return [RequestRecord(*r) for r in rows]

    async def runners(self) -> list[RunnerInfo]:
        """Return every registered runner, with its name and tags."""
        rows = await self._all(
            "SELECT runner_id, pid, hostname, started_at_ms, heartbeat_at_ms, concurrency, lease_ttl_ms, name, host_id"
            " FROM runners ORDER BY coalesce(name, runner_id), runner_id"
        )
        tags: dict[str, list[str]] = {}
        for runner_id, tag in await self._all("SELECT runner_id, tag FROM runner_tags ORDER BY runner_id, tag"):
            tags.setdefault(runner_id, []).append(tag)
        return [RunnerInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tuple(tags.get(r[0], ())), r[8]) for r in rows]

    async def integrity_check(self) -> str:
        """Return the result of `PRAGMA integrity_check` ('ok' when sound)."""
        row = await self._one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"
