"""Issue 18: a foreach stage looks its program up along PATH once, as a shell's hash table does, not per command.

Each `true` of a 1,000-command foreach tried an execve in every folder of PATH before its own (14 failing ones on
this machine's PATH). The fork server now finds the program once per stage and PATH and execs its full name; a
program given with a slash, or through a shell, is found as before, and a file that fails to start is looked up
again. Real runners, real processes.
"""

from __future__ import annotations

import os
from pathlib import Path

from jobtui.client import Client
from jobtui.engine.forkchild import which
from jobtui.model import JobStatus
from tests.commands.helpers import spec
from tests.conftest import run_idle


def _program(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_which_finds_what_exec_would_and_declines_what_it_cannot_tell_for_good(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    (a / "prog").write_text("not executable")
    (b / "prog").mkdir()  # a folder of that name is no program
    found = _program(c, "prog", "true")
    path = os.pathsep.join(map(str, (tmp_path / "missing", a, b, c)))
    assert which("prog", path) == str(found)
    assert which("nope", path) == ""
    assert which("./prog", path) == "", "a name with a slash is not looked up"
    assert which("prog", f"relative{os.pathsep}{c}") == "", "a relative folder depends on the command's folder"
    assert which("prog", f"{os.pathsep}{c}") == "", "an empty entry is the command's folder"


async def test_a_foreach_stage_finds_its_program_once_along_its_own_path(client: Client, tmp_path: Path) -> None:
    """The first item puts a program of the same name in an earlier folder of PATH: the stage's next command still
    runs the one found first (before, each command searched PATH again and ran the new one)."""
    log = tmp_path / "ran.log"
    early, late = tmp_path / "early", tmp_path / "late"
    early.mkdir()
    _program(late, "prog", f'echo "late $1" >> {log}\n'
                           f'printf \'#!/bin/sh\\necho "early $1" >> {log}\\n\' > {early}/prog; chmod +x {early}/prog')
    path = f"{early}{os.pathsep}{late}{os.pathsep}{os.environ['PATH']}"
    job = await client.submit("foreach", {"stages": [spec(["prog", "{}"], items=["x1", "x2", "x3"], workers=1,
                                                          env={"PATH": path})]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert log.read_text().split("\n")[:-1] == ["late x1", "late x2", "late x3"]
    # Another stage (here another job) looks it up again, along its own PATH.
    again = await client.submit("foreach", {"stages": [spec(["prog", "{}"], items=["y"], env={"PATH": path})]})
    await run_idle(client)
    assert (await client.job(again)).status is JobStatus.COMPLETED
    assert log.read_text().split("\n")[-2] == "early y"


async def test_a_program_gone_after_it_was_found_is_looked_up_again(client: Client, tmp_path: Path) -> None:
    log = tmp_path / "ran.log"
    early, late = tmp_path / "early", tmp_path / "late"
    _program(early, "prog", f'echo "early $1" >> {log}; rm "$0"')
    _program(late, "prog", f'echo "late $1" >> {log}')
    path = f"{early}{os.pathsep}{late}{os.pathsep}{os.environ['PATH']}"
    job = await client.submit("foreach", {"stages": [spec(["prog", "{}"], items=["x1", "x2"], workers=1,
                                                          env={"PATH": path})]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert log.read_text().split("\n")[:-1] == ["early x1", "late x2"]
