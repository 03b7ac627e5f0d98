"""Issue 21 item 6: `--notify-on started,progress,retrying,ended`, told to a real HTTP server on 127.0.0.1 by a
real runner: progress throttled (at most one per 10 % step), a command job's exit code and last output lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import dump, jobtui, poll, spawn_runner, stop_runner
from tests.unattended.notify_server import NotifyServer
from tests.unattended.test_notify import drained

pytestmark = pytest.mark.slow

LOOP = 'for i in $(seq 1 50); do echo "::jobtui progress $i/50"; echo "line $i"; sleep 0.08; done'


def _add(db: Path, *args: str) -> int:
    r = jobtui("add", *args, db=db)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def test_started_progress_retrying_and_ended_reach_a_real_server(tmp_path: Path) -> None:
    db, flag = tmp_path / "n.db", tmp_path / "failed-once"
    server = NotifyServer()
    try:
        url = ("--notify-url", server.url)
        loop = _add(db, *url, "--notify-on", "started,progress", "--notify-on", "ended", "--shell", LOOP)
        # Exit 75 (try again) once: the stage waits out its backoff in `retrying`, then succeeds.
        retry = _add(db, *url, "--notify-on", "retrying,ended", "--shell",
                     f'if [ ! -e {flag} ]; then touch {flag}; echo first; exit 75; fi; echo second')
        quiet = _add(db, *url, "--notify-on", "progress", "--", "true")  # no `ended`: its end is not told
        runner = spawn_runner(db, "--quiet")
        try:
            poll(lambda: {(r.body["job_id"], r.body["status"]) for r in server.ok()} >= {(loop, "completed"),
                                                                                        (retry, "completed")}
                 and drained(db), what="both ends told")
        finally:
            stop_runner(runner)
        events = [(r.body["job_id"], r.body["event"]) for r in server.ok()]
        assert not [e for e in events if e[0] == quiet], events
        mine = [r.body for r in server.ok() if r.body["job_id"] == loop]
        kinds = [b["event"] for b in mine]
        assert kinds.count("started") == 1 and kinds.count("completed") == 1, kinds
        progress = [b for b in mine if b["event"] == "progress"]
        assert 1 <= len(progress) <= 9, kinds  # 50 steps, told at most once per 10 % step
        ended = next(b for b in mine if b["event"] == "completed")
        assert ended["exit_code"] == 0 and ended["output"][-1] == "line 50" and len(ended["output"]) == 20
        retried = [r.body for r in server.ok() if r.body["job_id"] == retry]
        assert [b["event"] for b in retried].count("retrying") == 1, [b["event"] for b in retried]
        done = next(b for b in retried if b["event"] == "completed")  # deliveries run side by side: any order
        assert done["exit_code"] == 0 and done["output"][-2:] == ["first", "second"]
        assert len({r.headers["Idempotency-Key"] for r in server.ok()}) == len(server.ok())
    finally:
        server.close()


def test_progress_is_told_at_most_once_per_step(tmp_path: Path) -> None:
    """The throttle itself: percent steps and the minute (jobtui/notify_on.py)."""
    from jobtui.notify_on import progress_due

    assert not progress_due(0, None, 0) and not progress_due(100, None, 0)
    assert progress_due(3, None, 0)
    assert not progress_due(9.9, (0, 0, 3), 1000) and progress_due(10, (0, 0, 3), 1000)
    assert not progress_due(15, (1, 0, 12), 59_999) and progress_due(15, (1, 0, 12), 60_000)
    assert not progress_due(12, (1, 0, 12), 120_000)  # not moved: nothing to tell


def test_bad_notify_on_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    _add(db, "--", "true")
    before = dump(db)
    for args, said in (
        (["add", "--notify-on", "started", "--", "true"], "give one"),
        (["add", "--notify-url", "http://127.0.0.1:9/x", "--notify-on", "finished", "--", "true"], "unknown event"),
        (["foreach", "--args", "a", "--notify-cmd", "true", "--notify-on", "progress,", "--", "echo", "{}"],
         "unknown event"),
        (["submit", "demo", "--notify-on", "ended"], "give one"),
        (["schedule", "add", "s", "--every", "1h", "demo", "--notify-on", "x"], "unknown event"),
        (["template", "save", "t", "demo", "--notify-on", "started"], "give one"),
    ):
        r = jobtui(*args, db=db)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], (args, r.stderr)
    assert dump(db) == before
