"""Issue 15, item 1, from the command line: a foreach with failed items ends failed, `wait` exits 1, the
notification says `failed`; `--allow-failures` completes and says what it tolerated; resume reruns only the
failed items. Real CLI processes, a real `jobtui run`, real commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import jobtui, spawn_runner

pytestmark = pytest.mark.slow

SCRIPT = 'echo "$1" >> runs.log; test -e "ok-$1" || test $(( $1 % 2 )) -eq 0'
"""Odd items fail until a file ok-N exists; every run of an item is logged."""


def queue(db: Path, cwd: Path, *extra: str) -> str:
    r = jobtui("foreach", "--cwd", str(cwd), "--args", "1", "2", "3", "4", "--retries", "0", *extra,
               "--", "sh", "-c", SCRIPT, "sh", "{}", db=db)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def run_until_idle(db: Path, notes: Path) -> None:
    proc = spawn_runner(db, "--exit-when-idle", "--notify-cmd", f'cat > {notes}/n-"$JOBTUI_JOB_ID"-"$JOBTUI_EVENT".json')
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def test_failed_items_fail_the_job_and_wait_and_notify_say_so(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    work = tmp_path / "work"
    work.mkdir()
    notes = tmp_path / "notes"
    notes.mkdir()
    failing = queue(db, work)
    tolerant = queue(db, work, "--allow-failures", "50%")
    strict = queue(db, work, "--allow-failures", "1")
    run_until_idle(db, notes)

    assert jobtui("wait", failing, db=db).returncode == 1, "wait must not succeed on a batch with failed items"
    assert jobtui("wait", strict, db=db).returncode == 1, "2 failed is more than --allow-failures 1"
    assert jobtui("wait", tolerant, db=db).returncode == 0
    shown = jobtui("show", failing, db=db).stdout
    assert "failed" in shown.splitlines()[0] and "2 of 4 items failed" in shown
    ls = jobtui("ls", db=db).stdout
    assert "2 (2 failed, tolerated)" in ls and ls.count("2 (2 failed)") == 2, ls
    assert "tolerated  each: 2 of 4 items failed (allowed: 50%)" in jobtui("show", tolerant, db=db).stdout

    failed_note = json.loads((notes / f"n-{failing}-failed.json").read_text())
    assert failed_note["event"] == "failed" and failed_note["status"] == "failed"
    assert not list(notes.glob(f"n-{failing}-completed.json"))
    ok_note = json.loads((notes / f"n-{tolerant}-completed.json").read_text())
    assert ok_note["tolerated"] == "each: 2 of 4 items failed (allowed: 50%)"

    csv = jobtui("export", failing, "--format", "csv", db=db).stdout.splitlines()
    assert len(csv) == 5 and sum(",failed," in row for row in csv) == 2, "partial results are exportable"

    # The odd items can pass now: resume runs them, and only them.
    (work / "runs.log").write_text("")
    for n in ("1", "3"):
        (work / f"ok-{n}").write_text("")
    assert jobtui("resume", failing, db=db).returncode == 0
    run_until_idle(db, notes)
    assert jobtui("wait", failing, db=db).returncode == 0
    assert sorted((work / "runs.log").read_text().split()) == ["1", "3"], "done items are never run again"
