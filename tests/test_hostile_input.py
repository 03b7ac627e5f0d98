"""Issue 6, items 4 and 5: hostile input and foreign files, as a person types them (real subprocesses).

Each case: one line on stderr, the promised exit status (2 for bad input, 1 for an unusable
database), never a traceback, and the database (or the foreign file) unchanged byte for byte.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import dump, jobtui

pytestmark = pytest.mark.slow

HUGE = "9" * 25  # past 2**63
DEEP_LIST = "[" * 50_000 + "]" * 50_000
DEEP_OBJECT = '{"a":' * 200 + "1" + "}" * 200

BAD: list[tuple[list[str], str]] = [
    (["show", HUGE], "bad job id"),
    (["show", "9223372036854775808"], "bad job id"),
    (["show", "²"], "bad job id"),
    (["show", "٣"], "bad job id"),
    (["logs", "٣"], "bad job id"),
    (["pause", "1", "²"], "bad job id"),
    (["wait", "٣", "--timeout", "0"], "bad job id"),
    (["delete", HUGE], "bad job id"),
    (["export", "-" + HUGE], ""),
    (["submit", "demo", "--after", "٣"], "bad job id"),
    (["submit", "demo", "--after", HUGE], "bad job id"),
    (["ls", "--limit", HUGE], "--limit must be at most"),
    (["ls", "--limit", "٣"], "bad --limit"),
    (["logs", "1", "-n", HUGE], "--lines must be at most"),
    (["logs", "1", "-n", "-1"], "--lines must be 0 or more"),
    (["submit", "demo", "--max-retries", HUGE], "--max-retries must be at most"),
    (["submit", "demo", "--priority", HUGE], "--priority must be at most"),
    (["submit", "demo", "--priority", "٣"], "bad --priority"),
    (["run", "--concurrency", HUGE], "--concurrency must be at most"),
    (["tui", "--concurrency", HUGE], "--concurrency must be at most"),
    (["submit", "demo", "--at", f"+{HUGE}d"], "bad duration"),
    (["submit", "demo", "--at", "+99999999999d"], "too long"),
    (["submit", "demo", "--at", "0001-01-01"], "out of range"),
    (["submit", "demo", "--at", "+٣m"], "bad duration"),
    (["clean", "--older-than", f"{HUGE}d"], "bad duration"),
    (["clean", "--older-than", "99999999999d"], "too long"),
    (["submit", "demo", "--params-json", DEEP_LIST], "--params-json"),
    (["submit", "demo", "--params-json", DEEP_OBJECT], "nested too deeply"),
    (["submit", "demo", "--params-json", '{"delay": NaN}'], "NaN is not a JSON number"),
    (["schedule", "add", "nan", "--every", "1h", "demo", "--params-json", '{"delay": NaN}'], "NaN is not a JSON number"),
    (["edit", "1", "--params-json", '{"delay": Infinity}'], "Infinity is not a JSON number"),
    (["run", "--lease-ttl", "nan"], "must be more than 0"),
    (["run", "--lease-ttl", "0"], "must be more than 0"),
    (["run", "--grace", "nan"], "--grace must be a finite number"),
    (["run", "--grace", "inf"], "--grace must be a finite number"),
    (["wait", "1", "--timeout", "nan"], "--timeout must be a finite number"),
    (["wait", "1", "--timeout", "inf"], "--timeout must be a finite number"),
    (["wait", "1", "--timeout", "-1"], "--timeout must be 0 or more"),
    (["--db", "", "ls"], "database path is empty"),
    (["--db", "", "submit", "demo"], "database path is empty"),
    # issue 14 item 12 and issue 15 item 18: numbers are ASCII and bounded everywhere
    (["add", "--retries", "99999999999999999999", "--", "echo"], "--retries must be at most 1000"),
    (["add", "--retries", "٣", "--", "echo"], "bad --retries '٣'"),
    (["add", "--priority", "٣", "--", "echo"], "bad --priority '٣'"),
    (["add", "--max-retries", "99999999999999999999", "--", "echo"], "--max-retries must be at most"),
    (["add", "--output-limit", "٣M", "--", "echo"], "bad size '٣M'"),
    (["add", "--output-limit", "9" * 5000 + "G", "--", "echo"], "bad size"),
    (["add", "--output-limit", "99999999G", "--", "echo"], "too large"),
    (["foreach", "--args", "a", "--workers", "99999999999999999999", "--", "echo", "{}"], "--workers must be at most"),
    (["foreach", "--args", "a", "--workers", "٣", "--", "echo", "{}"], "bad --workers '٣'"),
    (["foreach", "--lines", "/dev/zero", "--", "echo", "{}"], "--lines /dev/zero: larger than 16 MiB"),
    (["rewind", "1", "--to", "²"], "has no stage '²'"),
    (["rewind", "1", "--to", "9" * 5000], "has no stage"),
    (["export", "1", "--format", "csv", "-o", "/dev/full"], "cannot write /dev/full: No space left on device"),
    (["submit", "demo", "--notify-url", "http://127.0.0.1:9/x\r\nX-Evil: 1"], "a space or a control character"),
    (["schedule", "add", "s", "--cron", "* * * * * *", "demo"], "five fields"),
    (["schedule", "add", "s", "--cron", "* * * * * *", "--", "echo"], "five fields"),
    (["schedule", "add", "s", "--every", "1h", "--priority", "٣", "demo"], "bad --priority '٣'"),
    (["schedule", "add", "s", "--every", "1h", "--max-retries", HUGE, "demo"], "--max-retries must be at most"),
    (["run", "--lease-ttl", "٣"], "not a number of seconds: '٣'"),  # found by the property test: it ran a runner
    # issue 21 item 1: queues
    (["queue", "add", "a b"], "bad queue name 'a b'"),
    (["queue", "add", "q" * 65], "bad queue name"),
    (["queue", "add", "q", "--concurrency", "0"], "--concurrency must be a whole number from 1"),
    (["queue", "add", "q", "--concurrency", HUGE], "--concurrency must be a whole number from 1"),
    (["queue", "add", "q", "--per-runner", "٣"], "--per-runner must be a whole number from 1"),
    (["queue", "add", "q", "--rate", "0/1s"], "bad rate '0/1s'"),
    (["queue", "add", "q", "--rate", "5"], "bad rate '5'"),
    (["queue", "add", "q", "--rate", "5/٣s"], "bad duration"),
    (["queue", "add", "q", "--rate", "5/99999999999d"], "too long"),
    (["queue", "add", "q", "--slots"], "--slots numbers the jobs within --concurrency or --per-runner"),
    (["queue", "edit", "nope", "--concurrency", "2"], "no queue 'nope'"),
    (["queue", "pause", "nope", "--now"], "no queue 'nope'"),
    (["queue", "rm", "nope"], "no queue 'nope'"),
    (["submit", "demo", "--queue", "nope"], "no queue 'nope'"),
    (["submit", "demo", "--queue", "a/b"], "bad queue name 'a/b'"),
    (["add", "--queue", "nope", "--", "echo"], "no queue 'nope'"),
    (["foreach", "--args", "a", "--queue", "", "--", "echo", "{}"], "bad queue name ''"),
    (["schedule", "add", "s", "--every", "1h", "--queue", "nope", "demo"], "no queue 'nope'"),
    (["ls", "--queue", "a b"], "bad queue name"),
    # issue 21 item 5: bulk actions by filter
    (["pause", "--where", ""], "--where needs a filter"),
    (["cancel", "--where", "   "], "--where needs a filter"),
    (["retry", "--where", "status:bogus"], "bad --where filter: no status 'bogus'"),
    (["delete", "--where", "label:=x"], "bad --where filter: no label key"),
    (["resume", "--where", "queue:"], "bad --where filter: no queue name"),
    (["pause", "1", "--where", "status:queued"], "give job ids or --where FILTER, not both"),
    (["pause"], "give job ids, or --where FILTER"),
    (["cancel", "1", "--dry-run"], "--dry-run and --yes apply to --where FILTER"),
    (["delete", "1", "--yes"], "--dry-run and --yes apply to --where FILTER"),
    (["fail", "--where", "status:queued", "--reason", " "], "--reason must say why"),
    (["fail", "--where", "status:bogus", "--reason", "x"], "bad --where filter"),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    r = jobtui("submit", "demo", "-p", "delay=0", db=path)
    assert r.returncode == 0, r.stderr
    return path


def _one_line(stderr: str, message: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr[:2000]
    assert lines[0].startswith("jobtui: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_hostile_arguments_get_one_line_and_exit_2(db: Path, args: list[str], message: str) -> None:
    before = dump(db)
    r = jobtui(*args, db=db, timeout=30)
    assert r.returncode == 2, (r.stdout, r.stderr[:2000])
    _one_line(r.stderr, message)
    assert dump(db) == before


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"delay": 0, "_unique_key": {"a": 1}}', "_unique_key must be a string"),
        ('{"delay": 0, "_unique_key": 12}', "_unique_key must be a string"),
        ('{"delay": 0, "_unique_key": ["x"]}', "_unique_key must be a string"),
        ('{"a":' * 200 + "1" + "}" * 200, "nested too deeply"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ('{"delay": Infinity}', "Infinity is not a JSON number"),
    ],
)
def test_hostile_from_files(db: Path, tmp_path: Path, line: str, message: str) -> None:
    before = dump(db)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"delay": 0}\n' + line + "\n")
    r = jobtui("submit", "demo", "--from", str(jobs), db=db)
    assert r.returncode == 2, r.stderr[:2000]
    _one_line(r.stderr, message)
    assert dump(db) == before


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE jobs SET status = 'exploded'", "unknown status 'exploded'"),
        ("UPDATE jobs SET params = '{not json'", "unreadable"),
        ("UPDATE jobs SET params = '[1, 2]'", "not a JSON object"),
        ("UPDATE stages SET status = 'weird' WHERE stage_index = 0", "unknown status 'weird'"),
    ],
)
def test_a_corrupt_job_row_gets_one_line_and_exit_1(db: Path, sql: str, message: str) -> None:
    con = sqlite3.connect(db)
    con.execute(sql)
    con.commit()
    con.close()
    before = dump(db)
    commands = [["show", "1"], ["show", "1", "--json"]]
    if "UPDATE jobs" in sql:  # the others read no stage rows
        commands += [["pause", "1"], ["wait", "1", "--timeout", "0"], ["export", "1"], ["logs", "1"], ["ls", "--json"],
                     ["ls"]]
    for args in commands:
        r = jobtui(*args, db=db)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        _one_line(r.stderr, message)
    assert dump(db) == before


# ----------------------------------------------------------------------------- item 5: foreign files
def _foreign(path: Path, user_version: int = 0) -> bytes:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes (body) VALUES ('not yours')")
    con.execute(f"PRAGMA user_version = {user_version}")
    con.commit()
    con.close()
    return path.read_bytes()


@pytest.mark.parametrize("user_version", [0, 1])
@pytest.mark.parametrize("args", [["ls"], ["submit", "demo"], ["stats"], ["run", "--exit-when-idle"], ["show", "1"]])
def test_another_programs_sqlite_file_is_never_changed(tmp_path: Path, args: list[str], user_version: int) -> None:
    """`--db other.sqlite ls` added 9 tables and switched the file to WAL; user_version 1 was half-migrated."""
    other = tmp_path / "other.sqlite"
    content = _foreign(other, user_version)
    r = jobtui(*args, db=other)
    assert r.returncode == 1, (r.stdout, r.stderr)
    _one_line(r.stderr, f"{other}: not a jobtui database")
    assert other.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]  # no -wal, no -shm, no workspaces


@pytest.mark.parametrize(
    "args",
    [["ls"], ["ls", "--json"], ["show", "1"], ["logs", "1"], ["export", "1"], ["stats"], ["wait", "1"],
     ["pause", "1"], ["clean", "--older-than", "1d"], ["tui", "--readonly"], ["--readonly"]],
)
def test_reading_commands_never_create_a_database(tmp_path: Path, args: list[str]) -> None:
    """`--db /typo/dir/x.db ls` made the folders and an empty database, and said "no jobs"."""
    db = tmp_path / "typo" / "dir" / "x.db"
    r = jobtui("--db", str(db), *args, db=tmp_path / "unused.db")
    assert r.returncode == 1, (r.stdout, r.stderr)
    _one_line(r.stderr, f"no database at {db}")
    assert list(tmp_path.iterdir()) == []


def test_types_needs_no_database(tmp_path: Path) -> None:
    r = jobtui("types", db=tmp_path / "none" / "x.db")
    assert r.returncode == 0 and "demo" in r.stdout
    assert list(tmp_path.iterdir()) == []


def test_submit_still_creates_a_database_and_marks_it(tmp_path: Path) -> None:
    db = tmp_path / "new" / "x.db"
    r = jobtui("submit", "demo", db=db)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x6A6F6274
    con.close()


def test_export_onto_the_database_or_its_journal_is_refused(db: Path, tmp_path: Path) -> None:
    """`export 1 -o jobs.db` wiped the database to 0 bytes (the next command made an empty one)."""
    before = dump(db)
    size = db.stat().st_size
    link = tmp_path / "link.db"
    link.symlink_to(db)
    os.chdir(tmp_path)
    for target in (str(db), "j.db", "./j.db", f"{db}-wal", f"{db}-shm", str(link), "../" + tmp_path.name + "/j.db"):
        r = jobtui("export", "1", "-o", target, db=db)
        assert r.returncode == 2, (target, r.stderr)
        _one_line(r.stderr, "it is the job database")
    assert db.stat().st_size == size and dump(db) == before
    ok = jobtui("export", "1", "-o", str(tmp_path / "out.jsonl"), db=db)
    assert ok.returncode == 0, ok.stderr


def test_an_unmarked_old_database_still_works_and_gets_marked(tmp_path: Path) -> None:
    from jobtui.store.schema import MIGRATIONS

    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    for script in MIGRATIONS[:2]:
        con.executescript(script)
    con.execute("PRAGMA user_version = 2")
    con.execute("INSERT INTO jobs (type, status, params, stage_names, created_at_ms, updated_at_ms)"
                " VALUES ('demo', 'completed', '{}', '[\"a\"]', 1, 1)")
    con.commit()
    con.close()
    # A reading command opens it read-only and does not upgrade it (issue 15, item 20): one line; a writing one does.
    r = jobtui("ls", "--json", db=db)
    assert r.returncode == 1 and "needs an upgrade" in r.stderr, r.stderr
    assert jobtui("delete", "1", db=db).returncode == 0
    r = jobtui("ls", "--json", db=db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x6A6F6274
    con.close()


def test_a_repeated_id_is_one_request(db: Path) -> None:
    """Found by tests/test_cli_properties.py: `pause 1 1` paused job 1, then failed on it with exit 2."""
    r = jobtui("pause", "1", "#1", "1", db=db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["job 1: queued → paused"]


# ----------------------------------------------------------------------------- issue 14 item 12: hostile files
STAGE = 'name = "p"\n[[stage]]\nname = "s"\n'


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        (STAGE + 'run = "echo"\ntimeout = nan\n', "timeout must be a finite number, got nan"),
        (STAGE + 'run = "echo"\ntimeout = inf\n', "timeout must be a finite number, got inf"),
        (STAGE + 'run = "echo"\nretry_base_s = inf\n', "retry_base_s must be a finite number"),
        (STAGE + 'run = "echo"\nkill_grace_s = nan\n', "kill_grace_s must be a finite number"),
        (STAGE + 'run = "echo"\nretries = 1e10\n', "retries must be at most 1000"),
        (STAGE + 'run = "echo"\nretries = 9223372036854775807\n', "retries must be at most 1000"),
        (STAGE + 'run = "echo"\ntimeout = 1e300\n', "timeout must be at most"),
        (STAGE + 'run = "ec\\u0000ho"\n', "run contains a NUL character"),
        (STAGE + 'run = ["echo", "a\\u0000"]\n', "run contains a NUL character"),
        (STAGE + 'run = "echo"\nenv = { A = "b\\u0000c" }\n', "env contains a NUL character"),
    ],
    ids=["deep", "timeout-nan", "timeout-inf", "base-inf", "grace-nan", "retries-1e10", "retries-huge", "timeout-1e300",
         "nul-shell", "nul-argv", "nul-env"],
)
def test_hostile_pipeline_files(db: Path, tmp_path: Path, toml: str, message: str) -> None:
    """A 5,000-deep file was a RecursionError traceback; nan, inf, 1e10 and NUL were accepted (issue 14 item 12)."""
    before = dump(db)
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(toml)
    r = jobtui("add", "--pipeline", str(pipeline), db=db)
    assert r.returncode == 2, (r.stdout, r.stderr[:2000])
    _one_line(r.stderr, message)
    assert dump(db) == before


def test_foreach_lines_with_a_nul_is_refused(db: Path, tmp_path: Path) -> None:
    before = dump(db)
    lines = tmp_path / "l.txt"
    lines.write_bytes(b"a\nb\x00c\n")
    r = jobtui("foreach", "--lines", str(lines), "--", "echo", "{}", db=db)
    assert r.returncode == 2, r.stderr
    _one_line(r.stderr, "an item contains a NUL character")
    assert dump(db) == before


def test_foreach_lines_split_at_newlines_only(db: Path, tmp_path: Path) -> None:
    """`--lines` split at form feed, U+0085 and U+2028 too (str.splitlines): an item is a line as `wc -l` counts."""
    lines = tmp_path / "l.txt"
    lines.write_bytes("a\x0cb\x85c\u2028d\r\ne\n\n".encode())
    r = jobtui("foreach", "--lines", str(lines), "--", "echo", "{}", db=db)
    assert r.returncode == 0, r.stderr
    job = json.loads(jobtui("show", r.stdout.strip(), "--json", db=db).stdout)
    assert job["params"]["stages"][0]["items"] == ["a\x0cb\x85c\u2028d", "e"]


def test_rewind_to_a_non_ascii_digit_is_no_stage_number(db: Path) -> None:
    """`rewind --to ١` rewound a finished job to stage 1 (int() reads Arabic-Indic digits); README: ASCII only."""
    con = sqlite3.connect(db)
    con.execute("UPDATE jobs SET status = 'completed'")
    con.commit()
    con.close()
    before = dump(db)
    for stage in ("١", "²", "١٢"):
        r = jobtui("rewind", "1", "--to", stage, db=db)
        assert r.returncode == 2, (stage, r.stdout, r.stderr)
        _one_line(r.stderr, f"has no stage {stage!r}")
    assert dump(db) == before
    ok = jobtui("rewind", "1", "--to", "1", db=db)
    assert ok.returncode == 0, ok.stderr
