"""Issue 14: a property test of everything a command can print, against the output reader and the store,
on every backend (SQLite, and PostgreSQL with CI=true).

Hypothesis builds what a command prints: marker lines with any JSON (huge numbers, NaN, nesting, NULs,
lone surrogates as escapes), progress markers with any numbers and text, raw bytes (NUL, invalid
UTF-8, terminal escapes, `\\r`), and now and then a line over 1 MiB. A real command (`cat`) prints it
as a job beside a neighbour that checkpoints; one store per backend serves every example. Promised:
no exception escapes (nothing logged at ERROR), no write fails for good, both jobs complete, each
command ran once, and what was stored reads back. A second property feeds any text and number straight
to the store's queued writes.

JOBTUI_HYPOTHESIS_EXAMPLES sets the number of examples (default 25 per backend, a few seconds).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.kinds import StopKind
from jobtui.model import JobStatus
from jobtui.storable import MAX_COUNT, text
from jobtui.store import JobStore
from tests.conftest import run_idle

from .conftest import Backend, new_job

pytestmark = [
    pytest.mark.slow,
    # Reporting a failure, hypothesis imports libcst, which warns on import (turned into an error here).
    pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"),
]

EXAMPLES = int(os.environ.get("JOBTUI_HYPOTHESIS_EXAMPLES", "25"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])

# ------------------------------------------------------------------------------------------ strategies
numbers = st.one_of(st.integers(), st.integers(-(2**200), 2**200), st.just(99999999999999999999),
                    st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def deep(n: int) -> str:
    return "[" * n + "]" * n


checkpoint = st.one_of(
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.integers(1, 100_000).map(deep),
    st.sampled_from(['"\\u0000"', '"\\ud800"', '{"\\u0000": "\\udfff"}', "1" + "0" * 5000, "NaN", "-Infinity", "null",
                     "{", "", '"' + "x" * 200_000 + '"']),
).map(lambda body: b"::jobtui checkpoint " + body.encode("utf-8", "surrogatepass"))
progress = st.tuples(st.one_of(st.integers().map(str), st.text(max_size=8)), st.one_of(st.integers().map(str),
                                                                                      st.text(max_size=8)),
                     st.text(max_size=30)).map(
    lambda t: f"::jobtui progress {t[0]}/{t[1]} {t[2]}".encode("utf-8", "surrogatepass"))
raw = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"a\x00b", b"\xff\xfe\xfd", b"\x1b]52;c;cm0gLXJmIH4=\x07", b"\x1b[31mred\x1b[0m", b"50%|###  | 5/10",
                     b"\r", b"::jobtui", b"::jobtui ", b"::jobtui unknown x", b"::jobtui progress",
                     b"::jobtui checkpoint", "\u2028\u0085".encode()]),
    st.text(max_size=50).map(lambda s: s.encode("utf-8", "surrogatepass")),
)
huge = st.sampled_from([b"z" * (3 << 19), b"::jobtui checkpoint " + b"[" * (3 << 19), b"\x00" * (1 << 20) + b"\xff"])
"""A line over 1 MiB: logged in pieces, or refused whole for a marker."""
lines = st.tuples(st.lists(st.one_of(checkpoint, progress, raw, raw), min_size=1, max_size=12),
                  st.one_of(st.none(), st.none(), st.none(), huge), st.integers(0, 12)).map(
    lambda t: t[0] if t[1] is None else [*t[0][:t[2]], t[1], *t[0][t[2]:]])
endings = st.sampled_from([b"\n", b"\r\n", b"\r"])


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """One folder for every example of a test (hypothesis runs them all in one test; each file has its own name)."""
    return tmp_path


# -------------------------------------------------------------------------------------- the properties
@pytest.mark.timeout(600)
@SETTINGS
@given(printed=lines, eol=endings, last_eol=st.booleans())
async def test_whatever_a_command_prints_its_job_and_its_neighbour_complete(
        store: JobStore, scratch: Path, caplog: pytest.LogCaptureFixture, printed: list[bytes], eol: bytes,
        last_eol: bool) -> None:
    client = Client(store, default_registry())
    out = scratch / f"out{len(list(scratch.iterdir()))}"
    out.write_bytes(eol.join(printed) + (eol if last_eol else b""))
    tally = scratch / f"{out.name}.runs"
    hostile = await client.submit("command", {"stages": [{"name": "print", "run": ["sh", "-c", f'echo x >> {tally}; cat "$0"', str(out)]}]})
    neighbour = await client.submit("command", {"stages": [{"name": "steps", "run": (
        "i=${JOBTUI_STATE:-0}; while [ $i -lt 5 ]; do i=$((i+1)); echo \"::jobtui checkpoint $i\"; echo step $i; done")}]})
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="jobtui"):
        await run_idle(client, timeout=20)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    for job in (hostile, neighbour):
        j = await client.job(job)
        assert j.status is JobStatus.COMPLETED, (j.status, j.error_message)
        assert 0 <= j.progress_done <= MAX_COUNT and 0 <= j.progress_total <= MAX_COUNT
    assert tally.read_text() == "x\n", "the command ran once"
    logged = await client.logs(hostile, limit=100_000)
    assert all("\x00" not in ln.message for ln in logged)
    assert [ln.message for ln in await client.logs(neighbour) if ln.level == "stdout"] == [f"step {i}" for i in range(1, 6)]


@SETTINGS
@given(message=st.text(), level=st.sampled_from(["stdout", "stderr", "info"]), done=st.integers(), total=st.integers(),
       state=json_values, key=st.text(min_size=1, max_size=30))
async def test_whatever_text_and_numbers_the_store_is_given_it_commits(
        store: JobStore, message: str, level: str, done: int, total: int, state: object, key: str) -> None:
    jobs = await store.add_jobs([new_job(stages=("a",))])
    job = jobs[0]
    store.log(job, level, message)
    store.progress(job, done, total, message, 0, 0, 0)
    store.stage_state(job, 0, state)
    store.item_finished(job, 0, key, False, {"m": message}, message, 1)
    await store.commit_point()
    logged = await store.logs(job)
    assert [ln.message for ln in logged] == [text(message)]
    row = await store.get_job(job)
    assert row.progress_message == text(message)
    assert (row.progress_done, row.progress_total) == (min(max(done, 0), MAX_COUNT), min(max(total, 0), MAX_COUNT))


async def test_a_refused_write_loses_only_its_own_jobs_writes_in_a_shared_commit(backend: Backend, store: JobStore) -> None:
    """Issue 14, item 1: one job's write that the database refuses for good dropped the whole group commit."""
    if backend.name == "sqlite":
        con = sqlite3.connect(backend.target)
        con.execute("CREATE TRIGGER refuse BEFORE INSERT ON logs WHEN NEW.message = 'poison'"
                    " BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END")
        con.commit()
        con.close()
    else:
        backend.psql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                     " IF NEW.message = 'poison' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF;"
                     " RETURN NEW; END $$; CREATE TRIGGER refuse BEFORE INSERT ON logs FOR EACH ROW EXECUTE FUNCTION refuse()")
    told: list[tuple[set[int], StopKind, str]] = []
    store.on_dropped = lambda jobs, why, error: told.append((jobs, why, error))
    a, b, c = await store.add_jobs([new_job(stages=("s",)) for _ in range(3)])
    for job in (a, b, c):
        store.log(job, "info", "before")
    store.log(b, "info", "poison")
    for job in (a, b, c):
        store.log(job, "info", "after")
        store.progress(job, 1, 2, "half", 0, 0, 0)
    await store.commit_point()  # the others committed: their waiters are not failed
    store.on_dropped = None
    assert [(jobs, why) for jobs, why, _e in told] == [({b}, StopKind.STORE)]
    assert "refused by the test trigger" in told[0][2]
    for job in (a, c):
        assert [ln.message for ln in await store.logs(job)] == ["before", "after"]
        assert (await store.get_job(job)).progress_message == "half"
    assert await store.logs(b) == [], "the refused job's writes of that commit were dropped, not half-written"
