"""Several hosts from the command line (issue 10, point 4): `run --name/--tag`, `submit/add --needs`,
`runners`, `stats`, and what `show`/`ls` say of a job no runner can take. Real runner processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import dump, jobtui, spawn_runner
from tests.test_processes import journal_lines, poll

APP = ("--app", "journalapp")


def submit(db: Path, count: int, *options: str, **params: object) -> list[int]:
    lines = "\n".join(json.dumps(params) for _ in range(count))
    r = jobtui("submit", "journal", *APP, "--from", "-", *options, db=db, input=lines)
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def statuses(db: Path) -> dict[int, str]:
    con = sqlite3.connect(db)
    try:
        return {int(j): str(s) for j, s in con.execute("SELECT job_id, status FROM jobs")}
    finally:
        con.close()


def ran_by(journal: Path) -> dict[int, set[int]]:
    """Return the pids that ran some stage of each job."""
    out: dict[int, set[int]] = {}
    for pid, job, *_ in journal_lines(journal):
        out.setdefault(job, set()).add(pid)
    return out


def stop(p: subprocess.Popen[str]) -> tuple[str, str]:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    return p.communicate(timeout=60)


@pytest.mark.slow
def test_needs_route_jobs_to_a_runner_with_the_tags(tmp_path: Path) -> None:
    """Two runners at once: jobs needing gpu run only on the gpu runner; jobs with no needs on either."""
    db = tmp_path / "fleet.db"
    journal = tmp_path / "journal.txt"
    env = {"JOBTUI_TEST_JOURNAL": str(journal)}
    gpu_jobs = submit(db, 6, "--needs", "gpu", n=6, item_sleep=0.01)
    plain = submit(db, 6, n=6, item_sleep=0.01)
    cpu = spawn_runner(db, *APP, "--name", "cpu-box", "--concurrency", "2", "--quiet", **env)
    gpu: subprocess.Popen[str] | None = None
    try:
        # The cpu runner first, so that it surely gets some of the plain jobs.
        poll(lambda: "cpu-box" in jobtui("runners", db=db).stdout, timeout=60)
        gpu = spawn_runner(db, *APP, "--name", "gpu-box", "--tag", "GPU", "--concurrency", "2", "--quiet", **env)
        poll(lambda: all(statuses(db)[j] == "completed" for j in gpu_jobs + plain), timeout=90)
    finally:
        _, cpu_err = stop(cpu)
        _, gpu_err = stop(gpu) if gpu is not None else ("", "")
    assert gpu is not None and cpu.returncode == 0 and gpu.returncode == 0, cpu_err + gpu_err
    assert "runner cpu-box" in cpu_err and "no tags" in cpu_err
    assert "runner gpu-box" in gpu_err and "tags: gpu" in gpu_err
    who = ran_by(journal)
    for j in gpu_jobs:
        assert who[j] == {gpu.pid}, f"job {j} needs gpu and ran on {who[j]}"
    assert {cpu.pid} == set().union(*(who[j] for j in plain)) - {gpu.pid}, "the cpu runner ran some plain jobs"


@pytest.mark.slow
def test_a_job_nobody_can_run_says_so_then_runs_on_a_new_runner(tmp_path: Path) -> None:
    """A runner without the tag leaves the job (and --exit-when-idle exits); show/ls say what it waits for."""
    db = tmp_path / "wait.db"
    journal = tmp_path / "journal.txt"
    env = {"JOBTUI_TEST_JOURNAL": str(journal)}
    [needy] = submit(db, 1, "--needs", "gpu,big-disk", n=2)
    [plain] = submit(db, 1, n=2)
    cpu = spawn_runner(db, *APP, "--tag", "gpu", "--exit-when-idle", "--quiet", **env)
    _, err = cpu.communicate(timeout=60)
    assert cpu.returncode == 0, err
    assert statuses(db) == {needy: "queued", plain: "completed"}
    shown = jobtui("show", str(needy), db=db)
    assert "needs      big-disk, gpu" in shown.stdout
    assert "waiting for a runner with tags: big-disk, gpu" in shown.stdout
    assert "workspace" in shown.stdout and "another host" in shown.stdout
    listed = jobtui("ls", db=db).stdout
    assert "waiting for a runner with tags: big-disk, gpu" in listed
    assert json.loads(jobtui("show", str(needy), "--json", db=db).stdout)["needs"] == ["big-disk", "gpu"]
    [row] = [o for o in json.loads(jobtui("ls", "--json", db=db).stdout) if o["job_id"] == needy]
    assert row["needs"] == ["big-disk", "gpu"]
    big = spawn_runner(db, *APP, "--tag", "gpu", "--tag", "big-disk", "--exit-when-idle", "--quiet", **env)
    _, err = big.communicate(timeout=60)
    assert big.returncode == 0, err
    assert statuses(db)[needy] == "completed"
    assert ran_by(journal)[needy] == {big.pid}


@pytest.mark.slow
def test_runners_and_stats_show_every_runner(tmp_path: Path) -> None:
    """Name, host, pid, tags, held jobs, heartbeat and state; a SIGKILLed runner shows as gone."""
    db = tmp_path / "stats.db"
    [job] = submit(db, 1, "--needs", "gpu", n=1, stage_sleep=30)
    env = {"JOBTUI_TEST_JOURNAL": str(tmp_path / "journal.txt")}
    # A long lease: box-a's recovery (every lease/3) must not remove the killed runner before `runners` shows it gone.
    a = spawn_runner(db, *APP, "--name", "box-a", "--tag", "gpu", "--tag", "ssd", "--quiet", "--lease-ttl", "90", **env)
    b = spawn_runner(db, *APP, "--quiet", **env)
    try:
        def both() -> list[dict[str, object]] | None:
            r = jobtui("runners", "--json", db=db)
            got = json.loads(r.stdout) if r.returncode == 0 else []
            held = [g for g in got if g["jobs"]]
            return got if len(got) == 2 and held else None

        runners = {str(r["name"]): r for r in poll(both, timeout=60)}
        me = socket.gethostname()
        assert runners["box-a"]["tags"] == ["gpu", "ssd"] and runners["box-a"]["pid"] == a.pid
        assert runners["box-a"]["jobs"] == [job] and runners["box-a"]["state"] == "alive"
        assert runners["box-a"]["host"] == me
        default = f"{me}-{b.pid}"
        assert runners[default]["tags"] == [] and runners[default]["jobs"] == []
        text = jobtui("runners", db=db).stdout
        assert "box-a" in text and "gpu,ssd" in text and f"#{job}" in text and "alive" in text, text
        stats = jobtui("stats", db=db).stdout
        assert "runners   2: 2 alive" in stats and "box-a" in stats and default in stats, stats
        js = json.loads(jobtui("stats", "--json", db=db).stdout)["runners"]
        assert {r["name"] for r in js} == {"box-a", default}
        b.kill()
        b.wait(timeout=30)
        gone = {str(r["name"]): r["state"] for r in json.loads(jobtui("runners", "--json", db=db).stdout)}
        assert gone[default] == "gone" and gone["box-a"] == "alive"
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=30)


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_bad_tags_and_names_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    assert jobtui("submit", "demo", db=db).returncode == 0
    before = dump(db)
    for args in (["submit", "demo", "--needs", "two words"], ["submit", "demo", "--needs", ""],
                 ["submit", "demo", "--needs", "-x"], ["submit", "demo", "--needs", "x" * 65],
                 ["add", "--needs", "gpu!", "--", "true"],
                 ["run", "--tag", "a b"], ["run", "--name", "-bad"], ["run", "--name", "a/b"]):
        r = jobtui(*args, db=db)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("jobtui: error:"), (args, r.stderr)
        assert "Traceback" not in r.stderr
    lines = '{"delay": 0}\n{"delay": 0, "_needs": ["ok", "not ok"]}\n'
    r = jobtui("submit", "demo", "--from", "-", db=db, input=lines)
    assert r.returncode == 2 and "-:2: _needs" in r.stderr, r.stderr
    r = jobtui("submit", "demo", "--from", "-", db=db, input='{"_needs": 3}\n')
    assert r.returncode == 2 and "_needs must be a tag or a list of tags" in r.stderr, r.stderr
    assert dump(db) == before


def test_needs_from_every_way_of_queueing(tmp_path: Path) -> None:
    db = tmp_path / "ways.db"
    lines = '{"_needs": "arm"}\n{}\n{"_needs": ["ssd", "arm"]}\n'
    ids = jobtui("submit", "demo", "--needs", "gpu", "--from", "-", db=db, input=lines).stdout.split()
    [added] = jobtui("add", "--needs", "gpu", "--needs", "Big-Disk", "--", "true", db=db).stdout.split()
    con = sqlite3.connect(db)
    try:
        rows = sorted(con.execute("SELECT job_id, tag FROM job_needs"))
    finally:
        con.close()
    a, b, c = (int(x) for x in ids)
    assert rows == sorted([(a, "arm"), (a, "gpu"), (b, "gpu"), (c, "arm"), (c, "gpu"), (c, "ssd"),
                           (int(added), "big-disk"), (int(added), "gpu")])


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_no_runners(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    assert jobtui("submit", "demo", db=db).returncode == 0
    assert jobtui("runners", db=db).stdout.strip() == "no runners (start one with `jobtui run`)"
    assert json.loads(jobtui("runners", "--json", db=db).stdout) == []
    r = jobtui("runners", db=tmp_path / "missing.db")
    assert r.returncode == 1 and not (tmp_path / "missing.db").exists()
    assert os.path.exists(db)


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_workspace_root_option_puts_workspaces_in_a_shared_folder(tmp_path: Path) -> None:
    """`--workspace-root` (as a mounted shared folder would be) is where the runner writes and `show` points."""
    db = tmp_path / "ws.db"
    shared = tmp_path / "shared"
    [job] = jobtui("add", "--shell", 'echo hi > "$JOBTUI_WORKSPACE/out.txt"', db=db).stdout.split()
    r = jobtui("run", "--workspace-root", str(shared), "--exit-when-idle", "--quiet", db=db)
    assert r.returncode == 0, r.stderr
    assert (shared / job / "out.txt").read_text() == "hi\n"
    assert not (tmp_path / "ws.workspaces" / job).exists()
    shown = jobtui("show", job, "--workspace-root", str(shared), db=db).stdout
    assert f"workspace  {shared / job}" in shown and "another host" in shown
    r = jobtui("delete", job, "--workspace-root", str(shared), db=db)
    assert r.returncode == 0, r.stderr
    assert not (shared / job).exists()
    r = jobtui("ls", "--workspace-root", " ", db=db)
    assert r.returncode == 2 and r.stderr.strip() == "jobtui: error: --workspace-root is empty"
