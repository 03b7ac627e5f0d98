"""Issue 21 item 3: `jobtui edit` through the real CLI: a running job is refused (one line, exit 2, nothing
changed), an edit is in `show`'s history with who and what, hostile values are one line and exit 2."""

from __future__ import annotations

import getpass
import signal
from pathlib import Path

import pytest

from tests.conftest import cli_show, cli_submit, dump, jobtui, poll, spawn_runner, stop_runner

pytestmark = pytest.mark.slow


def test_a_running_job_is_refused_in_one_line_and_left_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    job_id = cli_submit(db, "demo", "-p", "delay=5", "-p", "items=50")
    runner = spawn_runner(db, "--quiet")
    try:
        poll(lambda: cli_show(db, job_id)["status"] == "running", what="the job running")
        before = cli_show(db, job_id)
        for args in (["--priority", "5"], ["-p", "delay=1"], ["--label", "p=1"], ["--at", "+1h"]):
            r = jobtui("edit", str(job_id), *args, db=db)
            assert r.returncode == 2, r
            assert r.stderr.strip().splitlines() == [
                f"jobtui: error: job {job_id}: cannot edit: it is running (edit applies to a job that is queued,"
                " blocked, paused, failed or cancelled)"], r.stderr
            assert r.stdout == ""
        after = cli_show(db, job_id)
        for key in ("params", "priority", "labels", "run_at", "history", "needs", "max_retries", "timeout_s"):
            assert after[key] == before[key], key
    finally:
        stop_runner(runner, signal.SIGKILL)


def test_an_edit_is_in_the_history_with_who_and_what(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    job_id = cli_submit(db, "demo", "-p", "delay=1", "-p", "api_token=old-secret-1")
    r = jobtui("edit", str(job_id), "-p", "delay=2", "-p", "api_token=new-secret-2", "--priority", "5", "--label",
               "project=42", db=db)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"job {job_id}: edited: params api_token changed, delay 1.0 → 2.0; priority 0 → 5;"
                        " labels none → project=42\n")
    shown = jobtui("show", str(job_id), db=db).stdout
    assert f"edit     queued → queued  by cli:{getpass.getuser()}  (params api_token changed, delay 1.0 → 2.0" in shown
    assert "secret" not in shown
    j = cli_show(db, job_id)
    assert (j["params"]["delay"], j["priority"], j["labels"]) == (2.0, 5, {"project": "42"})
    assert j["history"][-1]["action"] == "edit" and j["history"][-1]["source"] == f"cli:{getpass.getuser()}"


def test_hostile_edits_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    job_id = str(cli_submit(db, "demo", "-p", "delay=1"))
    before = dump(db)
    for args, said in (
        ([job_id], "nothing to edit"),
        (["٣", "--priority", "1"], "bad job id"),
        (["99", "--priority", "1"], "no job with id 99"),
        ([job_id, "--priority", "9" * 30], "--priority must be at most"),
        ([job_id, "--max-retries", "-1"], "--max-retries must be 0 or more"),
        ([job_id, "--timeout", "0s"], "--timeout must be more than 0"),
        ([job_id, "--timeout", "soon"], "bad duration"),
        ([job_id, "--at", "+٣m"], "bad duration"),
        ([job_id, "-p", "delay=fast"], "expected float"),
        ([job_id, "-p", "nope"], "bad param"),
        ([job_id, "--params-json", "[1]"], "must be a JSON object"),
        ([job_id, "--needs", "a b"], "bad tag"),
        ([job_id, "--needs", "gpu", "--no-needs"], "not both"),
        ([job_id, "--after", job_id], "cannot depend on itself"),
        ([job_id, "--after", "77"], "no job #77"),
        ([job_id, "--label", "k=a b"], "a space or a control character"),
        ([job_id, "--unlabel", "a b"], "bad label key"),
        ([job_id, "--queue", "nope"], "no queue 'nope'"),
        ([job_id, "--queue", "a b"], "bad queue name"),
        ([job_id, "--queue", "q", "--no-queue"], "not both"),
    ):
        r = jobtui("edit", *args, db=db)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], (args, r.stderr)
    assert dump(db) == before
