"""Issue 19, item 7: `logs --json` (one JSON object a line) for one job and with --all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import jobtui, spawn_runner


@pytest.mark.slow  # runs the CLI and a runner in subprocesses
def test_logs_json_is_one_object_a_line_with_the_exact_text(tmp_path: Path) -> None:
    """stdout and stderr lines as objects; a terminal escape kept exact (JSON escapes it), not shown as text."""
    db = tmp_path / "l.db"
    job = jobtui("add", "--", "sh", "-c", r"printf 'hello\033[31mred\n'; echo oops >&2", db=db).stdout.strip()
    runner = spawn_runner(db, "--exit-when-idle", "--quiet")
    runner.communicate(timeout=120)
    assert runner.returncode == 0
    out = jobtui("logs", job, "--json", db=db)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {"job_id", "log_id", "ts", "level", "message"} <= set(rows[0])
    said = {(r["level"], r["message"]) for r in rows}
    assert ("stdout", "hello\x1b[31mred") in said and ("stderr", "oops") in said
    every = [json.loads(line) for line in jobtui("logs", "--all", "--json", db=db).stdout.splitlines()]
    assert {r["job_id"] for r in every} == {int(job)} and len(every) == len(rows)
