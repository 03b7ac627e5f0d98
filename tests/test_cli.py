"""The command line as a user types it: real subprocesses on real database files."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import dump, jobtui


def ok(*args: str, db: Path, input: str | None = None) -> str:
    r = jobtui(*args, db=db, input=input)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_submit_run_ls_show_logs_export_stats(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    first = ok("submit", "demo", "-p", "delay=0", "-p", "items=3", "--priority", "2", db=db).strip()
    assert first == "1"
    ok("submit", "demo", "--params-json", '{"delay": 0, "items": 2, "api_token": "sekrit-123"}', db=db)
    ok("run", "--exit-when-idle", "--quiet", db=db)
    listing = ok("ls", db=db)
    assert listing.splitlines()[0].split() == ["ID", "TYPE", "STATUS", "STAGE", "PROGRESS", "ITEMS", "UPDATED", "NAME"]
    assert listing.count("completed") == 2
    jobs = json.loads(ok("ls", "--json", "--status", "completed", db=db))
    assert [j["job_id"] for j in jobs] == [1, 2]
    assert jobs[1]["params"]["api_token"] == "***"
    detail = json.loads(ok("show", "1", "--json", db=db))
    assert detail["status"] == "completed" and detail["total_steps"] == 8
    assert len(detail["stages"]) == 8 and detail["stages"][0]["attempts"] == 1
    assert detail["counters"] == {"items_done": 9, "items_failed": 0, "results": 9}
    assert "generating_snapshot" in ok("show", "1", db=db)
    log = ok("logs", "2", db=db)
    assert "scraping with token ***" in log and "sekrit-123" not in log
    rows = [json.loads(line) for line in ok("export", "1", db=db).splitlines()]
    assert len(rows) == 9 and rows[0]["status"] == "done" and rows[0]["stage"] == "downloading"
    out = tmp_path / "items.csv"
    ok("export", "1", "--format", "csv", "-o", str(out), db=db)
    table = list(csv.reader(io.StringIO(out.read_text())))
    assert table[0][:3] == ["stage", "key", "status"] and len(table) == 10
    assert ok("wait", "1", "2", db=db).splitlines() == ["job 1: completed", "job 2: completed"]
    stats = json.loads(ok("stats", "--json", db=db))
    assert stats["by_status"] == {"completed": 2} and stats["items_done"] == 15
    assert "demo" in ok("types", db=db)


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_control_commands_and_clean(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    ids = ok("submit", "demo", "--from", "-", db=db, input='{"delay": 0, "items": 0}\n{"delay": 0}\n\n{"items": 1}\n').split()
    assert ids == ["1", "2", "3"]
    assert "queued → paused" in ok("pause", "1", "2", db=db)
    assert "paused → queued" in ok("resume", "2", db=db)
    assert "queued → cancelled" in ok("cancel", "3", db=db)
    ok("run", "--exit-when-idle", "--quiet", db=db)
    assert "completed → queued" in ok("rewind", "2", "--to", "extracting", db=db)
    assert json.loads(ok("show", "2", "--json", db=db))["current_step"] == "extracting"
    r = jobtui("wait", "1", "3", db=db)
    assert r.returncode == 1 and r.stdout.splitlines() == ["job 1: paused", "job 3: cancelled"]
    r = jobtui("wait", "2", "--timeout", "0.3", db=db)
    assert r.returncode == 3 and "timed out" in r.stderr
    ok("delete", "1", db=db)
    assert jobtui("show", "1", db=db).returncode == 2
    assert "deleted 1 job(s): 3" in ok("clean", "--older-than", "0s", "--status", "cancelled", db=db)
    assert [j["job_id"] for j in json.loads(ok("ls", "--json", db=db))] == [2]


@pytest.mark.slow  # runs the CLI in subprocesses
def test_database_and_folder_are_private(tmp_path: Path) -> None:
    db = tmp_path / "private" / "j.db"
    ok("submit", "demo", db=db)
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.parent).st_mode) == 0o700
    wal = Path(str(db) + "-wal")
    if wal.exists():
        assert stat.S_IMODE(os.stat(wal).st_mode) == 0o600


BAD_INPUT = [
    (["submit", "nosuchtype"], "unknown job type 'nosuchtype'"),
    (["submit", "demo", "-p", "items=lots"], "param 'items': expected int"),
    (["submit", "demo", "-p", "colour=red"], "takes no param 'colour'"),
    (["submit", "demo", "-p", "justakey"], "bad param 'justakey'"),
    (["submit", "demo", "-p", "fail_kind=sometimes"], "is not one of"),
    (["submit", "demo", "-p", "delay=-1"], "below the minimum"),
    (["submit", "demo", "--params-json", "{not json"], "not valid JSON"),
    (["submit", "demo", "--params-json", "[1, 2]"], "must be a JSON object"),
    (["submit", "demo", "--from", "/no/such/file.jsonl"], "cannot read /no/such/file.jsonl"),
    (["submit", "demo", "--at", "yesterday-ish"], "bad time"),
    (["submit", "demo", "--unique-key", "k1"], "unique key 'k1' already has active job 1"),
    (["submit", "demo", "--max-retries", "-3"], "--max-retries must be 0 or more"),
    (["show", "abc"], "bad job id 'abc'"),
    (["show", "999"], "no job with id 999"),
    (["show", "-5"], "bad job id '-5'"),
    (["logs", "0"], "bad job id '0'"),
    (["pause", "1", "999"], "no job with id 999"),
    (["resume", "1"], "job 1 is queued; cannot resume"),
    (["rewind", "1", "--to", "nowhere"], "has no stage 'nowhere'"),
    (["wait", "1", "77"], "no job with id 77"),
    (["rewind", "1", "--to", "scraping"], "job 1 is queued; cannot rewind"),
    (["clean", "--older-than", "soon"], "bad duration 'soon'"),
    (["clean", "--older-than", "1d", "--status", "running"], "cannot delete running jobs"),
    (["ls", "--status", "happy"], "bad status 'happy'"),
    (["export", "1", "--format", "xml"], "invalid choice"),
    (["run", "--concurrency", "0"], "--concurrency must be at least 1"),
    (["frobnicate"], "unknown command 'frobnicate' (commands: tui, "),
    (["--app", "no_such_module_xyz", "ls"], "cannot load app module 'no_such_module_xyz'"),
]


@pytest.mark.slow  # several seconds under load (pytest --durations)
@pytest.mark.parametrize(("args", "message"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_gets_one_line_and_changes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    db = tmp_path / "j.db"
    ok("submit", "demo", "--unique-key", "k1", db=db)
    before = dump(db)
    r = jobtui(*args, db=db)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("jobtui: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in r.stderr
    assert dump(db) == before


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_from_file_with_one_bad_line_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    ok("submit", "demo", db=db)
    before = dump(db)
    r = jobtui("submit", "demo", "--from", "-", db=db, input='{"items": 1}\n{"items": "many"}\n')
    assert r.returncode == 2 and "job 2: param 'items'" in r.stderr
    assert dump(db) == before


@pytest.mark.slow  # runs the CLI in subprocesses
@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_database_file_is_refused_and_left_alone(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "broken.db"
    db.write_bytes(content)
    for args in (["ls"], ["submit", "demo"], ["run", "--exit-when-idle"]):
        r = jobtui(*args, db=db)
        assert r.returncode == 1, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
        assert "not a jobtui database or corrupt" in r.stderr
    assert db.read_bytes() == content


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_locked_database_gets_one_line(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "j.db"
    ok("submit", "demo", db=db)
    before = dump(db)
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        r = jobtui("submit", "demo", db=db, JOBTUI_BUSY_TIMEOUT_MS="200")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.returncode == 1 and "locked" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert dump(db) == before


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_newer_schema_is_refused(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "j.db"
    ok("submit", "demo", db=db)
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 99")
    con.close()
    r = jobtui("ls", db=db)
    assert r.returncode == 1 and "newer than this jobtui" in r.stderr


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_user_app_module_loads_like_builtins(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    (tmp_path / "myjobs.py").write_text(
        "from jobtui import JobType, Param\n"
        "async def hello(ctx):\n    ctx.log(f\"hello {ctx.params['name']}\")\n    return ctx.params['name']\n"
        "greet = JobType('greet', [hello], params={'name': Param(str)}, description='says hello')\n"
    )
    # Beside the PYTHONPATH the test runs with (a worktree's src/), not instead of it: else the children import
    # whichever jobtui is installed, and a database of its schema is refused by this one (`logs` below).
    env_app = {"JOBTUI_APP": "myjobs", "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    r = jobtui("types", db=db, **env_app)
    assert "greet  says hello" in r.stdout, r.stderr
    r = jobtui("submit", "greet", db=db, **env_app)
    assert r.returncode == 2 and "needs param 'name'" in r.stderr
    assert jobtui("submit", "greet", "-p", "name=ada", db=db, **env_app).returncode == 0
    assert jobtui("run", "--exit-when-idle", db=db, **env_app).returncode == 0
    assert "hello ada" in jobtui("logs", "1", db=db).stdout


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_logs_follow_prints_until_the_job_ends(tmp_path: Path) -> None:
    from tests.conftest import spawn_runner

    db = tmp_path / "j.db"
    ok("submit", "demo", "-p", "delay=0.2", "-p", "items=2", "-p", "api_token=s3cret-follow", db=db)
    runner = spawn_runner(db, "--exit-when-idle", "--quiet")
    try:
        r = jobtui("logs", "1", "--follow", db=db, timeout=60)
    finally:
        runner.communicate(timeout=60)
    assert r.returncode == 0, r.stderr
    # From the first stage's line (its token blanked) to the job's end.
    assert "scraping with token ***" in r.stdout and "s3cret" not in r.stdout
    assert r.stdout.rstrip().endswith("job completed")


def test_tui_options_parse_before_or_after_the_command() -> None:
    from jobtui.cli import build_parser

    p = build_parser()
    bare = p.parse_args(["--attach", "--readonly", "--concurrency", "8"])
    assert (bare.command, bare.attach, bare.readonly, bare.concurrency) == (None, True, True, 8)
    before = p.parse_args(["--attach", "tui"])
    assert before.attach and before.concurrency is None  # main() fills it: the flag, else the config file, else 4
    after = p.parse_args(["tui", "--theme", "light"])
    assert not after.attach and after.theme == "light"
