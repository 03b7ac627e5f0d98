"""Secrets of the fleet (issue 14, item 13): what a runner holds never reaches its jobs, argv or outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import jobtui, poll, spawn_runner, stop_runner

pytestmark = pytest.mark.slow


def _env_of(path: Path) -> dict[str, str]:
    """Read a file written by `env -0`."""
    return dict(e.split("=", 1) for e in path.read_text().split("\0") if "=" in e)


def test_command_jobs_and_notify_commands_get_a_scrubbed_environment(tmp_path: Path) -> None:
    """Issue 14 item 13: PGPASSWORD and credential-bearing JOBTUI_* variables are not inherited."""
    db, job_env, notify_env = tmp_path / "s.db", tmp_path / "job.env", tmp_path / "notify.env"
    notify_cmd = f"env -0 > {notify_env} # https://hooks.example.org/h?token=n0tify-s3cret"
    r = jobtui("add", "--", "sh", "-c", f"env -0 > {job_env}", db=db)
    assert r.returncode == 0, r.stderr
    runner = spawn_runner(db, "--quiet", PGPASSWORD="pg-s3cret", JOBTUI_NOTIFY_CMD=notify_cmd, KEEP_ME="yes")
    try:
        poll(lambda: notify_env.exists() and notify_env.stat().st_size > 0, what="the notify command ran")
    finally:
        stop_runner(runner)
    for env in (_env_of(job_env), _env_of(notify_env)):
        assert "PGPASSWORD" not in env and "JOBTUI_NOTIFY_CMD" not in env
        assert "pg-s3cret" not in json.dumps(env) and "n0tify-s3cret" not in json.dumps(env)
        assert env["KEEP_ME"] == "yes" and env["JOBTUI_DB"] == str(db)  # a plain path is no secret: it stays
