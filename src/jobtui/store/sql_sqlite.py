"""SQLite's own SQL (store/dialect.py): JSON lists through json_each, AUTOINCREMENT's sqlite_sequence."""

from __future__ import annotations

from functools import lru_cache

from .dialect import Dialect, item_upsert, items_upsert


class SqliteDialect(Dialect):
    """SQLite's statements and fragments."""

    name = "sqlite"
    # AUTOINCREMENT's high-water mark (sqlite_sequence) is never lowered: a deleted newest job's id stays used.
    new_ids_sql = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)"
        " SELECT max(coalesce((SELECT max(job_id) FROM jobs), 0),"
        " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0)) + i FROM n ORDER BY i"
    )
    event_sql = (
        "INSERT INTO notifications (job_id, event, event_at_ms, kind, target, created_at_ms, next_at_ms)"
        " SELECT j.job_id, $2, j.updated_at_ms, t.kind, t.target, $3, $3 FROM jobs j JOIN ("
        "   SELECT kind, target FROM notify_targets WHERE job_id = $1"
        "   UNION SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($4)"
        "     WHERE NOT EXISTS (SELECT 1 FROM notify_targets WHERE job_id = $1)"
        " ) t ON true WHERE j.job_id = $1 AND j.status = $5"
        " AND (j.notify_on IS NULL OR ',' || j.notify_on || ',' LIKE '%,ended,%')"
        " ON CONFLICT DO NOTHING"
    )
    step_name = "json_extract(stage_names, '$[' || current_step_index || ']')"
    stage_count = "json_array_length(stage_names)"
    # `data_version` moves when another connection commits, `total_changes()` when this one writes.
    change_token_sql = "SELECT (SELECT data_version FROM pragma_data_version), total_changes()"
    lock_rows = ""  # one writer at a time (BEGIN IMMEDIATE): the transaction holds the whole database
    lock_own = ""
    lock_share = ""
    skip_locked = ""  # one writer at a time: nothing to skip
    name_lock_sql = "SELECT $1"  # one writer at a time: the registration already holds the database
    # json(): each part nests as JSON, not as text, whether or not a subquery's result keeps its JSON subtype.
    json_rows = "json((SELECT json_group_array(json_array({cols})) FROM {source}))"
    json_list = "json_array({parts})"
    # SQLite's numbered placeholders: bound by position (store/seam.py), several rows per statement.
    item_sql = item_upsert("?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8")

    done_items_bound = True

    def done_items_sql(self, rows: int) -> str:
        """The upsert of `rows` done items, their job, stage and stamp bound once (store/done_items.py)."""
        return _done_items_sql(rows)

    def texts(self, param: str) -> str:
        """`SELECT value FROM json_each($n)`."""
        return f"SELECT value FROM json_each({param})"

    def ids(self, param: str) -> str:
        """`SELECT value FROM json_each($n)` (JSON integers come out as integers)."""
        return f"SELECT value FROM json_each({param})"

    def instr(self, haystack: str, needle: str) -> str:
        """`instr(haystack, needle)`."""
        return f"instr({haystack}, {needle})"


@lru_cache(maxsize=16)
def _done_items_sql(rows: int) -> str:
    # Literal values beside the placeholders: store/seam.py never splits this into more rows per statement.
    return items_upsert(", ".join(f"(?1, ?2, ?{4 + 2 * j}, 'done', ?{5 + 2 * j}, NULL, 1, ?3)" for j in range(rows)))


SQLITE = SqliteDialect()
