"""The pure parts: the transition table, redaction, and the CLI's parsers."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobtui.cli import parse_duration_ms, parse_id, parse_time_ms
from jobtui.errors import UsageError
from jobtui.model import (
    ACTION_FROM,
    ACTIVE,
    RESUMABLE,
    TERMINAL,
    TRANSITIONS,
    Action,
    JobStatus,
    can_transition,
    redact,
    scrub,
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
        Action.REWIND: {JobStatus.QUEUED}, Action.DELETE: None, Action.FAIL: {JobStatus.FAILED},
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
    expected = int(datetime(2027, 1, 15, 10, 0, tzinfo=UTC).timestamp() * 1000)
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


def test_state_lists_are_derived_from_the_transition_table() -> None:
    """Issue 8: which states are active, terminal, resumable is derived from MOVES, not written by hand."""
    from jobtui.model import AT_REST, DEPENDABLE, MOVES, PENDING, RUNNABLE, Event

    S = JobStatus
    assert {S.RUNNING, S.PAUSING, S.CANCELLING} == ACTIVE
    assert {S.COMPLETED, S.CANCELLED, S.FAILED} == TERMINAL
    assert {S.PAUSED, S.FAILED, S.CANCELLED} == RESUMABLE
    assert {S.QUEUED, S.WAITING_RETRY} == RUNNABLE
    assert TERMINAL | {S.PAUSED} == AT_REST
    assert PENDING == RUNNABLE | ACTIVE
    assert S.BLOCKED not in PENDING | AT_REST | ACTIVE  # it waits on other jobs
    assert {S.QUEUED, S.BLOCKED, S.PAUSED} == DEPENDABLE
    # the derivations follow the table: every exit from a state at rest is a person's request
    for src, _dst, by in MOVES:
        if src in AT_REST:
            assert isinstance(by, Action)
        if isinstance(by, Event) and by not in (Event.CLAIM, Event.DEPEND, Event.UNBLOCK):
            assert src in ACTIVE


def test_no_status_list_is_written_by_hand_outside_the_model() -> None:
    """Store SQL and the CLI build their status lists from model.py (the shipped v1 migration excepted)."""
    names = "|".join(s.value for s in JobStatus)
    sql_list = re.compile(rf"'({names})',\s*'({names})'")
    py_set = re.compile(r"JobStatus\.[A-Z_]+\s*,\s*JobStatus\.[A-Z_]+")
    files = [*sorted(SRC.glob("store/*.py")), *sorted(SRC.glob("cli/*.py")), *sorted(SRC.glob("client/*.py"))]
    for path in files:
        text = path.read_text()
        if path.name in ("schema.py", "schema_pg.py"):  # each dialect's v1 migration
            text = text.replace("status NOT IN ('completed', 'cancelled', 'failed');", "")  # v1, shipped
        assert not sql_list.search(text), f"{path.name}: {sql_list.search(text)}"
        assert not py_set.search(text), f"{path.name}: {py_set.search(text)}"


async def test_the_unique_key_index_uses_the_derived_terminal_list(tmp_path: Path) -> None:
    import aiosqlite

    from jobtui.store import Store
    from jobtui.store.schema import sql_in

    store = await Store.open(tmp_path / "t.db")
    await store.close()
    async with aiosqlite.connect(tmp_path / "t.db") as db:
        rows = list(await db.execute_fetchall("SELECT sql FROM sqlite_master WHERE name = 'jobs_unique_active'"))
    assert f"NOT IN {sql_in(TERMINAL)}" in rows[0][0]


def test_iso_quick_path_writes_what_datetime_writes() -> None:
    """iso() formats 1970-2099 without datetime (a job detail formats ~30 times per API poll, issue 22):
    the same text, to the millisecond, at the edges and in between; outside, datetime as before."""
    import random
    from datetime import UTC, datetime

    from jobtui.model.jobs import iso

    def slow(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    rng = random.Random(22)
    edges = [0, 1, 999, 1000, 1_765_000_000_123, 4_102_444_799_999, 4_102_444_800_000, -1, -1001]
    for ms in edges + [rng.randrange(0, 4_102_444_800_000) for _ in range(20_000)]:
        assert iso(ms) == slow(ms), ms
    assert iso(None) is None
