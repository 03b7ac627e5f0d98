"""What each SQL dialect writes its own way: the fragments and statements that differ between SQLite and PostgreSQL.

Everything else the store runs is one text for both (store/seam.py: `$n` placeholders, `ON CONFLICT`,
`CASE`, standard functions). A backend's connection names its dialect (`Db.dialect`); its statements
are in its own module (store/sql_sqlite.py, store/sql_pg.py), each written for its database, and
tests/store/test_golden_sql.py has every one of them checked by its database (EXPLAIN, PREPARE).
"""

from __future__ import annotations

from abc import ABC, abstractmethod


def item_upsert(values: str) -> str:
    """Return the item upsert with these placeholders of its eight values (each dialect writes its own)."""
    return items_upsert(f"({values})")


def items_upsert(rows: str) -> str:
    """Return the item upsert of these rows of eight values each (`(...), (...)`)."""
    return (
        "INSERT INTO items (job_id, stage_index, key, status, result, error, attempts, updated_at_ms)"
        f" VALUES {rows} ON CONFLICT (job_id, stage_index, key) DO UPDATE SET"
        " status = excluded.status, result = excluded.result, error = excluded.error,"
        " attempts = items.attempts + excluded.attempts, updated_at_ms = excluded.updated_at_ms"
    )


class Dialect(ABC):
    """The SQL that differs by backend. Methods take the placeholder (`$n`) of the value they read."""

    name: str
    new_ids_sql: str
    """`$1` new job ids, ascending, never given before (not even to a deleted job: its workspace and log lines
    are named by it)."""
    event_sql: str
    """The notification outbox rows of one event (store/notify.py `event_params`)."""
    step_name: str
    """The name of a job's current stage, from its `stage_names` JSON list (NULL past its end)."""
    stage_count: str
    """How many stages a job has, from its `stage_names` JSON list."""
    change_token_sql: str
    """A row that differs whenever any change was committed since it was last read (store/listing.py)."""
    lock_rows: str
    """Appended to a SELECT whose rows the transaction then holds until it ends, to change or delete them."""
    lock_own: str
    """Appended to a SELECT of rows the transaction then updates (not their key): other writers wait,
    inserts of rows that refer to them (logs, items) do not."""
    lock_share: str
    """Appended to a SELECT of rows that must not change until the transaction ends (a new job's parents)."""
    skip_locked: str
    """Appended to the claim's picks: lock the rows taken, skip those another transaction holds."""
    name_lock_sql: str
    """`$1` a runner name: the statement that makes registrations of one name wait for each other until the
    transaction ends (so the second sees the first's row and is refused)."""
    """Appended to the claim's picks: lock the rows taken, skip those another transaction holds."""
    json_rows: str
    """A subquery's rows as one JSON array ('[]' for none), a format of `cols` and `source` (FROM ... WHERE)."""
    json_list: str
    """JSON values (`parts`, a format) as one JSON array, as text (store/detail.py)."""
    item_sql: str
    """An item's row (job_id, stage_index, key, status, result, error, attempts, updated_at_ms), upserted: the
    group commit's most frequent statement (store/checkpoints.py `item_finished`)."""

    done_items_bound = False
    """Whether `done_items_sql` is this dialect's way to write the done items of a loop (else: `item_sql` rows)."""

    def done_items_sql(self, rows: int) -> str:
        """The upsert of `rows` items done at their first attempt in one statement, bound as (job, stage, stamp,
        then each row's key and result): where `done_items_bound`."""
        raise NotImplementedError(f"{self.name}: done items are written as item_sql rows")

    @abstractmethod
    def texts(self, param: str) -> str:
        """A subquery of the text values of a JSON list given as one parameter."""

    @abstractmethod
    def ids(self, param: str) -> str:
        """A subquery of the integer values (job ids) of a JSON list given as one parameter."""

    def id_in(self, column: str, param: str) -> str:
        """`column` is one of the job ids of a JSON list given as one parameter (a condition)."""
        return f"{column} IN ({self.ids(param)})"

    @abstractmethod
    def instr(self, haystack: str, needle: str) -> str:
        """The 1-based position of `needle` in `haystack` (0: not there)."""
