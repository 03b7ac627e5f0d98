"""Issue 19, item 1: the README's Python example runs as printed (submitting and steering through `jobtui.connect()`),
and its PostgreSQL recipe of your own (initdb, pg_ctl, createdb, a job run) runs as printed where PostgreSQL's
programs are installed."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import jobtui
from tests.backends import PG_USER, find_bin_dir, in_ci
from tests.conftest import cli_env, spawn_runner, stop_runner

README = Path(__file__).parent.parent / "README.md"


def _section(title: str) -> str:
    m = re.search(rf"(?ms)^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README.read_text())
    assert m, title
    return m.group(1)


def test_the_python_example_runs_as_printed(tmp_path: Path) -> None:
    """`python steer.py` in an empty folder: it submits, pauses, resumes and runs a job, and prints what it says."""
    block = re.search(r"```python\n(# steer\.py.*?)```", _section("From Python"), re.S)
    assert block, "the README's From Python example"
    (tmp_path / "steer.py").write_text(block.group(1))
    r = subprocess.run([sys.executable, "steer.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env=cli_env(None))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "paused\ncompleted\n", r.stdout
    assert (tmp_path / "jobs.db").is_file()


@pytest.mark.slow
def test_connect_waits_for_a_runner_elsewhere(tmp_path: Path) -> None:
    """`Client` and `connect` come from `jobtui`; `wait` follows a job a `jobtui run` process runs, and times out."""
    from jobtui.client import Client

    assert jobtui.Client is Client and {"Client", "SyncClient", "connect"} <= set(jobtui.__all__)
    db = tmp_path / "w.db"
    with jobtui.connect(db) as jobs:
        slow = jobs.submit("demo", {"items": 1, "delay": 0.01}, run_at_ms=2**62)  # never due: wait must time out
        job_id = jobs.submit("demo", {"items": 3, "delay": 0.01})
        with pytest.raises(TimeoutError, match=f"job {slow} is still queued"):
            jobs.wait(slow, timeout_s=0.3)
        runner = spawn_runner(db, "--quiet")
        try:
            assert jobs.wait(job_id, timeout_s=120).status is jobtui.JobStatus.COMPLETED
            assert [ln.message for ln in jobs.logs(job_id)]
        finally:
            stop_runner(runner)
        with pytest.raises(jobtui.JobtuiError):
            jobs.job(999)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_the_postgres_recipe_runs_as_printed() -> None:
    """initdb, pg_ctl, createdb, a job queued and run on it, the server stopped: the README's lines, in a fresh HOME
    (the port made free; run as the postgres user when the tests run as root, since initdb refuses root)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if in_ci():
            pytest.fail("CI must run the PostgreSQL recipe: PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl)")
    blocks = re.findall(r"```sh\n(.*?)```", _section("PostgreSQL"), re.S)
    recipe = next(b for b in blocks if b.startswith("initdb"))
    port = str(_free_port())
    lines = [ln.replace("5433", port) for ln in recipe.splitlines() if ln.strip()]
    as_pg = os.geteuid() == 0
    home = Path(tempfile.mkdtemp(prefix="jobtui-recipe-"))  # not under root's 0700 pytest folder
    if as_pg:
        shutil.chown(home, PG_USER)
    env = {**cli_env(None), "HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    define = f"jobtui() {{ {shlex.quote(sys.executable)} -m jobtui \"$@\"; }}; "
    said: dict[str, str] = {}
    try:
        for line in lines:
            if line.startswith("export "):
                key, value = line.removeprefix("export ").split("=", 1)
                env[key] = value
                continue
            pg_program = not line.startswith("jobtui")
            argv = ["bash", "-c", define + line]
            if as_pg and pg_program:
                argv = ["runuser", "-u", PG_USER, "--", "env", f"HOME={home}", f"PATH={env['PATH']}", *argv]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=home)
            assert r.returncode == 0, (line, r.stdout, r.stderr)
            said[line] = r.stdout
        assert env["JOBTUI_DB"] == f"postgresql://jobtui@127.0.0.1:{port}/jobs"
        assert (home / "jobtui-pg" / "server.log").is_file()
        run = next(out for line, out in said.items() if "jobtui run" in line)
        assert run.splitlines()[0] == "1" and "job 1: completed" in run, run  # queued, then run on the server
    finally:
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(home / "jobtui-pg"), "-m", "immediate", "stop"]
        subprocess.run(["runuser", "-u", PG_USER, "--", *pg_ctl] if as_pg else pg_ctl, capture_output=True,
                       timeout=60, check=False)
        shutil.rmtree(home, ignore_errors=True)


def test_importing_jobtui_loads_no_client() -> None:
    """`Client` and `connect` load on first use: a job type's `from jobtui import ...` never brings the client (the
    layers contract ignores the package's own lazy names on that ground)."""
    code = ("import sys, jobtui, jobtui.jobs.command; assert 'jobtui.client' not in sys.modules;"
            " jobtui.connect; assert 'jobtui.client' in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=cli_env(None))
    assert r.returncode == 0, r.stderr
