"""`schedule add NAME --every D -- CMD ARG...` (issue 9, part 3 for command jobs): each occurrence runs the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import dump, jobtui, poll, spawn_runner, stop_runner


@pytest.mark.slow
def test_schedule_of_a_command_fires_and_the_command_runs(tmp_path: Path) -> None:
    db, out = tmp_path / "sc.db", tmp_path / "ticks"
    r = jobtui("schedule", "add", "tick", "--every", "1s", "--cwd", str(tmp_path), "--env", "WORD=tock",
               "--", "sh", "-c", 'echo "$WORD" >> ticks', db=db)
    assert r.returncode == 0, r.stderr
    assert "→ command" in r.stdout
    p = spawn_runner(db, "--keep", "never")
    try:
        poll(lambda: out.exists() and len(out.read_text().splitlines()) >= 2)
    finally:
        stop_runner(p)
    assert set(out.read_text().splitlines()) == {"tock"}
    jobs = json.loads(jobtui("ls", "--json", db=db).stdout)
    assert jobs and {j["type"] for j in jobs} == {"command"}
    assert any(j["status"] == "completed" for j in jobs)


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_schedule_command_refusals_store_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sr.db"
    assert jobtui("schedule", "ls", db=db).returncode == 0
    before = dump(db)
    for args in (["demo", "extra"], ["demo", "--cwd", str(tmp_path)], ["--", "echo", "--cwd", "/nonexistent/x"],
                 ["-p", "a=1", "--", "echo", "hi"]):
        argv = ["schedule", "add", "x", "--every", "1h", *args]
        if args[-1] == "/nonexistent/x":
            argv = ["schedule", "add", "x", "--every", "1h", "--cwd", "/nonexistent/x", "--", "echo"]
        r = jobtui(*argv, db=db)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("jobtui: error:"), (args, r)
    assert dump(db) == before
