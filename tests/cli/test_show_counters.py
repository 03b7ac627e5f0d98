"""Issue 19, item 7: `show` names both retry counters: the job's automatic retries and the stage's tries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cli_submit, jobtui


@pytest.mark.slow  # runs the CLI and a runner in subprocesses
def test_show_names_the_job_retries_and_the_stage_tries(tmp_path: Path) -> None:
    """'job retries 0/2' (the job's automatic retries) apart from the stages' 'STAGE TRY' column (one run's tries)."""
    db = tmp_path / "s.db"
    job = cli_submit(db, "demo", "-p", "delay=0", "--max-retries", "2")
    out = jobtui("show", str(job), db=db).stdout
    assert "  job retries 0/2 " in out, out
    assert "STAGE TRY" in out.splitlines()[next(i for i, ln in enumerate(out.splitlines()) if "stages" in ln) + 1]
