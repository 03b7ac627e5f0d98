"""Secrets of the fleet (issue 14, item 13): what a runner holds never reaches its jobs, argv or outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobtui.cli.secret_argv import without_db
from jobtui.redaction import redact_command
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


SECRETS = ("SEKRIT-bearer", "SEKRIT-userpw", "SEKRIT-query", "SEKRIT-assign", "SEKRIT-option")
NOTIFY_CMD = ('curl -sf -H "Authorization: Bearer SEKRIT-bearer" -u bob:SEKRIT-userpw'
              ' "https://hooks.invalid/x?token=SEKRIT-query" API_KEY=SEKRIT-assign --password SEKRIT-option; exit 3')


def test_credentials_inside_a_notify_command_are_never_shown(tmp_path: Path) -> None:
    """Issue 14 item 13: `show`, `show --json`, `schedule show` and the runner log printed the command verbatim."""
    db = tmp_path / "s.db"
    r = jobtui("submit", "demo", "-p", "items=1", "-p", "delay=0", "--notify-cmd", NOTIFY_CMD, db=db)
    assert r.returncode == 0, r.stderr
    job = r.stdout.strip()
    r = jobtui("schedule", "add", "nightly", "--cron", "0 3 * * *", "demo", "--notify-cmd", NOTIFY_CMD, db=db)
    assert r.returncode == 0, r.stderr
    log_path = tmp_path / "runner.log"
    with log_path.open("w") as log_file:
        runner = spawn_runner(db, stderr=log_file)
        try:
            # The delivery's failure is logged (with its command blanked) once its attempt is recorded: wait for it.
            poll(lambda: any("notification" in line and "failed" in line and "curl" in line
                             for line in log_path.read_text().splitlines()), what="the failed delivery logged")
        finally:
            stop_runner(runner)
    log = log_path.read_text()
    shown = [log]
    for args in (("show", job), ("show", job, "--json"), ("ls", "--json"), ("schedule", "show", "nightly"),
                 ("schedule", "show", "nightly", "--json"), ("schedule", "ls", "--json")):
        out = jobtui(*args, db=db)
        assert out.returncode == 0, out.stderr
        shown.append(out.stdout)
    assert "Bearer ***" in shown[1] and "-u bob:***" in shown[1], shown[1]
    for text in shown:
        assert not [s for s in SECRETS if s in text], text


def test_only_the_db_option_leaves_the_command_line() -> None:
    url = "postgresql://u:pw@h/db"
    assert without_db(["add", "--db", url, "--", "psql", "--db", url], url) == ["add", "--", "psql", "--db", url]
    assert without_db(["run", f"--db={url}", "--quiet"], url) == ["run", "--quiet"]
    assert without_db(["run", "--quiet"], url) is None
    assert redact_command("TOKEN=abc --name x -u al:pw") == "TOKEN=*** --name x -u al:***"
    assert redact_command('mail -s "jobtui: $JOBTUI_STATUS" me@example.org') == 'mail -s "jobtui: $JOBTUI_STATUS" me@example.org'
