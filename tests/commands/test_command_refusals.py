"""Issue 15, items 3 and 4: an unquoted `--glob` is refused ("quote the pattern"); a program that cannot be
started (not found, not executable) fails at once instead of being retried, and `add` refuses a program that
does not exist, as `schedule add` does. Real CLI processes and real commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.model import JobStatus
from tests.commands.helpers import spec
from tests.conftest import jobtui, run_idle

pytestmark = pytest.mark.slow


@pytest.fixture
def files(tmp_path: Path) -> Path:
    d = tmp_path / "files"
    d.mkdir()
    for n in (1, 2, 3):
        (d / f"f{n}.txt").write_text(str(n))
    return tmp_path


def _jobs(db: Path) -> list[object]:
    r = jobtui("ls", "--json", db=db)
    return json.loads(r.stdout) if r.returncode == 0 else []


def test_an_unquoted_glob_with_dashes_after_it_is_refused(files: Path) -> None:
    db = files / "j.db"
    # What the shell makes of `--glob files/f*.txt --workers 2 -- echo`:
    r = jobtui("foreach", "--cwd", str(files), "--glob", "files/f1.txt", "files/f2.txt", "files/f3.txt",
               "--workers", "2", "--", "echo", db=db)
    assert r.returncode == 2 and "quote the pattern" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1
    assert _jobs(db) == []


def test_an_unquoted_glob_without_dashes_is_refused(files: Path) -> None:
    db = files / "j.db"
    r = jobtui("foreach", "--cwd", str(files), "--glob", "files/f1.txt", "files/f2.txt", "files/f3.txt", "echo", "{}",
               db=db)
    assert r.returncode == 2 and "quote the pattern" in r.stderr, r.stderr
    assert _jobs(db) == []


def test_a_dashdash_inside_the_command_after_the_real_one_is_kept(files: Path) -> None:
    db = files / "j.db"
    r = jobtui("foreach", "--cwd", str(files), "--glob", "files/f*.txt", "--", "ls", "--", "{}", db=db)
    assert r.returncode == 0, r.stderr
    shown = json.loads(jobtui("show", r.stdout.strip(), "--json", db=db).stdout)
    assert shown["params"]["stages"][0]["run"] == ["ls", "--", "{}"]


def test_add_refuses_a_program_that_does_not_exist(files: Path) -> None:
    db = files / "j.db"
    r = jobtui("add", "--cwd", str(files), "--", "no-such-program-jt15", "x", db=db)
    assert r.returncode == 2 and "no such program" in r.stderr and "no-such-program-jt15" in r.stderr, r.stderr
    (files / "plain.sh").write_text("#!/bin/sh\necho hi\n")  # not executable
    r = jobtui("add", "--cwd", str(files), "--", "./plain.sh", db=db)
    assert r.returncode == 2 and "not executable" in r.stderr, r.stderr
    assert _jobs(db) == []
    ok = jobtui("add", "--cwd", str(files), "--", "sh", "-c", "exit 0", db=db)
    assert ok.returncode == 0, ok.stderr


async def test_a_program_that_cannot_start_is_not_retried(client: Client, tmp_path: Path) -> None:
    script = tmp_path / "gone.sh"
    script.write_text("#!/bin/sh\necho hi\n")  # not executable: Permission denied
    job = await client.submit("command", {"stages": [spec([str(script)], retries=3)]})
    each = await client.submit("foreach", {"stages": [spec([str(tmp_path / "missing-prog"), "{}"], name="each",
                                                           items=["a", "b"])]})
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.FAILED
    assert "cannot start" in (d.job.error_message or "") and "Permission denied" in (d.job.error_message or "")
    assert d.stages[0].runs == 1, "Permission denied can never pass: no retry"
    items = [i async for i in client.export(each)]
    assert [(i.status.value, i.attempts) for i in items] == [("failed", 1), ("failed", 1)]
    assert all("No such file" in (i.error or "") for i in items)
