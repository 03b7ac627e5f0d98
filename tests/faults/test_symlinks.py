"""Issue 14 item 10: another user of a shared folder plants symlinks where jobtui will write.

A second user (made with `useradd` if missing, run through `setpriv --reuid/--regid`) prepares the
shared folder that holds the database before its owner runs jobs there. Each workspace, the
workspace root and the TUI's background-runner log must be real, private, the user's own: a symlink
or a foreign-owned folder is refused in one line, and nothing is written through it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobtui.tui.background import spawn_runner
from tests.conftest import jobtui

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ATTACKER = "jtattacker"


def _attacker_ids() -> tuple[int, int] | None:
    """Return (uid, gid) of the second user, making it if needed; None where this cannot be done."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    try:
        pw = pwd.getpwnam(ATTACKER)
    except KeyError:
        if shutil.which("useradd") is None:
            return None
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ATTACKER],
                       capture_output=True, check=False, timeout=30)
        try:
            pw = pwd.getpwnam(ATTACKER)
        except KeyError:
            return None
    return pw.pw_uid, pw.pw_gid


@pytest.fixture
def attacker() -> Iterator[tuple[int, int]]:
    ids = _attacker_ids()
    if ids is None:
        pytest.skip("needs root, setpriv and useradd to act as a second user")
    yield ids


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder every user may write in (0777, no sticky bit: a team folder), removed after the test."""
    path = Path(tempfile.mkdtemp(prefix="jt-shared-", dir="/tmp"))
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_attacker(ids: tuple[int, int], script: str) -> None:
    """Run a shell script as the second user."""
    uid, gid = ids
    r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "sh", "-ec", script],
                       capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0, r.stderr


def _run_jobs(db: Path) -> None:
    r = jobtui("run", "--quiet", "--exit-when-idle", db=db, timeout=90)
    assert r.returncode == 0, r.stderr


def _show(db: Path, job: int) -> dict:  # type: ignore[type-arg]
    return json.loads(jobtui("show", str(job), "--json", db=db).stdout)  # type: ignore[no-any-return]


def _secret_job(db: Path) -> int:
    return int(jobtui("add", "--shell", 'echo s3cret > "$JOBTUI_WORKSPACE/scratch"', db=db).stdout)


def test_planted_workspace_symlinks_are_refused_and_nothing_is_written_through_them(
    attacker: tuple[int, int], shared: Path
) -> None:
    """jobs.workspaces/ made by the other user, with links named after the next job ids into its own folder."""
    as_attacker(attacker, f"""
        mkdir -m 777 {shared}/loot {shared}/jobs.workspaces
        for i in 1 2 3; do ln -s {shared}/loot {shared}/jobs.workspaces/$i; done
    """)
    db = shared / "jobs.db"
    job = _secret_job(db)
    _run_jobs(db)
    detail = _show(db, job)
    assert detail["status"] == "failed", detail
    error = detail["error_message"]
    assert "workspace" in error and str(shared / "jobs.workspaces") in error and "\n" not in error, error
    assert list((shared / "loot").iterdir()) == [], "nothing was written through the links"


def test_a_symlinked_workspace_root_into_the_victims_folder_is_refused(
    attacker: tuple[int, int], shared: Path
) -> None:
    """The root itself is a link into a folder of the victim's: not written in, not chmodded."""
    victim = shared / "victim-docs"
    victim.mkdir(mode=0o755)
    os.chmod(victim, 0o755)
    as_attacker(attacker, f"ln -s {victim} {shared}/jobs.workspaces")
    db = shared / "jobs.db"
    job = _secret_job(db)
    _run_jobs(db)
    detail = _show(db, job)
    assert detail["status"] == "failed" and "symlink" in detail["error_message"], detail
    assert list(victim.iterdir()) == [] and stat.S_IMODE(victim.stat().st_mode) == 0o755


def test_a_workspace_root_owned_by_another_user_is_refused(attacker: tuple[int, int], shared: Path) -> None:
    as_attacker(attacker, f"mkdir -m 700 {shared}/jobs.workspaces")
    db = shared / "jobs.db"
    job = _secret_job(db)
    _run_jobs(db)
    detail = _show(db, job)
    assert detail["status"] == "failed" and f"uid {attacker[0]}" in detail["error_message"], detail


def test_own_workspaces_still_work_and_are_private(shared: Path) -> None:
    db = shared / "jobs.db"
    job = _secret_job(db)
    _run_jobs(db)
    assert _show(db, job)["status"] == "completed"
    root = shared / "jobs.workspaces"
    assert stat.S_IMODE(root.lstat().st_mode) == 0o700
    assert stat.S_IMODE((root / str(job)).lstat().st_mode) == 0o700
    assert (root / str(job) / "scratch").read_text() == "s3cret\n"


def test_the_tui_background_runner_log_is_private_and_never_follows_a_link(
    attacker: tuple[int, int], shared: Path
) -> None:
    db = shared / "jobs.db"
    assert jobtui("submit", "demo", db=db).returncode == 0
    as_attacker(attacker, f"mkdir -m 777 {shared}/loot; ln -s {shared}/loot/stolen.log {shared}/jobs.runner.log")
    try:
        leaked = spawn_runner(db, [], 1)
    except OSError as e:
        refused = str(e)
    else:
        leaked.process.kill()
        leaked.process.wait(timeout=30)
        pytest.fail("the background runner's log was opened through the planted link")
    assert "jobs.runner.log" in refused and "\n" not in refused, refused
    assert not (shared / "loot" / "stolen.log").exists()
    (shared / "jobs.runner.log").unlink()
    bg = spawn_runner(db, [], 1)
    try:
        assert stat.S_IMODE((shared / "jobs.runner.log").lstat().st_mode) == 0o600
    finally:
        bg.process.kill()
        bg.process.wait(timeout=30)
