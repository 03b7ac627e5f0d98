"""Issue 15, item 20: reading commands open the database read-only; `clean` takes the batched retention path."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from jobtui.store.schema import APPLICATION_ID, MIGRATIONS, statements
from tests.conftest import cli_submit, jobtui

READERS = (["ls"], ["show", "1"], ["logs", "1"], ["export", "1"], ["stats"], ["runners"], ["wait", "1"])


def _state(db: Path) -> dict[str, tuple[str, int] | None]:
    """Return the bytes' hash and mtime of the database and its -wal (None when absent)."""
    out: dict[str, tuple[str, int] | None] = {}
    for suffix in ("", "-wal"):
        p = Path(str(db) + suffix)
        out[suffix] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) if p.exists() else None
    return out


def one_schema_behind(db: Path) -> None:
    """Make a jobtui database of the schema before this jobtui's (all migrations but the last)."""
    with sqlite3.connect(db) as conn:
        for script in MIGRATIONS[:-1]:
            for statement in statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.close()


def _version(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_reading_commands_change_nothing_in_the_file(tmp_path: Path) -> None:
    """ls, show, logs, export, stats, runners and wait read the file and leave its bytes and mtime alone."""
    db = tmp_path / "r.db"
    cli_submit(db, "demo", "-p", "delay=0")
    assert jobtui("cancel", "1", db=db).returncode == 0
    before = _state(db)
    for args in READERS:
        r = jobtui(*args, db=db)
        assert r.returncode in (0, 1) and "error" not in r.stderr, (args, r.stderr)
        assert _state(db)[""] == before[""], args
    assert "cancelled" in jobtui("ls", db=db).stdout


def test_a_reading_command_never_migrates_an_older_database(tmp_path: Path) -> None:
    """A database one schema behind is left as it is by a reading command (one clear line), upgraded by a writing one."""
    db = tmp_path / "old.db"
    one_schema_behind(db)
    before = _state(db)
    for args in READERS[:3]:
        r = jobtui(*args, db=db)
        assert r.returncode == 1 and "which a reading command does not do" in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert _state(db) == before and _version(db) == len(MIGRATIONS) - 1
    assert jobtui("submit", "demo", db=db).returncode == 0
    assert _version(db) == len(MIGRATIONS)
    assert jobtui("ls", db=db).returncode == 0


def test_clean_deletes_the_same_jobs_in_batches(tmp_path: Path) -> None:
    """`clean --status` deletes exactly the jobs of those statuses, with their workspaces; others stay."""
    db = tmp_path / "c.db"
    for _ in range(5):
        cli_submit(db, "demo")
    for job in ("1", "2", "4"):
        assert jobtui("cancel", job, db=db).returncode == 0
    (tmp_path / "c.workspaces" / "2").mkdir(parents=True)
    r = jobtui("clean", "--older-than", "0", "--status", "queued", db=db)
    assert r.returncode == 0 and r.stdout.strip() == "deleted 2 job(s): 3, 5", r.stdout
    r = jobtui("clean", "--older-than", "0", db=db)
    assert r.returncode == 0 and r.stdout.strip() == "deleted 3 job(s): 1, 2, 4", r.stdout
    assert not (tmp_path / "c.workspaces" / "2").exists()
    assert jobtui("ls", "--json", db=db).stdout.strip() in ("[]", "")
