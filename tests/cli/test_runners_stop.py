"""Issue 19, item 6: `jobtui runners stop NAME|--all` asks a live runner, through the database, to hand its jobs back
and exit 0. Real `jobtui run` processes, on SQLite and on PostgreSQL (where the runner may be on another host: the
request is a row the runner reads at its heartbeat, never a signal)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobtui.cli.completion import HELPER
from tests.conftest import cli_show, cli_submit, jobtui, poll, spawn_runner, stop_runner


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of each backend (PostgreSQL: a fresh database of the test cluster)."""
    if request.param == "sqlite":
        return str(tmp_path_factory.mktemp("stop") / "r.db")
    return str(request.getfixturevalue("pg_url"))


def _runners(db: str) -> list[dict[str, object]]:
    r = jobtui("runners", "--json", db=db)
    if "no database at" in r.stderr:  # the runner has not made it yet
        return []
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def _start(db: str, name: str) -> subprocess.Popen[str]:
    # A lease of 3 s (a heartbeat a second): with 1 s, a runner starved of CPU for a second at load 15-20 was
    # taken for stale, and `runners stop --all` then found no live runner to stop.
    proc = spawn_runner(db, "--name", name, "--lease-ttl", "3", "--concurrency", "1", "--quiet")
    try:
        poll(lambda: any(r["name"] == name and r["state"] == "alive" for r in _runners(db)), what=f"runner {name} alive")
    except BaseException:
        stop_runner(proc)  # never left running after a failed start
        raise
    return proc


@pytest.mark.slow
def test_stop_hands_the_running_job_back_and_the_runner_exits_0(db: str) -> None:
    """The runner running a job hears the request, hands the job back (queued, resumable) and exits 0; the job is
    not failed, and the other runner goes on until `--all` stops it too."""
    job = cli_submit(db, "demo", "-p", "items=100000", "-p", "delay=0.01")
    a = _start(db, "box-a")
    b: subprocess.Popen[str] | None = None
    try:
        poll(lambda: cli_show(db, job)["status"] == "running", what="job running")
        b = _start(db, "box-b")
        holder = next(r for r in _runners(db) if r["jobs"] == [job])["name"]
        r = jobtui("runners", "stop", str(holder), "--wait", "--timeout", "60s", db=db)
        assert r.returncode == 0, r.stderr
        assert f"runner {holder} (host " in r.stdout and "hands back 1 job(s)" in r.stdout, r.stdout
        assert r.stdout.rstrip().endswith(f"runner {holder}: stopped"), r.stdout
        stopped, other = (a, b) if holder == "box-a" else (b, a)
        assert stopped.wait(timeout=60) == 0
        assert "asked to stop (`jobtui runners stop`)" in (stopped.communicate()[1] or "")
        assert other.poll() is None  # only the runner named stops
        assert [x["name"] for x in _runners(db)] == [("box-b" if holder == "box-a" else "box-a")]
        # handed back, not failed: the other runner takes it and runs it on (or it waits in the queue)
        assert cli_show(db, job)["status"] in ("queued", "running")
        r = jobtui("runners", "stop", "--all", "--wait", db=db)
        assert r.returncode == 0 and r.stdout.count(": stopped") == 1, (r.stdout, r.stderr)
        assert other.wait(timeout=60) == 0
        detail = cli_show(db, job)
        assert detail["status"] == "queued" and detail["error_message"] is None, detail
        assert jobtui("runners", "stop", "--all", db=db).stdout.strip() == "no live runner to stop"
    finally:
        for p in (a, b):
            if p is not None:
                stop_runner(p)


BAD = [
    (["box-aa"], "no runner named 'box-aa'; did you mean 'box-a'?"),
    (["nobody-here"], "no runner named 'nobody-here' (`jobtui runners` lists them)"),
    ([], "name the runners to stop, or give --all (not both)"),
    (["box-a", "--all"], "name the runners to stop, or give --all (not both)"),
    (["box-a", "--timeout", "5s"], "--timeout goes with --wait"),
    (["box-a", "--wait", "--timeout", "nan"], "--timeout"),
]


@pytest.mark.slow
def test_bad_stop_requests_are_one_line_and_stop_nothing(tmp_path: Path) -> None:
    """A mistyped name gets the name probably meant; nothing is asked of any runner."""
    db = str(tmp_path / "r.db")
    a = _start(db, "box-a")
    try:
        for argv, says in BAD:
            r = jobtui("runners", "stop", *argv, db=db)
            assert r.returncode == 2, (argv, r.stdout, r.stderr)
            assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
        assert a.poll() is None and [x["state"] for x in _runners(db)] == ["alive"]
        # a TAB after `jobtui runners stop` offers the runners' names (the completion scripts run this helper)
        names = subprocess.run([sys.executable, "-I", "-S", str(HELPER), "runners", db, "", "plain"],
                               capture_output=True, text=True, timeout=30)
        assert names.stdout.split() == ["box-a"], names
    finally:
        assert "stopped" in stop_runner(a)
