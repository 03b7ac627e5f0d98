"""Notifications (issue 9, part 2) with a real runner process and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_show, cli_submit, dump, jobtui, poll, spawn_runner, stop_runner
from tests.unattended.notify_server import NotifyServer, free_port

pytestmark = pytest.mark.slow
APP = ("--app", "unattendedapp")


def submit(db: Path, *args: str, type: str = "step") -> int:
    return cli_submit(db, type, *APP, *args)


def show(db: Path, job_id: int) -> dict[str, Any]:
    return cli_show(db, job_id, *APP)


def drained(db: Path) -> bool:
    """Tell whether the outbox holds no delivery still to make (every one sent or given up): no more POSTs come."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM notifications WHERE state = 'pending'").fetchone()[0] == 0
    finally:
        con.close()


def settled(server: NotifyServer, count: int, db: Path) -> None:
    """Wait for `count` accepted POSTs and an outbox with nothing left to deliver; then there were exactly `count`."""
    poll(lambda: len(server.ok()) >= count and drained(db))
    assert len(server.ok()) == count, [r.body["event"] for r in server.ok()]


def test_one_post_per_event_for_every_kind_of_end_and_a_command(tmp_path: Path) -> None:
    db, out, gate = tmp_path / "n.db", tmp_path / "cmd.out", tmp_path / "gate"
    server = NotifyServer()
    try:
        url = ("--notify-url", server.url)
        done = submit(db, *url, "-p", "api_key=hunter2-secret")
        failed = submit(db, *url, "-p", f"gate={gate}")
        cancelled = submit(db, *url, "--at", "+1h")
        paused = submit(db, *url, "-p", "delay=0", "-p", "items=12", "-p", "fail_items=6", "-p", "fail_kind=permanent",
                        type="demo")
        cmd = submit(db, "--notify-cmd", f'echo "$JOBTUI_JOB_ID $JOBTUI_STATUS $JOBTUI_TYPE $JOBTUI_EVENT" >> {out}')
        assert jobtui("cancel", str(cancelled), *APP, db=db).returncode == 0  # no runner: the CLI's own commit
        runner = spawn_runner(db, *APP, "--quiet")
        try:
            settled(server, 4, db)
            poll(lambda: out.exists() and out.read_text().strip())
        finally:
            stop_runner(runner)
        events = {r.body["job_id"]: r.body["event"] for r in server.ok()}
        assert events == {done: "completed", failed: "failed", cancelled: "cancelled", paused: "paused"}
        assert len({r.headers["Idempotency-Key"] for r in server.received}) == 4
        body = next(r.body for r in server.ok() if r.body["job_id"] == done)
        assert body["status"] == "completed" and body["params"]["api_key"] == "***"
        assert "hunter2-secret" not in json.dumps([r.body for r in server.received])
        assert out.read_text().split() == [str(cmd), "completed", "step", "completed"]
        d = show(db, done)
        [n] = d["notifications"]
        assert n["state"] == "sent" and n["attempts"] == 1 and n["sent_at"]
        assert "s3cret-token" not in json.dumps(d) and "s3cret-token" not in jobtui("show", str(done), *APP, db=db).stdout
    finally:
        server.close()


def test_a_503_is_retried_and_delivered_once(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    server = NotifyServer(fail_first=1)
    try:
        job = submit(db)
        runner = spawn_runner(db, *APP, "--quiet", "--notify-url", server.url)  # the runner-wide default
        try:
            settled(server, 1, db)
        finally:
            stop_runner(runner)
        assert [r.answered for r in server.received] == [503, 200]
        assert len({r.headers["Idempotency-Key"] for r in server.received}) == 1
        [n] = show(db, job)["notifications"]
        assert n["state"] == "sent" and n["attempts"] == 2
    finally:
        server.close()


def test_due_when_the_runner_was_killed_is_sent_once_after_relaunch(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    port = free_port()  # nothing listens yet: the first runner cannot deliver
    job = submit(db, "--notify-url", f"http://127.0.0.1:{port}/hook")
    runner = spawn_runner(db, *APP, "--quiet")
    poll(lambda: show(db, job)["status"] == "completed", every=0.02)
    runner.send_signal(signal.SIGKILL)  # just after the job ended: its notification is due, not sent
    runner.communicate(timeout=10)
    assert show(db, job)["notifications"][0]["state"] == "pending"
    server = NotifyServer(port=port)
    try:
        relaunch = spawn_runner(db, *APP, "--quiet")
        try:
            settled(server, 1, db)
        finally:
            stop_runner(relaunch)
        assert server.received[0].body["job_id"] == job and server.received[0].body["event"] == "completed"
        assert show(db, job)["notifications"][0]["state"] == "sent"
    finally:
        server.close()


def test_bad_scheme_is_refused_and_unreachable_is_not(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    submit(db)
    before = dump(db)
    for bad in ("ftp://example.org/x", "file:///etc/passwd", "example.org/hook", "http://"):
        r = jobtui("submit", "step", *APP, "--notify-url", bad, db=db)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("jobtui: error: "), r.stderr
    r = jobtui("run", *APP, "--notify-url", "gopher://x", db=db)
    assert r.returncode == 2, r.stderr
    assert dump(db) == before
    r = jobtui("submit", "step", *APP, "--notify-url", f"http://127.0.0.1:{free_port()}/nobody-listens", db=db)
    assert r.returncode == 0, r.stderr


def test_two_databases_never_send_the_same_idempotency_key(tmp_path: Path) -> None:
    """Issue 15 item 10: the key was `jobtui-{n}`, n counted per database: two databases sent `jobtui-1` alike."""
    server = NotifyServer()
    keys: list[str] = []
    try:
        for name in ("a.db", "b.db"):
            db = tmp_path / name
            job = submit(db, "--notify-url", server.url, "--at", "+1h")
            assert jobtui("cancel", str(job), *APP, db=db).returncode == 0
            runner = spawn_runner(db, *APP, "--quiet")
            try:
                settled(server, len(keys) + 1, db)
            finally:
                stop_runner(runner)
            keys.append(server.ok()[-1].headers["Idempotency-Key"])
            assert server.ok()[-1].body["notification_id"] == 1
    finally:
        server.close()
    assert keys[0] != keys[1], keys
    assert all(k.startswith("jobtui-") and k.endswith("-1") and len(k) > len("jobtui--1") + 8 for k in keys), keys
