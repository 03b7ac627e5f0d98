"""Issue 21 item 5: bulk actions by filter (`pause|resume|cancel|retry|delete|fail --where FILTER`), through the
real CLI on a real SQLite file: a dry run counts exactly what a run then changes; a filter that matches nothing
changes nothing; more than 20 jobs need --yes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import dump, jobtui

pytestmark = pytest.mark.slow


def ok(*args: str, db: Path) -> str:
    r = jobtui(*args, db=db)
    assert r.returncode == 0, r.stderr
    return r.stdout


def submit(db: Path, count: int, *options: str) -> list[int]:
    r = jobtui("submit", "demo", "--from", "-", *options, db=db, input='{"delay": 0}\n' * count)
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def status(db: Path) -> dict[int, str]:
    con = sqlite3.connect(db)
    try:
        return {int(j): str(s) for j, s in con.execute("SELECT job_id, status FROM jobs")}
    finally:
        con.close()


def test_a_dry_run_counts_what_the_run_then_changes(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    ocr = submit(db, 4, "--label", "project=42")
    other = submit(db, 3, "--label", "project=7")
    ok("fail", *map(str, ocr[:3] + other[:1]), "--reason", "scanner jam", db=db)
    before = dump(db)
    out = ok("retry", "--where", "status:failed label:project=42", "--dry-run", db=db)
    assert out.startswith("would retry 3 job(s): ") and dump(db) == before, out
    wider = ok("retry", "--where", "label:project=42", "--dry-run", db=db)
    assert "would retry 3 job(s)" in wider and "(1 more match, in a state retry does not apply to)" in wider, wider
    out = ok("retry", "--where", "status:failed label:project=42", db=db)
    assert out.startswith("retry: 3 job(s) changed: "), out
    now = status(db)
    assert [now[j] for j in ocr] == ["queued"] * 4
    assert [now[j] for j in other] == ["failed", "queued", "queued"], "jobs outside the filter are left alone"


def test_a_filter_that_matches_nothing_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    submit(db, 3)
    before = dump(db)
    for action in ("pause", "resume", "cancel", "retry", "delete"):
        assert ok(action, "--where", "type:nope", db=db).startswith(f"no job to {action}")
        assert ok(action, "--where", "type:nope", "--dry-run", db=db).startswith(f"would {action} 0 job(s)")
    assert ok("fail", "--where", "label:none=here", "--reason", "x", db=db).startswith("no job to fail")
    assert dump(db) == before


def test_more_than_twenty_need_yes(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    ids = submit(db, 22)
    ok("queue", "add", "q", db=db)
    in_queue = submit(db, 2, "--queue", "q")
    before = dump(db)
    r = jobtui("cancel", "--where", "status:queued", db=db)
    assert r.returncode == 2 and "cancel would change 24 jobs (more than 20): add --yes" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and dump(db) == before
    assert ok("cancel", "--where", "queue:q", db=db).startswith("cancel: 2 job(s) changed")
    assert ok("cancel", "--where", "status:queued", "--yes", db=db).startswith("cancel: 22 job(s) changed")
    assert set(status(db).values()) == {"cancelled"}
    assert ok("delete", "--where", "status:cancelled !queue:q", "--yes", db=db).startswith("delete: 22 job(s)")
    assert sorted(status(db)) == in_queue and ids
