"""Secrets of the fleet on PostgreSQL (issue 14 item 13): the database password leaves argv and the jobs' environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends import PG_PASSWORD
from tests.conftest import cli_env, poll, stop_runner

pytest.importorskip("asyncpg")
pytestmark = pytest.mark.slow


def _jobtui(*args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "jobtui", *args], capture_output=True, text=True, env=cli_env(None),
                         timeout=120, check=False)
    assert PG_PASSWORD not in out.stdout + out.stderr
    return out


def test_run_with_a_password_in_db_keeps_it_out_of_cmdline_and_jobs(pg_url: str, tmp_path: Path) -> None:
    """`/proc/PID/cmdline` is readable by every user: before the fix the runner's held the URL for its lifetime."""
    env_file = tmp_path / "job.env"
    add = _jobtui("add", "--db", pg_url, "--", "sh", "-c", f"env -0 > {env_file}")
    assert add.returncode == 0, add.stderr
    runner = subprocess.Popen([sys.executable, "-m", "jobtui", "run", "--db", pg_url, "--quiet"], env=cli_env(None),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        poll(lambda: env_file.exists() and env_file.stat().st_size > 0, what="the job ran")
        cmdline = Path(f"/proc/{runner.pid}/cmdline").read_bytes().split(b"\0")
    finally:
        err = stop_runner(runner)
    assert PG_PASSWORD not in err
    assert b"run" in cmdline and b"--quiet" in cmdline, cmdline  # the same command, re-run
    assert not any(PG_PASSWORD.encode() in w for w in cmdline) and b"--db" not in cmdline, cmdline
    job_env = env_file.read_text()
    assert PG_PASSWORD not in job_env and "JOBTUI_DB=" not in job_env


def test_db_file_reads_the_url_from_a_file(pg_url: str, tmp_path: Path) -> None:
    url_file = tmp_path / "db.url"
    url_file.write_text(f"\n{pg_url}\n")
    url_file.chmod(0o600)
    add = _jobtui("submit", "demo", "-p", "items=1", "--db-file", str(url_file))
    assert add.returncode == 0, add.stderr
    ls = _jobtui("--db-file", str(url_file), "ls")
    assert ls.returncode == 0 and add.stdout.strip() in ls.stdout, ls.stderr
    both = _jobtui("ls", "--db", pg_url, "--db-file", str(url_file))
    assert both.returncode == 2 and both.stderr.count("\n") == 1, both.stderr
    missing = _jobtui("ls", "--db-file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "--db-file" in missing.stderr and missing.stderr.count("\n") == 1
