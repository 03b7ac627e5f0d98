"""SQLite's item rows through the seam (store/seam.py): bound by position, many rows per statement, same result."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from jobtui.store.checkpoints import _ITEM_SQL
from jobtui.store.dialect import item_upsert
from jobtui.store.seam import ROWS_PER_STATEMENT, SqliteDb, by_position, rows_statement
from jobtui.store.sql_pg import PG
from jobtui.store.sql_sqlite import SQLITE

ITEMS = (
    "CREATE TABLE items (job_id INTEGER NOT NULL, stage_index INTEGER NOT NULL, key TEXT NOT NULL,"
    " status TEXT NOT NULL, result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 1,"
    " updated_at_ms INTEGER NOT NULL, PRIMARY KEY (job_id, stage_index, key)) WITHOUT ROWID"
)


def rows() -> list[tuple[object, ...]]:
    """Rows as the item loop queues them: a failed key done again later, across chunk boundaries, and a tail."""
    out: list[tuple[object, ...]] = []
    for i in range(ROWS_PER_STATEMENT * 3 + 7):
        out.append((1, 0, f"k{i % 150}", "failed" if i < 150 and i % 3 == 0 else "done", f'{{"i":{i}}}',
                    "boom" if i % 3 == 0 else None, 1, 1000 + i))
    return out


def test_only_numbered_placeholders_bind_by_position() -> None:
    assert by_position(SQLITE.item_sql) and not by_position(PG.item_sql)
    assert not by_position("SELECT json_extract(x, '$[0]'), '?1' FROM t WHERE a = $1")
    assert rows_statement("INSERT INTO t (a) SELECT ?1", 4) is None
    assert rows_statement("INSERT INTO t (a, b) VALUES (?1, coalesce(?2, 0))", 4) is None  # not placeholders only
    two = rows_statement("INSERT INTO t (a, b) VALUES (?2, ?1) ON CONFLICT DO NOTHING", 2)
    assert two == "INSERT INTO t (a, b) VALUES (?2, ?1), (?4, ?3) ON CONFLICT DO NOTHING"


async def test_many_rows_per_statement_leave_what_one_statement_per_row_leaves(tmp_path: Path) -> None:
    batch = rows()
    expected = sqlite3.connect(":memory:")
    expected.execute(ITEMS)
    for row in batch:  # the reference: PostgreSQL's text, one row at a time, bound by name
        expected.execute(PG.item_sql, {str(n): v for n, v in enumerate(row, 1)})
    want = expected.execute("SELECT * FROM items ORDER BY key").fetchall()
    expected.close()

    conn = await aiosqlite.connect(tmp_path / "seam.db")
    steps: list[str] = []
    try:
        await conn.execute(ITEMS)
        await conn.set_trace_callback(steps.append)  # one call per statement run: per row, or per chunk
        await SqliteDb(conn).executemany(SQLITE.item_sql, batch)
        await conn.set_trace_callback(None)
        got = await conn.execute_fetchall("SELECT * FROM items ORDER BY key")
    finally:
        await conn.close()
    assert [tuple(r) for r in got] == want
    assert len(want) == 150 and want[0][2:4] == ("k0", "done") and want[0][6] == 2  # failed, then done: 2 attempts
    inserts = [s for s in steps if s.startswith("INSERT INTO items")]
    assert len(inserts) == 3 + 7, len(inserts)  # three statements of 64 rows, then the 7 left one by one


def test_the_template_is_the_same_statement_in_both_dialects() -> None:
    assert SQLITE.item_sql == item_upsert("?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8")
    assert PG.item_sql == item_upsert("$1, $2, $3, $4, $5, $6, $7, $8") == _ITEM_SQL  # store/pg_bulk.py's key
