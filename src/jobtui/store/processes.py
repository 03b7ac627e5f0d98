"""Processes that command stages start: recorded so that a later runner can end those a dead one left."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from .. import storable
from ..model import JobId, JobStatus, ProcessRecord
from .base import StoreCore
from .batch import R_LOG, R_STAGE_START, R_STAGE_STATE
from .records import dumps
from .seam import Db

PROC_COLS = (
    "job_id, stage_index, slot, pid, pgid, start_ticks, boot_id, runner_id, argv, cwd, started_at_ms, ended_at_ms,"
    " exit_code, frozen, token, cgroup"
)
_REPLACE = ", ".join(f"{c} = excluded.{c}" for c in PROC_COLS.replace(" ", "").split(",")[3:])
"""The upsert of a process row: every column but its key (job_id, stage_index, slot) from the new row."""

PROCESS_UPSERT = (
    f"INSERT INTO processes ({PROC_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, 0,"
    f" $12, $13) ON CONFLICT (job_id, stage_index, slot) DO UPDATE SET {_REPLACE}"
)
"""Record a started process (or one about to start: pid 0), replacing the row of an earlier one of its slot."""


def upsert_params(p: ProcessRecord) -> tuple[object, ...]:
    """Return PROCESS_UPSERT's parameters for a process record."""
    return (p.job_id, p.stage_index, p.slot, p.pid, p.pgid, p.start_ticks, p.boot_id, p.runner_id, dumps(list(p.argv)),
            p.cwd, p.started_at_ms, p.token, p.cgroup)
_OUTPUT_SQL = "UPDATE jobs SET output_bytes = $1 WHERE job_id = $2"


def _proc(row: tuple[object, ...]) -> ProcessRecord:
    r = list(row)
    return ProcessRecord(
        int(r[0]), int(r[1]), str(r[2]), int(r[3]), int(r[4]), int(r[5]), str(r[6]),  # type: ignore[call-overload]
        None if r[7] is None else str(r[7]), tuple(json.loads(str(r[8]))), None if r[9] is None else str(r[9]),
        int(r[10]), None if r[11] is None else int(r[11]),  # type: ignore[call-overload]
        None if r[12] is None else int(r[12]), bool(r[13]),  # type: ignore[call-overload]
        None if r[14] is None else str(r[14]), None if r[15] is None else str(r[15]),
    )


class ProcessRecords(StoreCore):
    """The `processes` table: one row per stage command (or per item slot), while it may be alive."""

    async def output_bytes(self, job_id: JobId) -> int:
        """Return the bytes of command output a job has logged in all its runs (0 for an unknown job)."""
        row = await self._one("SELECT output_bytes FROM jobs WHERE job_id = $1", (job_id,))
        return 0 if row is None or row[0] is None else int(row[0])

    def watch_output(self, job_id: JobId, read: Callable[[], int]) -> None:
        """Queue: the bytes of output a job has logged, as `read` returns them when the next commit is taken."""
        self._latest(R_LOG, _OUTPUT_SQL, ("output", job_id), job_id, lambda: (storable.count(read()), job_id))

    async def process_started(self, p: ProcessRecord) -> None:
        """Record a started process and commit it (with whatever else is queued) before returning."""
        self.process_queued(p)
        await self.commit_point()

    def process_queued(self, p: ProcessRecord) -> None:
        """Queue: a started process's record, for the next group commit (for one whose containment is committed:
        a crash before this commit still finds it by its token or cgroup, so it starts no commit of its own)."""
        self._submit(
            R_STAGE_START, PROCESS_UPSERT, upsert_params(p),
            lazy=bool(p.pid and (p.token or p.cgroup)),
        )

    def process_ended(self, job_id: JobId, index: int, slot: str, exit_code: int | None, *, keep: bool) -> None:
        """Queue: a process was reaped; keep its row (with the exit code) or drop it."""
        if keep:
            self._submit(
                R_STAGE_STATE,
                "UPDATE processes SET ended_at_ms = $1, exit_code = $2, frozen = 0 WHERE job_id = $3 AND stage_index = $4"
                " AND slot = $5",
                (self.clock(), exit_code, job_id, index, slot),
            )
        else:
            self._submit(
                R_STAGE_STATE, "DELETE FROM processes WHERE job_id = $1 AND stage_index = $2 AND slot = $3",
                (job_id, index, slot),
            )

    def process_unused(self, job_id: JobId, index: int, token: str) -> None:
        """Queue: drop the row a claim wrote ahead for a stage's first command (`Ahead`) that never started it."""
        self._submit(
            R_STAGE_STATE,
            "DELETE FROM processes WHERE job_id = $1 AND stage_index = $2 AND slot = '' AND pid = 0 AND token = $3",
            (job_id, index, token),
        )

    def process_frozen(self, job_id: JobId, index: int, slot: str, frozen: bool) -> None:
        """Queue: a process was stopped (SIGSTOP) or continued."""
        self._submit(
            R_STAGE_START,
            "UPDATE processes SET frozen = $1 WHERE job_id = $2 AND stage_index = $3 AND slot = $4",
            (int(frozen), job_id, index, slot),
        )

    async def processes(self, job_id: JobId, stage_index: int | None = None, *, alive: bool = False) -> list[ProcessRecord]:
        """Return the recorded processes of a job (of one stage; only those not known to have ended)."""
        sql = f"SELECT {PROC_COLS} FROM processes WHERE job_id = $1"
        params: list[object] = [job_id]
        if stage_index is not None:
            sql += " AND stage_index = $2"
            params.append(stage_index)
        if alive:
            sql += " AND ended_at_ms IS NULL"
        rows = await self._all(sql + " ORDER BY stage_index, slot", params)
        return [_proc(tuple(r)) for r in rows]

    async def forget_processes(self, job_id: JobId, records: Iterable[ProcessRecord]) -> None:
        """Mark processes as ended (they were found gone or were ended by a later runner).

        Only the rows as `records` read them: a row a newer process of the same slot has replaced since (its
        pid or token differ) stays alive, or the next recovery would not know to end that process.
        """
        async def _body(db: Db) -> None:
            await db.executemany(
                "UPDATE processes SET ended_at_ms = coalesce(ended_at_ms, $1), frozen = 0 WHERE job_id = $2"
                " AND stage_index = $3 AND slot = $4 AND pid = $5 AND coalesce(token, '') = $6",
                [(self.clock(), job_id, r.stage_index, r.slot, r.pid, r.token or "") for r in records],
            )
        await self._atomic(_body)

    async def held_status(self, job_ids: list[JobId]) -> dict[JobId, tuple[JobStatus, str | None]]:
        """Return (status, lease_owner) of jobs (those that no longer exist are missing)."""
        rows = await self._all(
            f"SELECT job_id, status, lease_owner FROM jobs WHERE {self.sql.id_in('job_id', '$1')}",
            (dumps(job_ids),),
        )
        return {int(r[0]): (JobStatus(r[1]), r[2]) for r in rows}
