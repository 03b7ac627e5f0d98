"""Windowed reads of the job list: count the jobs a `Listing` matches and read a window of them in order.

The TUI's list holds only what is on screen: each refresh reads the window's rows by the listing's
order over an index (`jobs_updated_id`, `jobs_priority`, `jobs_type`, the primary key), counts the matches
in SQL, and first asks `change_token()` whether anything was committed at all. The `status` and
`progress` orders are computed expressions: SQL reads them with a top-N scan, not a full sort in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import PurePath

from ..listing import Listing
from ..model import Job, JobId, JobStatus
from .base import StoreCore
from .dialect import Dialect
from .labels import label_conditions
from .records import _TERMINAL_SQL, JOB_COLS, _job, dumps
from .seam import Params

_STATUSES = frozenset(s.value for s in JobStatus)

_FIELDS = (
    "('#' || CAST(job_id AS TEXT))", "coalesce(search_text, lower(type || ' ' || coalesce(unique_key, '')))",
    "status", "lower(progress_message)", "lower(error_message)", "lower(pause_reason)", "lower(failed_step)",
)
"""What free words search (as the TUI's filter always did): id (`#id`), type, unique key, redacted params
(the `search_text` column, written at submit), status, messages, and the current stage (below). Jobs
stored before the column existed are searched without their params."""


def _word(d: Dialect, word: str) -> str:
    """Return the test that a word (its placeholder: `word`) is in a job's searchable text."""
    tests = [f"coalesce({d.instr(f, word)} > 0, 0 > 1)" for f in _FIELDS]
    # The current stage's name: parsed out of stage_names only where the word is there at all.
    tests.append(f"({d.instr('lower(stage_names)', word)} > 0"
                 f" AND coalesce({d.instr(f'lower({d.step_name})', word)} > 0, 0 > 1))")
    return "(" + " OR ".join(tests) + ")"


_FRACTION = "(CASE WHEN progress_total > 0 THEN progress_done * 1.0 / progress_total ELSE 0.0 END)"


def _progress(d: Dialect) -> str:
    """`Job.progress` in SQL (a stage count of 0 gives 0; a fraction above 1 counts as 1)."""
    return (
        f"(CASE WHEN status = 'completed' THEN 1.0 WHEN {d.stage_count} = 0 THEN 0.0"
        f" ELSE (current_step_index + CASE WHEN {_FRACTION} > 1.0 THEN 1.0 ELSE {_FRACTION} END) * 1.0"
        f" / {d.stage_count} END)"
    )


def _rank_sql(listing: Listing) -> str:
    whens = " ".join(f"WHEN '{s}' THEN {int(r)}" for s, r in listing.status_rank if s in _STATUSES)
    return f"(CASE status {whens} ELSE 99 END)" if whens else "0"


def _keys(listing: Listing, d: Dialect) -> list[tuple[str, bool]]:
    """Return the listing's order as (expression, descending) pairs, ending with the id."""
    sort = listing.sort
    if sort == "status":
        keys = [(_rank_sql(listing), False), ("job_id", False)]
    elif sort == "updated":
        keys = [("updated_at_ms", True), ("job_id", True)]
    elif sort == "progress":
        keys = [(_progress(d), True), ("job_id", False)]
    elif sort == "priority":
        keys = [("priority", True), ("job_id", False)]
    elif sort == "type":
        keys = [("type", False), ("job_id", False)]
    else:
        keys = [("job_id", False)]
    return [(expr, desc != listing.reverse) for expr, desc in keys]


def _where(listing: Listing, d: Dialect, p: Params) -> list[str]:
    """Return the listing's filter as SQL conditions (their values go to `p`)."""
    where: list[str] = []
    # With free words, the words' test costs most: walk the order's index and stop at the window's last
    # row, rather than let the planner take every job of the statuses (`status || ''` uses no index).
    status = "(status || '')" if listing.words or listing.not_words else "status"
    for column, values, op in ((status, listing.statuses, "IN"), ("status", listing.not_statuses or None, "NOT IN"),
                               ("type", listing.types, "IN"), ("type", listing.not_types or None, "NOT IN")):
        if values is not None:
            where.append(f"{column} {op} ({d.texts(p.add(dumps(sorted(values))))})")
    for labels, negate in ((listing.labels, False), (listing.not_labels, True)):
        where += label_conditions(labels, p, negate=negate)
    if listing.queues is not None:
        where.append(f"queue IN ({d.texts(p.add(dumps(sorted(listing.queues))))})")
    if listing.not_queues:
        where.append(f"(queue IS NULL OR queue NOT IN ({d.texts(p.add(dumps(sorted(listing.not_queues))))}))")
    if listing.stages is not None:
        where.append(f"lower({d.step_name}) IN ({d.texts(p.add(dumps(sorted(listing.stages))))})")
    if listing.not_stages:
        where.append(f"coalesce(lower({d.step_name}) NOT IN ({d.texts(p.add(dumps(sorted(listing.not_stages))))}),"
                     " 1 > 0)")
    if listing.failures is not None:
        where.append(f"(status IN ({d.texts(p.add(dumps(sorted(listing.failures))))}) OR items_failed > 0)")
    for word in listing.words:
        where.append(_word(d, p.add(word)))
    for word in listing.not_words:
        where.append(f"NOT {_word(d, p.add(word))}")
    return where


def _clause(where: list[str]) -> str:
    return (" WHERE " + " AND ".join(where)) if where else ""


class ListingQueries(StoreCore):
    """Count, window and position reads of a filtered, ordered job list; the store-wide change token."""

    _SYNC_TOKEN = True
    """SQLite: read `data_version` on a connection of its own, in this thread (~20 µs, no thread hop)."""
    _token_conn: sqlite3.Connection | None = None

    async def change_token(self) -> tuple[int, int]:
        """Return a value that differs from the last one read whenever any change was committed since.

        The TUI asks it 40 times a second: on SQLite it is `PRAGMA data_version` on a read-only connection
        of its own (which sees every other connection's commits, this store's too) read in this thread,
        so that an idle poll costs no round trip through aiosqlite's thread.
        """
        if self._SYNC_TOKEN:
            try:
                if self._token_conn is None:
                    uri = PurePath(self.location).as_uri() + "?mode=ro"  # ValueError when not absolute
                    self._token_conn = sqlite3.connect(uri, uri=True, timeout=0.1, check_same_thread=False)
                return (int(self._token_conn.execute("PRAGMA data_version").fetchone()[0]), 0)
            except (sqlite3.Error, ValueError):
                self._SYNC_TOKEN = False  # e.g. a path sqlite3 cannot open as a URI: ask the store's connection
        row = await self._one(self.sql.change_token_sql)
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Close the token's connection too."""
        if self._token_conn is not None:
            self._token_conn.close()
            self._token_conn = None
        await super().close(timeout_s=timeout_s)

    async def count_jobs(self, listing: Listing) -> int:
        """Return how many jobs the listing's filter matches."""
        p = Params()
        where = _where(listing, self.sql, p)
        row = await self._one("SELECT count(*) FROM jobs" + _clause(where), p.values)
        return int(row[0]) if row else 0

    async def window_jobs(self, listing: Listing, offset: int, limit: int) -> list[Job]:
        """Return the jobs at positions [offset, offset + limit) of the listing, in its order."""
        p = Params()
        where = _where(listing, self.sql, p)
        order = ", ".join(f"{expr} {'DESC' if desc else 'ASC'}" for expr, desc in _keys(listing, self.sql))
        sql = (f"SELECT {JOB_COLS} FROM jobs{_clause(where)} ORDER BY {order}"
               f" LIMIT {p.add(max(0, limit))} OFFSET {p.add(max(0, offset))}")
        return [_job(r) for r in await self._all(sql, p.values)]

    async def job_position(self, listing: Listing, job_id: JobId) -> int | None:
        """Return the position of a job in the listing (None when its filter does not match the job)."""
        p = Params(job_id)
        where = _where(listing, self.sql, p)
        hit = await self._one("SELECT 1 FROM jobs" + _clause([*where, "job_id = $1"]), p.values)
        if hit is None:
            return None
        keys = _keys(listing, self.sql)
        # Rows before the job: a lexicographic comparison of the order's keys with the job's own.
        cols = ", ".join(f"{expr} AS k{i}" for i, (expr, _) in enumerate(keys))
        before = []
        for i, (expr, desc) in enumerate(keys):
            equal = [f"{keys[j][0]} = t.k{j}" for j in range(i)]
            before.append("(" + " AND ".join([*equal, f"{expr} {'>' if desc else '<'} t.k{i}"]) + ")")
        sql = (f"WITH t AS (SELECT {cols} FROM jobs WHERE job_id = $1) SELECT count(*) FROM jobs, t"
               + _clause([*where, "(" + " OR ".join(before) + ")"]))
        row = await self._one(sql, p.values)
        return int(row[0]) if row else None

    async def matching_ids(self, listing: Listing, among: Iterable[JobId] | None = None) -> set[JobId]:
        """Return the ids of the jobs the listing's filter matches (only among `among` when given)."""
        p = Params()
        where = _where(listing, self.sql, p)
        if among is not None:
            ids = sorted(set(among))
            if not ids:
                return set()
            where = [self.sql.id_in("job_id", p.add(dumps(ids))), *where]
        return {int(r[0]) for r in await self._all("SELECT job_id FROM jobs" + _clause(where), p.values)}

    async def job_changes(self, updated_after_ms: int) -> list[tuple[JobId, str, int]]:
        """Return (id, status, updated_at_ms) of the jobs updated after a time (over the `jobs_updated_id` index)."""
        rows = await self._all("SELECT job_id, status, updated_at_ms FROM jobs WHERE updated_at_ms > $1",
                               (updated_after_ms,))
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def job_changes_after(self, seq: int) -> tuple[list[tuple[JobId, str, int]], int, bool] | None:
        """Return (id, status, updated_at_ms) of the jobs written after change number `seq`, the newest number, and
        whether every write after `seq` is still logged; None where writes are not numbered in commit order
        (PostgreSQL: read by stamp, `job_changes`)."""
        if self.sql.name != "sqlite":
            return None
        rows = await self._all("SELECT w.job_id, j.status, j.updated_at_ms, w.seq, (SELECT min(seq) FROM job_write_log)"
                               " FROM (SELECT job_id, max(seq) AS seq FROM job_write_log WHERE seq > $1 GROUP BY job_id) w"
                               " LEFT JOIN jobs j ON j.job_id = w.job_id", (seq,))
        newest = max((int(r[3]) for r in rows), default=seq)
        whole = not rows or int(rows[0][4]) <= seq + 1
        # A row without its job: a job deleted since (its deletion has its event), or the log's first number.
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows if r[1] is not None], newest, whole

    async def change_seq(self) -> int | None:
        """Return the newest change number (None where writes are not numbered: PostgreSQL)."""
        if self.sql.name != "sqlite":
            return None
        row = await self._one("SELECT coalesce(max(seq), 0) FROM job_write_log")
        return int(row[0]) if row else 0

    async def status_counts(self) -> dict[str, int]:
        """Return the number of jobs in each status."""
        return {str(r[0]): int(r[1]) for r in await self._all("SELECT status, count(*) FROM jobs GROUP BY status")}

    async def unsettled_statuses(self) -> dict[JobId, str]:
        """Return the status of every job not in a terminal status (what can still change by itself)."""
        rows = await self._all(f"SELECT job_id, status FROM jobs WHERE status NOT IN {_TERMINAL_SQL}")
        return {int(r[0]): str(r[1]) for r in rows}
