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
from typing import Any

from ..listing import Listing
from ..model import Job, JobId, JobStatus
from .base import StoreCore
from .labels import label_conditions
from .records import _TERMINAL_SQL, JOB_COLS, _job, dumps

_STATUSES = frozenset(s.value for s in JobStatus)

_STEP = "json_extract(stage_names, '$[' || current_step_index || ']')"
_FIELDS = (
    "('#' || CAST(job_id AS TEXT))", "coalesce(search_text, lower(type || ' ' || coalesce(unique_key, '')))",
    "status", "lower(progress_message)", "lower(error_message)", "lower(pause_reason)", "lower(failed_step)",
)
"""What free words search (as the TUI's filter always did): id (`#id`), type, unique key, redacted params
(the `search_text` column, written at submit), status, messages, and the current stage (below). Jobs
stored before the column existed are searched without their params."""


_WORD_TESTS = [f"coalesce(instr({f}, ?) > 0, 0 > 1)" for f in _FIELDS]
# The current stage's name: parsed out of stage_names only where the word is there at all.
_WORD_TESTS.append(f"(instr(lower(stage_names), ?) > 0 AND coalesce(instr(lower({_STEP}), ?) > 0, 0 > 1))")
_WORD = "(" + " OR ".join(_WORD_TESTS) + ")"
"""The test that a word is in a job's searchable text; each `?` is the word."""
_WORD_PARAMS = _WORD.count("?")

_FRACTION = "(CASE WHEN progress_total > 0 THEN progress_done * 1.0 / progress_total ELSE 0.0 END)"
_PROGRESS = (
    "(CASE WHEN status = 'completed' THEN 1.0 WHEN json_array_length(stage_names) = 0 THEN 0.0"
    f" ELSE (current_step_index + CASE WHEN {_FRACTION} > 1.0 THEN 1.0 ELSE {_FRACTION} END) * 1.0"
    " / json_array_length(stage_names) END)"
)
"""`Job.progress` in SQL (a stage count of 0 gives 0; a fraction above 1 counts as 1)."""


def _rank_sql(listing: Listing) -> str:
    whens = " ".join(f"WHEN '{s}' THEN {int(r)}" for s, r in listing.status_rank if s in _STATUSES)
    return f"(CASE status {whens} ELSE 99 END)" if whens else "0"


def _keys(listing: Listing) -> list[tuple[str, bool]]:
    """Return the listing's order as (expression, descending) pairs, ending with the id."""
    sort = listing.sort
    if sort == "status":
        keys = [(_rank_sql(listing), False), ("job_id", False)]
    elif sort == "updated":
        keys = [("updated_at_ms", True), ("job_id", True)]
    elif sort == "progress":
        keys = [(_PROGRESS, True), ("job_id", False)]
    elif sort == "priority":
        keys = [("priority", True), ("job_id", False)]
    elif sort == "type":
        keys = [("type", False), ("job_id", False)]
    else:
        keys = [("job_id", False)]
    return [(expr, desc != listing.reverse) for expr, desc in keys]


def _where(listing: Listing) -> tuple[list[str], list[Any]]:
    """Return the listing's filter as SQL conditions and their parameters."""
    where: list[str] = []
    params: list[Any] = []
    # With free words, the words' test costs most: walk the order's index and stop at the window's last
    # row, rather than let the planner take every job of the statuses (`status || ''` uses no index).
    status = "(status || '')" if listing.words or listing.not_words else "status"
    for column, values, op in ((status, listing.statuses, "IN"), ("status", listing.not_statuses or None, "NOT IN"),
                               ("type", listing.types, "IN"), ("type", listing.not_types or None, "NOT IN")):
        if values is not None:
            where.append(f"{column} {op} (SELECT value FROM json_each(?))")
            params.append(dumps(sorted(values)))
    for labels, negate in ((listing.labels, False), (listing.not_labels, True)):
        conds, label_params = label_conditions(labels, negate=negate)
        where += conds
        params += label_params
    if listing.failures is not None:
        where.append("(status IN (SELECT value FROM json_each(?)) OR items_failed > 0)")
        params.append(dumps(sorted(listing.failures)))
    for word in listing.words:
        where.append(_WORD)
        params += [word] * _WORD_PARAMS
    for word in listing.not_words:
        where.append(f"NOT {_WORD}")
        params += [word] * _WORD_PARAMS
    return where, params


def _clause(where: list[str]) -> str:
    return (" WHERE " + " AND ".join(where)) if where else ""


class ListingQueries(StoreCore):
    """Count, window and position reads of a filtered, ordered job list; the store-wide change token."""

    _TOKEN_SQL = "SELECT (SELECT data_version FROM pragma_data_version), total_changes()"
    """SQLite: `data_version` moves when another connection commits, `total_changes()` when this one writes."""
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
        row = await self._one(self._TOKEN_SQL)
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Close the token's connection too."""
        if self._token_conn is not None:
            self._token_conn.close()
            self._token_conn = None
        await super().close(timeout_s=timeout_s)

    async def count_jobs(self, listing: Listing) -> int:
        """Return how many jobs the listing's filter matches."""
        where, params = _where(listing)
        row = await self._one("SELECT count(*) FROM jobs" + _clause(where), params)
        return int(row[0]) if row else 0

    async def window_jobs(self, listing: Listing, offset: int, limit: int) -> list[Job]:
        """Return the jobs at positions [offset, offset + limit) of the listing, in its order."""
        where, params = _where(listing)
        order = ", ".join(f"{expr} {'DESC' if desc else 'ASC'}" for expr, desc in _keys(listing))
        sql = f"SELECT {JOB_COLS} FROM jobs{_clause(where)} ORDER BY {order} LIMIT ? OFFSET ?"
        return [_job(r) for r in await self._all(sql, [*params, max(0, limit), max(0, offset)])]

    async def job_position(self, listing: Listing, job_id: JobId) -> int | None:
        """Return the position of a job in the listing (None when its filter does not match the job)."""
        where, params = _where(listing)
        hit = await self._one("SELECT 1 FROM jobs" + _clause([*where, "job_id = ?"]), [*params, job_id])
        if hit is None:
            return None
        keys = _keys(listing)
        # Rows before the job: a lexicographic comparison of the order's keys with the job's own.
        cols = ", ".join(f"{expr} AS k{i}" for i, (expr, _) in enumerate(keys))
        before = []
        for i, (expr, desc) in enumerate(keys):
            equal = [f"{keys[j][0]} = t.k{j}" for j in range(i)]
            before.append("(" + " AND ".join([*equal, f"{expr} {'>' if desc else '<'} t.k{i}"]) + ")")
        sql = (f"WITH t AS (SELECT {cols} FROM jobs WHERE job_id = ?) SELECT count(*) FROM jobs, t"
               + _clause([*where, "(" + " OR ".join(before) + ")"]))
        row = await self._one(sql, [job_id, *params])
        return int(row[0]) if row else None

    async def matching_ids(self, listing: Listing, among: Iterable[JobId] | None = None) -> set[JobId]:
        """Return the ids of the jobs the listing's filter matches (only among `among` when given)."""
        where, params = _where(listing)
        if among is not None:
            ids = sorted(set(among))
            if not ids:
                return set()
            where = ["job_id IN (SELECT value FROM json_each(?))", *where]
            params = [dumps(ids), *params]
        return {int(r[0]) for r in await self._all("SELECT job_id FROM jobs" + _clause(where), params)}

    async def job_changes(self, updated_after_ms: int) -> list[tuple[JobId, str, int]]:
        """Return (id, status, updated_at_ms) of the jobs updated after a time (over the `jobs_updated_id` index)."""
        rows = await self._all("SELECT job_id, status, updated_at_ms FROM jobs WHERE updated_at_ms > ?",
                               (updated_after_ms,))
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def status_counts(self) -> dict[str, int]:
        """Return the number of jobs in each status."""
        return {str(r[0]): int(r[1]) for r in await self._all("SELECT status, count(*) FROM jobs GROUP BY status")}

    async def unsettled_statuses(self) -> dict[JobId, str]:
        """Return the status of every job not in a terminal status (what can still change by itself)."""
        rows = await self._all(f"SELECT job_id, status FROM jobs WHERE status NOT IN {_TERMINAL_SQL}")
        return {int(r[0]): str(r[1]) for r in rows}
