"""Issue 17, item 4: every statement of both dialects is checked by its own database, in seconds.

The statements are found where they are written: every SQL text of the store's modules (read from
their source; f-strings evaluated with the dialect's fragments), the dialects' own statements and
fragments, the claim, and each dialect's migrations. SQLite compiles each one (EXPLAIN); PostgreSQL
parses, plans and types each one (a prepared statement) on a migrated database. A statement broken
in one dialect (a `?` placeholder, a function the other database lacks, a parameter whose type
PostgreSQL cannot infer) fails here, without running a single job.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import jobtui.store
from jobtui.store import Store
from jobtui.store.detail import detail_sql
from jobtui.store.dialect import Dialect
from jobtui.store.done_items import CHUNKS
from jobtui.store.runs import claim_sql
from jobtui.store.schema import MIGRATIONS
from jobtui.store.schema_pg import PG_MIGRATIONS
from jobtui.store.seam import ROWS_PER_STATEMENT, by_position, rows_statement
from jobtui.store.sql_pg import PG
from jobtui.store.sql_sqlite import SQLITE

_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b")
_SKIP_MODULES = {"jobtui.store.seam", "jobtui.store.schema", "jobtui.store.schema_pg"}
_ONLY = {"jobtui.store.base": "sqlite", "jobtui.store.sql_sqlite": "sqlite", "jobtui.store.completion_values": "sqlite",
         "jobtui.store.postgres": "postgres", "jobtui.store.pg_connection": "postgres", "jobtui.store.pg_bulk": "postgres",
         "jobtui.store.sql_pg": "postgres"}
"""Modules whose statements only one backend runs (its own open, marks and migrations)."""


@dataclass
class _Holder:
    """Stands in for `self` (a store) and `db` (a connection) when an f-string reads the dialect."""

    sql: Dialect
    dialect: Dialect


def _store_modules(d: Dialect) -> list[Any]:
    out = []
    for info in pkgutil.iter_modules(jobtui.store.__path__, "jobtui.store."):
        if info.name not in _SKIP_MODULES and _ONLY.get(info.name, d.name) == d.name:
            out.append(importlib.import_module(info.name))
    return out


def _texts(module: Any, d: Dialect) -> tuple[list[str], int]:
    """Return the SQL statements written in a module's source (for dialect `d`), and how many could not be built."""
    tree = ast.parse(Path(module.__file__).read_text())
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    names = dict(vars(module), self=_Holder(d, d), db=_Holder(d, d))
    found: list[str] = []
    skipped = 0

    def visit(node: ast.AST) -> None:
        nonlocal skipped
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp)) and id(node) not in docstrings:
            if isinstance(node, ast.Constant) and not isinstance(node.value, str):
                return
            try:
                value = eval(compile(ast.Expression(node), module.__file__, "eval"), names)
            except Exception:
                # Holes that are the method's own values: counted when the text is a statement.
                skipped += bool(_SQL.match(ast.unparse(node).lstrip("f\"'(")))
                return
            if isinstance(value, str) and _SQL.match(value):
                found.append(value)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found, skipped


def statements(d: Dialect) -> list[str]:
    """Return every statement of dialect `d` that can be listed without running the store."""
    out: list[str] = [d.new_ids_sql, d.event_sql, d.item_sql, claim_sql(d), detail_sql(d),
                      f"SELECT job_id FROM jobs WHERE {d.step_name} = $1 AND type IN ({d.texts('$2')})"
                      f" AND job_id IN ({d.ids('$3')}) AND {d.instr('type', '$4')} > 0 AND {d.stage_count} > 0"
                      f" ORDER BY job_id LIMIT 1{d.skip_locked}"]
    skipped = 0
    for module in _store_modules(d):
        texts, n = _texts(module, d)
        out += texts
        skipped += n
    if d is SQLITE:
        out.append(str(rows_statement(d.item_sql, ROWS_PER_STATEMENT)))  # the item rows, several per statement
        out += [d.done_items_sql(n) for n in CHUNKS]  # an items loop's done items (store/done_items.py)
    # Dynamic statements (built from a method's own values) are run by the contract suite; here, the rest.
    assert len(out) > 150 and skipped < len(out) / 3, (len(out), skipped)
    return sorted(set(out))


def test_both_schemas_have_every_migration() -> None:
    assert len(PG_MIGRATIONS) == len(MIGRATIONS)


@pytest.mark.slow  # parses every statement of both dialects (about a CPU second)
def test_no_statement_is_written_for_the_wrong_placeholders() -> None:
    """`?`, `?N` and `:name` bind wrongly or not at all on one of the drivers: only `$n` is written.

    Except SQLite's own statements written with `?N` alone (its item upsert): SqliteDb binds those by
    position (store/seam.py `by_position`), never one that mixes them with `$n`.
    """
    for d in (SQLITE, PG):
        for sql in statements(d):
            bare = re.sub(r"'[^']*'", "''", sql)
            if d is SQLITE and by_position(sql):
                assert "$" not in bare and not re.search(r"\?(?!\d)", bare), sql
                bare = re.sub(r"\?\d+", "", bare)
            assert "?" not in bare and not re.search(r"(?<![:\w]):[A-Za-z_]\w*", bare), sql


async def test_every_sqlite_statement_compiles(store: Store, db_path: Path) -> None:
    await store.close()
    con = sqlite3.connect(db_path)
    unbound = {str(i): None for i in range(1, 65)}
    failures = []
    try:
        for sql in statements(SQLITE):
            try:
                if by_position(sql):  # bound as the seam binds it: by position
                    con.execute("EXPLAIN " + sql, [None] * max(int(n) for n in re.findall(r"\?(\d+)", sql)))
                else:
                    con.execute("EXPLAIN " + sql, unbound)
            except sqlite3.Error as e:
                failures.append(f"{e}: {sql}")
    finally:
        con.close()
    assert not failures, "\n".join(failures)


@pytest.mark.slow
async def test_every_postgres_statement_prepares(pg_url: str) -> None:
    pytest.importorskip("asyncpg")
    from jobtui.store.postgres import PgStore

    store = await PgStore.open(pg_url)
    failures = []
    try:
        conn = await store._pg.raw()
        for sql in statements(PG):
            try:
                await conn.prepare(sql)
            except Exception as e:  # asyncpg's errors: each is reported with its statement
                failures.append(f"{type(e).__name__}: {e}: {sql}")
    finally:
        await store.close()
    assert not failures, "\n".join(failures)


def test_a_broken_statement_fails_here() -> None:
    """The test above cannot pass vacuously: SQLite refuses a statement in PostgreSQL's dialect, and back."""
    con = sqlite3.connect(":memory:")
    try:
        con.execute("CREATE TABLE jobs (job_id INTEGER, type TEXT, stage_names TEXT, current_step_index INTEGER)")
        with pytest.raises(sqlite3.Error):
            con.execute("EXPLAIN " + f"SELECT job_id FROM jobs WHERE type IN ({PG.texts('$1')})", {"1": None})
        with pytest.raises(sqlite3.Error):
            con.execute("EXPLAIN SELECT job_id FROM jobs WHERE type = ?", {"1": None})
    finally:
        con.close()
