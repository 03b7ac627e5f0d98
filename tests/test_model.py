"""The pure parts: the transition table, redaction, and the CLI's parsers."""

from __future__ import annotations

import ast
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from jobtui.cli import parse_duration_ms, parse_id, parse_time_ms
from jobtui.errors import UsageError
from jobtui.model import (
    ACTION_FROM, ACTIVE, RESUMABLE, TERMINAL, TRANSITIONS, Action, JobStatus, can_transition, redact, scrub,
    secret_values,
)

SRC = Path(__file__).parent.parent / "src" / "jobtui"


def test_every_state_has_transitions_and_terminal_states_only_requeue() -> None:
    assert set(TRANSITIONS) == set(JobStatus)
    for s in TERMINAL:
        assert TRANSITIONS[s] <= {JobStatus.QUEUED, JobStatus.BLOCKED, JobStatus.CANCELLED}
    assert all(JobStatus.QUEUED in TRANSITIONS[s] for s in RESUMABLE)


@pytest.mark.parametrize("action", list(Action))
def test_each_action_applies_only_where_its_transition_exists(action: Action) -> None:
    target = {
        Action.PAUSE: {JobStatus.PAUSED, JobStatus.PAUSING}, Action.RESUME: {JobStatus.QUEUED},
        Action.CANCEL: {JobStatus.CANCELLED, JobStatus.CANCELLING}, Action.RETRY: {JobStatus.QUEUED},
        Action.REWIND: {JobStatus.QUEUED}, Action.DELETE: None,
    }[action]
    for status in ACTION_FROM[action]:
        assert target is None or any(can_transition(status, t) for t in target), (action, status)
    if action is Action.DELETE:
        assert not ACTION_FROM[action] & ACTIVE


def test_sql_state_moves_are_in_the_table() -> None:
    """Every `status = 'x'` the store writes for a job is a move the table allows from its guard."""
    text = (SRC / "store" / "runs.py").read_text()
    names = {s.value for s in JobStatus}
    written = set(re.findall(r"UPDATE jobs SET status = '(\w+)'", text))
    assert written <= names
    for w in written:
        assert any(can_transition(JobStatus(src), JobStatus(w)) for src in names if src != w)
    for src, dst in (("running", "queued"), ("pausing", "paused"), ("cancelling", "cancelled"),
                     ("running", "running")):
        if src != dst:
            assert can_transition(JobStatus(src), JobStatus(dst)), (src, dst)


def test_redact_and_scrub() -> None:
    params = {"url": "http://x", "api_key": "abc123", "nested": {"password": "pw-long"}, "token": ""}
    assert redact(params) == {"url": "http://x", "api_key": "***", "nested": {"password": "***"}, "token": ""}
    secrets = secret_values(params)
    assert scrub("key abc123 and pw-long", secrets) == "key *** and ***"


@pytest.mark.parametrize(("text", "ms"), [("90s", 90_000), ("5m", 300_000), ("1h30m", 5_400_000), ("7d", 604_800_000),
                                          ("250ms", 250), ("1.5h", 5_400_000)])
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "5", "m", "5 parsecs", "-5m", "5m junk"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration_ms(text)


def test_times() -> None:
    now = 1_800_000_000_000
    assert parse_time_ms("now", now) == now
    assert parse_time_ms("+10m", now) == now + 600_000
    assert parse_time_ms("in 2h", now) == now + 7_200_000
    expected = int(datetime(2027, 1, 15, 10, 0, tzinfo=timezone.utc).timestamp() * 1000)
    assert parse_time_ms("2027-01-15T10:00:00+00:00", now) == expected
    assert parse_time_ms("2027-01-15T10:00:00Z", now) == expected
    local = datetime(2027, 1, 15, 10, 0).astimezone()
    assert parse_time_ms("2027-01-15T10:00", now) == int(local.timestamp() * 1000)
    with pytest.raises(UsageError):
        parse_time_ms("tomorrowish", now)


def test_ids() -> None:
    assert parse_id("42") == 42 and parse_id("#7") == 7
    for bad in ("0", "-1", "abc", "1.5", ""):
        with pytest.raises(UsageError):
            parse_id(bad)


def test_faces_never_touch_sql() -> None:
    """The TUI and the CLI go through the client facade: no aiosqlite, sqlite3 or jobtui.store imports."""
    files = [*sorted((SRC / "cli").rglob("*.py")), *sorted((SRC / "tui").rglob("*.py"))]
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            mods: list[str] = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [("." * node.level) + (node.module or "")]
            for m in mods:
                assert not re.match(r"(aiosqlite|sqlite3|jobtui\.store|\.+store)\b", m), f"{path.name} imports {m}"


def test_secret_parts_of_urls_are_scrubbed() -> None:
    from jobtui.model import scrub_urls

    text = "GET https://api.x/v1?id=3&access_token=abc.DEF-1&X-Amz-Signature=f00d and ftp://bob:hunter2@host/f"
    assert scrub_urls(text) == "GET https://api.x/v1?id=3&access_token=***&X-Amz-Signature=*** and ftp://bob:***@host/f"
    assert redact({"urls": ["https://h/a?sig=zz&n=1"]}) == {"urls": ["https://h/a?sig=***&n=1"]}
