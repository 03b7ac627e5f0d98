"""Issue 9 with a real `jobtui run` process: dependency chains and fan-in, refusals at the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_show, cli_submit, dump, jobtui, poll, spawn_runner, stop_runner

pytestmark = pytest.mark.slow
APP = ("--app", "unattendedapp")


def submit(db: Path, *args: str) -> int:
    return cli_submit(db, "step", *APP, *args)


def show(db: Path, job_id: int) -> dict[str, Any]:
    return cli_show(db, job_id, *APP)


def journal(path: Path) -> dict[int, tuple[int, int]]:
    out = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        job, start, end = map(int, line.split())
        out[job] = (start, end)
    return out


def test_chain_fails_waits_resumes_and_fan_in(tmp_path: Path) -> None:
    db, log, gate = tmp_path / "deps.db", tmp_path / "journal", tmp_path / "gate"
    a = submit(db, "-p", "sleep=0.3")
    b = submit(db, "-p", f"gate={gate}", "--after", str(a))
    c = submit(db, "--after", str(b))
    e = submit(db, "-p", "sleep=0.6")
    d = submit(db, "--after", str(a), str(e))  # fan-in
    # The runner exits once nothing is left it may run: C, behind a failed B, must still be waiting then.
    first = spawn_runner(db, *APP, "--concurrency", "4", "--exit-when-idle", JOBTUI_TEST_JOURNAL=str(log))
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert show(db, b)["status"] == "failed" and show(db, d)["status"] == "completed"
    runner = spawn_runner(db, *APP, "--concurrency", "4", JOBTUI_TEST_JOURNAL=str(log))
    try:
        detail = show(db, c)
        assert detail["status"] == "blocked" and detail["waiting_on"] == [b]
        assert detail["depends_on"] == [{"job_id": b, "type": "step", "status": "failed"}]
        assert [x["job_id"] for x in show(db, a)["dependents"]] == [b, d]
        ls = jobtui("ls", *APP, db=db).stdout
        assert f"waiting on #{b} (failed)" in ls
        assert c not in journal(log), "a job whose dependency failed does not run"
        gate.touch()
        r = jobtui("resume", str(b), *APP, db=db)
        assert r.returncode == 0, r.stderr
        poll(lambda: show(db, c)["status"] == "completed")
    finally:
        stop_runner(runner)
    j = journal(log)
    assert j[a][1] <= j[b][0] and j[b][1] <= j[c][0], "A → B → C ran in order"
    assert j[a][1] <= j[d][0] and j[e][1] <= j[d][0], "D started after both A and E ended"


def test_bad_after_and_cycle_are_one_line_exit_2_and_store_nothing(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    a = submit(db)
    b = submit(db, "--after", str(a))
    before = dump(db)
    for args in (("submit", "step", "--after", "99"), ("submit", "step", "--after", "x"),
                 ("depend", str(a), "--after", str(b)), ("depend", str(a), "--after", "77")):
        r = jobtui(*args, *APP, db=db)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("jobtui: error: "), r.stderr
        assert r.stdout == ""
    assert dump(db) == before
