"""Issue 8: CLI frictions and codebase items (help, param messages, types, submit_many's errors, migrations)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jobtui.cli import build_parser
from jobtui.client import Client, Submission
from jobtui.engine.definition import Param
from jobtui.errors import ParamError, SubmitError, UnknownJobTypeError
from jobtui.jobs.fetch import URLList
from jobtui.store.schema import MIGRATIONS, statements
from tests.conftest import jobtui


def test_help_lists_db_and_app() -> None:
    text = build_parser().format_help()
    assert "--db PATH" in text and "--app MODULE" in text


def test_a_choice_message_has_no_stray_comma() -> None:
    with pytest.raises(ParamError) as e:
        Param(str, "", choices=("", "scraping", "saving")).coerce("fail_stage", "nosuch")
    assert "is not one of '', 'scraping', 'saving'" in str(e.value) and ", ," not in str(e.value)
    assert "one of , " not in str(e.value)


@pytest.mark.parametrize(("value", "why"), [
    ('["ftp://x"]', "'ftp://x': only http and https URLs can be fetched"),
    ("[]", "the list is empty"),
    ("nope", "not a JSON list of URLs"),
    ('["just text"]', "'just text' is not a URL"),
])
def test_a_url_list_says_why_it_is_refused(value: str, why: str) -> None:
    with pytest.raises(ParamError) as e:
        Param(URLList).coerce("urls", value)
    assert str(e.value) == f"param 'urls': expected URLList, got {value!r} ({why})"


def test_builtin_types_keep_their_short_message() -> None:
    with pytest.raises(ParamError) as e:
        Param(int).coerce("items", "lots")
    assert str(e.value) == "param 'items': expected int, got 'lots'"


@pytest.mark.slow
def test_types_prints_each_default_once(tmp_path: Path) -> None:
    r = jobtui("types", db=tmp_path / "t.db")
    assert r.returncode == 0, r.stderr
    for line in r.stdout.splitlines():
        assert line.count("(default") <= 1, line
    assert "(default: the job workspace)" in r.stdout and "(default '')" not in r.stdout


async def test_submit_many_keeps_the_original_error(client: Client) -> None:
    """`type(e)(f"job {i+1}: {e}")` broke for errors with other constructors (UnknownJobTypeError)."""
    subs = [Submission("demo", {}), Submission("nosuch", {})]
    with pytest.raises(SubmitError) as e:
        await client.submit_many(subs)
    assert e.value.index == 1 and isinstance(e.value.error, UnknownJobTypeError)
    assert e.value.__cause__ is e.value.error and str(e.value).startswith("job 2: unknown job type 'nosuch'")
    assert await client.job_ids() == set(), "nothing was stored"
    with pytest.raises(UnknownJobTypeError):  # one submission: the error itself
        await client.submit_many([Submission("nosuch", {})])


def test_migration_statements_split_only_where_statements_end() -> None:
    script = """
    CREATE TABLE t (a TEXT DEFAULT 'x;y', b TEXT);
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET b = 'one;two' WHERE rowid = new.rowid; END;
    INSERT INTO t (a) VALUES ('p;q')
    """
    parts = statements(script)
    assert len(parts) == 3
    con = sqlite3.connect(":memory:")
    for p in parts:
        con.execute(p)
    assert con.execute("SELECT a, b FROM t").fetchall() == [("p;q", "one;two")]
    for m in MIGRATIONS:
        assert all(sqlite3.complete_statement(p + ";") for p in statements(m))
