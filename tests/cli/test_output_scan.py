"""Issue 19, item 7: output people scan: `ls --columns` (pueue-style) with a command column, and `show` of a command
job compact: the command line, cwd, exit status and last stderr lines; the environment only with --env (redacted);
a non-zero exit is its error line, not a traceback of jobtui's internals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import cli_submit, jobtui

SECRET = "s3cr3t-v4lue-xyz"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A failed command job (exit 3, with stderr and a secret in its env) and a completed demo job, run for real."""
    db = tmp_path_factory.mktemp("scan") / "s.db"
    r = jobtui("add", "--env", f"API_TOKEN={SECRET}", "--shell",
               "echo out; for i in 1 2 3 4 5 6 7; do echo err-$i >&2; done; exit 3", db=db)
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
    assert cli_submit(db, "demo", "-p", "delay=0", "-p", "items=1") == 2
    r = jobtui("run", "--exit-when-idle", "--quiet", db=db, timeout=120)
    assert r.returncode == 0, r.stderr
    return db


def test_ls_columns_in_the_order_given_with_a_command_column(world: Path) -> None:
    r = jobtui("ls", "--columns", "id, status,command,name", db=world)
    assert r.returncode == 0, r.stderr
    head, first, second = r.stdout.splitlines()
    assert head.split() == ["ID", "STATUS", "COMMAND", "NAME"]
    assert re.match(r"1\s+failed\s+echo out; for i in", first), first
    assert re.fullmatch(r"2\s+completed\s+-", second), second  # a demo job runs no command, and has no name
    assert SECRET not in r.stdout
    default = jobtui("ls", db=world).stdout.splitlines()[0].split()
    assert default == ["ID", "TYPE", "STATUS", "STAGE", "PROGRESS", "ITEMS", "UPDATED", "NAME"]


@pytest.mark.parametrize(("columns", "says"), [
    ("id,stauts", "--columns: unknown column 'stauts'; did you mean 'status'?"),
    ("bogus", "--columns: unknown column 'bogus' (columns: id, type, status"),
    (",", "--columns: name at least one column"),
])
def test_unknown_column_is_one_line_exit_2(world: Path, columns: str, says: str) -> None:
    r = jobtui("ls", "--columns", columns, db=world)
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr


def test_show_of_a_failed_command_is_compact_and_has_no_traceback(world: Path) -> None:
    """The command line, cwd, exit code and the last 5 stderr lines; env names only; no params dump, no traceback."""
    out = jobtui("show", "1", db=world).stdout
    lines = out.splitlines()
    assert lines[0] == "job 1  command  failed"
    command = next(ln for ln in lines if ln.startswith("  command    "))
    assert "/bin/sh -c 'echo out;" in command and "exit code 3)" in command, command
    assert any(ln.startswith("  cwd        ") for ln in lines)
    assert "  env        API_TOKEN, PATH  (the values: `show --env`)" in lines
    at = lines.index("  stderr     (the last 5 lines; all in `jobtui logs 1`)")
    assert lines[at + 1:at + 6] == [f"    err-{i}" for i in range(3, 8)]
    assert "  error      CommandFailedError: exit code 3; last output: " in out
    assert "params" not in out and "Traceback" not in out and "jobtui/" not in out, out
    assert SECRET not in out
    logs = jobtui("logs", "1", db=world).stdout
    assert "Traceback" not in logs and "err-7" in logs


def test_show_env_prints_the_whole_environment_redacted(world: Path) -> None:
    out = jobtui("show", "1", "--env", db=world).stdout
    lines = out.splitlines()
    at = lines.index("  env")
    env = [ln.strip() for ln in lines[at + 1:] if ln.startswith("    ") and "=" in ln][:2]
    assert env[0] == "API_TOKEN=***" and env[1].startswith("PATH=/"), env
    assert SECRET not in out


def test_show_of_other_jobs_keeps_params(world: Path) -> None:
    out = jobtui("show", "2", db=world).stdout
    assert '  params     {"' in out and "  command    " not in out
