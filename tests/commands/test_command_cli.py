"""Command jobs through the real CLI: bad input, SIGKILLed runners, hostile file names, exports, logs."""

from __future__ import annotations

import collections
import csv
import io
import json
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.commands.helpers import mark, procs_with
from tests.conftest import cli_show, dump, jobtui, poll, spawn_runner, stop_runner
from tests.sizing import sized

pytestmark = pytest.mark.slow

README_SCRIPT = """\
#!/bin/sh
# count.sh: resumes mid-loop after a crash, from its last checkpoint
i=${JOBTUI_STATE:-0}
while [ "$i" -lt 100 ]; do
  i=$((i + 1))
  echo "$i" >> "$OUT"                      # the work of step $i
  echo "::jobtui progress $i/100 step $i"
  echo "::jobtui checkpoint $i"
  sleep 0.02
done
"""


def show(db: Path, job: int) -> dict[str, Any]:
    return cli_show(db, job)


@pytest.mark.parametrize("args, message", [
    (["add", "--"], "empty command"),
    (["add"], "empty command"),
    (["add", "--shell", "  "], "empty command"),
    (["add", "--pipeline", "missing.toml"], "no such file"),
    (["add", "--pipeline", "{bad}"], "invalid TOML"),
    (["foreach", "--args", "a", "--", "echo", "{nope}"], "unknown placeholder {nope}"),
    (["foreach", "--glob", "*.nomatch", "--", "echo", "{}"], "matches nothing"),
    (["foreach", "--lines", "missing.txt", "--", "echo", "{}"], "--lines missing.txt: no such file"),
    (["add", "--timeout", "soon", "--", "true"], "bad duration 'soon'"),
    (["foreach", "--", "echo"], "exactly one of --glob"),
    (["add", "--env", "NOT_SET_ANYWHERE_X", "--", "true"], "is not set here"),
])
def test_bad_input_is_one_line_exit_2_and_creates_no_job(tmp_path: Path, args: list[str], message: str) -> None:
    db = tmp_path / "bad.db"
    (tmp_path / "bad.toml").write_text("[[stage]\nname = 1\n")
    args = [str(tmp_path / "bad.toml") if a == "{bad}" else a for a in args]
    assert jobtui("add", "--", "true", db=db).returncode == 0  # the database exists, with one job
    before = dump(db)
    r = jobtui(*args, db=db, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("jobtui: error: ") and message in r.stderr, r.stderr
    assert dump(db) == before


def _cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "jobtui"]


def _env(db: Path) -> dict[str, str]:
    from tests.conftest import cli_env

    return cli_env(db)


def test_add_records_cwd_env_and_prints_the_id(tmp_path: Path) -> None:
    db = tmp_path / "add.db"
    r = jobtui("add", "--name", "greet", "--env", "WHO=world", "--", "sh", "-c", 'echo "hi $WHO from $(pwd)"', db=db,
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    job = int(r.stdout)
    out = jobtui("run", "--exit-when-idle", "--quiet", db=db)
    assert out.returncode == 0, out.stderr
    logs = jobtui("logs", str(job), db=db).stdout
    assert f"stdout  hi world from {tmp_path}" in logs
    detail = show(db, job)
    assert detail["params"]["name"] == "greet" and detail["processes"][0]["exit_code"] == 0


def test_pipeline_file_runs_in_order_and_resume_continues_at_the_failed_stage(tmp_path: Path) -> None:
    db = tmp_path / "pipe.db"
    (tmp_path / "sub").mkdir()
    (tmp_path / "p.toml").write_text(f"""
name = "build"
[[stage]]
name = "fetch"
run = ["sh", "-c", "echo fetch >> {tmp_path}/journal; pwd"]
cwd = "sub"
[[stage]]
name = "compile"
run = "echo compile >> {tmp_path}/journal; test -e {tmp_path}/ready"
timeout = "1m"
pause = "restart"
[[stage]]
name = "ship"
run = ["sh", "-c", "echo ship $TARGET >> {tmp_path}/journal"]
env = {{ TARGET = "prod" }}
""")
    r = jobtui("add", "--pipeline", str(tmp_path / "p.toml"), db=db)
    assert r.returncode == 0, r.stderr
    job = int(r.stdout)
    jobtui("run", "--exit-when-idle", "--quiet", db=db)
    d = show(db, job)
    assert d["status"] == "failed" and d["failed_step"] == "compile"
    assert f"stdout  {tmp_path}/sub" in jobtui("logs", str(job), db=db).stdout
    (tmp_path / "ready").touch()
    assert jobtui("resume", str(job), db=db).returncode == 0
    jobtui("run", "--exit-when-idle", "--quiet", db=db)
    assert show(db, job)["status"] == "completed"
    assert (tmp_path / "journal").read_text().split("\n") == ["fetch", "compile", "compile", "ship prod", ""]
    assert jobtui("rewind", str(job), "--to", "ship", db=db).returncode == 0
    jobtui("run", "--exit-when-idle", "--quiet", db=db)
    assert (tmp_path / "journal").read_text().count("ship prod") == 2


def test_runner_sigterm_leaves_no_process_and_hands_the_job_back(tmp_path: Path) -> None:
    db = tmp_path / "term.db"
    m = mark()
    r = jobtui("add", "--env", f"TESTMARK={m}", "--shell", "sleep 60 & sleep 60", db=db)
    job = int(r.stdout)
    runner = spawn_runner(db, "--quiet")
    try:
        poll(lambda: len(procs_with(m)) >= 3)
    finally:
        runner.send_signal(signal.SIGTERM)
        _out, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err
    assert procs_with(m) == []
    assert show(db, job)["status"] == "queued"


def test_sigkilled_runner_relaunched_never_overlaps_two_copies(tmp_path: Path) -> None:
    """A runner SIGKILLed mid-command: the relaunch ends what is left of it before running it again."""
    db = tmp_path / "kill.db"
    journal = tmp_path / "journal"
    m = mark()
    # The command's own child left its process group (which the fork server SIGKILLs when the runner dies)
    # and ignores SIGTERM: the recovery must wait for it (or SIGKILL it) before the second copy starts.
    script = (f'echo "start $(date +%s%N)" >> {journal};'
              f' setsid sh -c "trap \'\' TERM; sleep 2; echo inner-end \\$(date +%s%N) >> {journal}";'
              f' echo "end $(date +%s%N)" >> {journal}')
    job = int(jobtui("add", "--env", f"TESTMARK={m}", "--shell", script, db=db).stdout)
    runner = spawn_runner(db, "--quiet", "--lease-ttl", "1")
    poll(lambda: journal.exists() and len(procs_with(m)) >= 3)
    stop_runner(runner, signal.SIGKILL, timeout=10)
    assert procs_with(m), "without the recovery, part of the command outlives its runner"
    relaunch = spawn_runner(db, "--quiet", "--exit-when-idle", "--lease-ttl", "1")
    _out, err = relaunch.communicate(timeout=60)
    assert relaunch.returncode == 0, err
    assert show(db, job)["status"] == "completed"
    assert procs_with(m) == []
    events = [(ln.split()[0], int(ln.split()[1])) for ln in journal.read_text().splitlines()]
    kinds = [k for k, _ in events]
    assert kinds.count("start") == 2 and kinds.count("end") == 1, events
    second_start = [t for k, t in events if k == "start"][1]
    first_copy = [t for k, t in events if t < second_start]
    later = [t for k, t in events if k == "inner-end" and t > second_start]
    assert len(later) <= 1 and max(first_copy) < second_start, "no stamp of the first copy after the second started"
    assert [k for k, _ in events][-1] == "end"
    assert show(db, job)["recovery_count"] == 1


def test_a_checkpointing_script_resumes_mid_stage_after_sigkill(tmp_path: Path) -> None:
    """The README's ten-line script: after a SIGKILL it continues from its last checkpoint."""
    db = tmp_path / "ckpt.db"
    script = tmp_path / "count.sh"
    script.write_text(README_SCRIPT)
    script.chmod(0o755)
    out = tmp_path / "out"
    job = int(jobtui("add", "--env", f"OUT={out}", "--", str(script), db=db).stdout)
    runner = spawn_runner(db, "--quiet", "--lease-ttl", "1")
    poll(lambda: out.exists() and len(out.read_text().split()) >= 30)
    stop_runner(runner, signal.SIGKILL, timeout=10)
    done_before = len(out.read_text().split())
    con = sqlite3.connect(db)
    [(state,)] = con.execute("SELECT state FROM stages WHERE job_id = ? AND stage_index = 0", (job,)).fetchall()
    con.close()
    committed = int(json.loads(state))  # the last checkpoint the runner committed before the kill
    relaunch = spawn_runner(db, "--quiet", "--exit-when-idle", "--lease-ttl", "1")
    _o, err = relaunch.communicate(timeout=60)
    assert relaunch.returncode == 0, err
    steps = [int(x) for x in out.read_text().split()]
    assert show(db, job)["status"] == "completed"
    assert 0 < committed <= done_before, "it resumed mid-loop, not from the start"
    # The steps the script ran before the kill, then exactly those after its last committed checkpoint: the steps
    # it printed after that checkpoint but before the runner committed the next one (how many depends on how far
    # the runner lagged behind the script's output) run again; none that was committed does.
    ran = len(steps) - (100 - committed)  # the steps of the first run: 1..ran, then committed+1..100
    assert ran >= done_before
    assert steps == [*range(1, ran + 1), *range(committed + 1, 101)], f"committed {committed}, ran {ran}: {steps}"


NAMES = sized(90, 200)
"""Files of the hostile-names test: ten of each hostile name (200 with JOBTUI_TEST_FULL=1, tests/sizing.py)."""


def test_foreach_200_hostile_names_sigkilled_and_relaunched_gives_one_result_each(tmp_path: Path) -> None:
    db = tmp_path / "each.db"
    files = tmp_path / "files"
    files.mkdir()
    hostile = ["a; rm -rf x", "$(touch pwned)", "`touch pwned2`", "-rf", "quote'\"s", "new\nline", "sp ace", "*", "{}"]
    names = [f"{hostile[i % len(hostile)]} {i:03d}.txt" for i in range(NAMES)]
    for n in names:
        (files / n).write_text(n)
    journal = tmp_path / "journal"
    # One line per run, written at once (O_APPEND): the item in hex, so any name fits on one line.
    cmd = ["sh", "-c", 'printf "%s\\n" "$(printf %s "$1" | od -An -tx1 | tr -d " \\n")" >> "$2"; sleep 0.03', "sh",
           "{}", str(journal)]
    r = jobtui("foreach", "--glob", "files/*", "--workers", "3", "--", *cmd, db=db, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    job = int(r.stdout)
    runner = spawn_runner(db, "--quiet", "--lease-ttl", "1")
    poll(lambda: journal.exists() and len(journal.read_text().splitlines()) >= NAMES * 3 // 10)
    stop_runner(runner, signal.SIGKILL, timeout=10)
    con = sqlite3.connect(db)
    done_at_kill = {k for (k,) in con.execute("SELECT key FROM items WHERE status = 'done'")}
    con.close()
    assert 0 < len(done_at_kill) < NAMES
    ran_before = collections.Counter(journal.read_text().splitlines())

    relaunch = spawn_runner(db, "--quiet", "--exit-when-idle", "--lease-ttl", "1")
    _o, err = relaunch.communicate(timeout=120)
    assert relaunch.returncode == 0, err
    assert show(db, job)["status"] == "completed"
    ran = collections.Counter(journal.read_text().splitlines())
    assert len(ran) == NAMES, "every file ran"
    for key in done_at_kill:
        coded = key.encode().hex()
        assert ran[coded] == ran_before[coded] == 1, f"finished item {key!r} ran again"
    assert max(ran.values()) <= 2
    assert not list(tmp_path.rglob("pwned*"))
    rows = list(csv.DictReader(io.StringIO(jobtui("export", str(job), "--format", "csv", db=db).stdout)))
    assert sorted(r["item"] for r in rows) == sorted(f"files/{n}" for n in names), "exactly one row per file"
    assert {r["exit_code"] for r in rows} == {"0"} and all(float(r["duration_s"]) > 0 for r in rows)


def test_export_csv_while_paused_and_logs_all_prefixes_ids(tmp_path: Path) -> None:
    db = tmp_path / "exp.db"
    args = [f"i{n}" for n in range(40)]
    # Items after the fifth wait for a file that never comes: the job is still running when it is paused.
    item = 'echo "did $1"; case $1 in i[0-4]) ;; *) while [ ! -e "$2" ]; do sleep 0.05; done ;; esac'
    job = int(jobtui("foreach", "--args", *args, "--", "sh", "-c", item, "sh", "{}", str(tmp_path / "never"),
                     db=db).stdout)
    other = int(jobtui("add", "--", "echo", "other", db=db).stdout)
    runner = spawn_runner(db, "--quiet")
    try:
        poll(lambda: show(db, job)["counters"]["items_done"] >= 5)
        assert jobtui("pause", str(job), db=db).returncode == 0
        poll(lambda: show(db, job)["status"] == "paused")
        rows = list(csv.DictReader(io.StringIO(jobtui("export", str(job), "--format", "csv", db=db).stdout)))
        assert 5 <= len(rows) < 40
        assert set(rows[0]) == {"item", "status", "exit_code", "duration_s", "attempts", "output", "error"}
        assert all(r["output"] == f"did {r['item']}" and r["attempts"] == "1" for r in rows)
        logs = jobtui("logs", "--all", db=db).stdout.splitlines()
        assert any(ln.startswith(f"[{other}] ") and ln.endswith("stdout  other") for ln in logs)
        assert any(ln.startswith(f"[{job}] ") and "did i0" in ln for ln in logs)
        # `-n 1`: the newest line printed at once says the follower has read where the log ends.
        follow = subprocess.Popen([*_cli(), "logs", "--all", "--follow", "-n", "1"], env=_env(db),
                                  stdout=subprocess.PIPE, text=True)
        lines: list[str] = []
        def read() -> None:
            assert follow.stdout is not None
            for line in follow.stdout:
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            poll(lambda: lines, what="the follower printed the newest line")
            new = int(jobtui("add", "--", "echo", "late-line", db=db).stdout)
            poll(lambda: any("late-line" in ln for ln in lines), what="the follower printed the late line")
        finally:
            follow.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                code = follow.wait(timeout=10)
            finally:
                if follow.poll() is None:
                    follow.kill()
                    follow.wait(timeout=10)
                reader.join(timeout=10)
                if follow.stdout is not None:
                    follow.stdout.close()
        assert code == 130, "Ctrl-C ends the follower"
        text = "".join(lines)
        assert f"[{new}] " in text and "late-line" in text
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.communicate(timeout=30)
