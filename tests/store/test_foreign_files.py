"""Issue 6, item 5: files that are not ours are never changed; reading never creates a database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jobtui.errors import NoDatabaseError, NotJobtuiDatabaseError, UsageError
from jobtui.store import Store
from jobtui.store.schema import APPLICATION_ID, MIGRATIONS


def _pragma(db: Path, name: str) -> object:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        con.close()


def _legacy(db: Path, version: int) -> None:
    """Write an unmarked jobtui database of schema `version`, as jobtui did before the mark."""
    con = sqlite3.connect(db)
    for script in MIGRATIONS[:version]:
        con.executescript(script)
    con.execute(f"PRAGMA user_version = {version}")
    con.execute(
        "INSERT INTO jobs (type, status, params, stage_names, created_at_ms, updated_at_ms)"
        " VALUES ('demo', 'queued', '{}', '[\"a\"]', 1, 1)"
    )
    con.commit()
    con.close()


async def test_a_new_database_is_marked(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    store = await Store.open(db)
    await store.close()
    assert _pragma(db, "application_id") == APPLICATION_ID
    assert _pragma(db, "user_version") == len(MIGRATIONS)
    assert _pragma(db, "journal_mode") == "wal"


@pytest.mark.parametrize("version", [0, 1, 2])
async def test_another_programs_sqlite_file_is_refused_untouched(tmp_path: Path, version: int) -> None:
    """`--db other.sqlite ls` added 9 tables and switched it to WAL; a user_version 1 file was half-migrated."""
    db = tmp_path / "other.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes (body) VALUES ('mine')")
    con.execute(f"PRAGMA user_version = {version}")
    con.commit()
    con.close()
    before = db.read_bytes()
    for create in (True, False):
        with pytest.raises(NotJobtuiDatabaseError, match="not a jobtui database"):
            await Store.open(db, create=create)
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists()
    assert _pragma(db, "journal_mode") == "delete"


async def test_an_empty_sqlite_database_of_someone_else_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "empty.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA application_id = 42")
    con.execute("CREATE TABLE t (x)")
    con.execute("DROP TABLE t")
    con.commit()
    con.close()
    before = db.read_bytes()
    with pytest.raises(NotJobtuiDatabaseError):
        await Store.open(db)
    assert db.read_bytes() == before


@pytest.mark.parametrize("version", [1, 2])
async def test_an_unmarked_jobtui_database_is_recognised_and_marked(tmp_path: Path, version: int) -> None:
    db = tmp_path / "old.db"
    _legacy(db, version)
    store = await Store.open(db, create=False)
    try:
        jobs = await store.list_jobs()
        assert [j.type for j in jobs] == ["demo"]
    finally:
        await store.close()
    assert _pragma(db, "application_id") == APPLICATION_ID
    assert _pragma(db, "user_version") == len(MIGRATIONS)


async def test_tables_alone_do_not_make_a_jobtui_database(tmp_path: Path) -> None:
    """A file with some of our table names but not the whole schema is someone else's."""
    db = tmp_path / "lookalike.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE jobs (id INTEGER)")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    before = db.read_bytes()
    with pytest.raises(NotJobtuiDatabaseError):
        await Store.open(db)
    assert db.read_bytes() == before


async def test_without_create_a_missing_database_is_an_error_and_nothing_is_made(tmp_path: Path) -> None:
    db = tmp_path / "typo" / "dir" / "x.db"
    with pytest.raises(NoDatabaseError, match=f"no database at {db}"):
        await Store.open(db, create=False)
    assert not (tmp_path / "typo").exists()
    empty = tmp_path / "zero.db"
    empty.touch()
    with pytest.raises(NoDatabaseError):
        await Store.open(empty, create=False)
    assert empty.stat().st_size == 0


async def test_an_empty_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        await Store.open("")
