"""Issue 15, bugs 5, 6, 7, 12, 15, 19: what a newcomer met on the command line. Real CLI processes, real SQLite."""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime, timedelta
from pathlib import Path

from jobtui.cli.parse import parse_time_ms
from jobtui.tui.command_form import field_specs
from tests.conftest import jobtui, poll, spawn_runner

README = Path(__file__).parent.parent / "README.md"


def test_foreach_help_says_items_retry_any_failure_3_times(tmp_path: Path) -> None:
    """Bug 5: `foreach --help` said retries default to 'exit 75 only'; any failed item is retried 3 times."""
    text = " ".join(jobtui("foreach", "--help", db=tmp_path / "x.db").stdout.split())
    assert "exit 75" not in text and "default 3: any failure" in text
    add = " ".join(jobtui("add", "--help", db=tmp_path / "x.db").stdout.split())
    assert "only exit 75" in add, "a command stage does retry exit 75 only"
    form = {f.key: f for f in field_specs("foreach", str(tmp_path))}
    assert "exit 75" not in form["retries"].placeholder and "any failure" in form["retries"].placeholder


def test_the_readme_schedule_examples_are_accepted(tmp_path: Path) -> None:
    """Bug 6: `schedule add poll ... fetch -p url=...` failed: fetch takes `urls`, a JSON list."""
    db = tmp_path / "s.db"
    assert jobtui("submit", "demo", "-p", "delay=0", db=db).returncode == 0  # a database to add schedules to
    unattended = README.parent / "docs" / "unattended.md"  # moved out of the README (issue 19, item 1)
    block = re.search(r"### Recurring schedules.*?```sh\n(.*?)```", unattended.read_text(), re.S)
    assert block is not None
    # The examples that name a job TYPE (those running a command need the reader's folders and programs).
    lines = [ln.split("  #")[0] for ln in block.group(1).splitlines()
             if ln.startswith("jobtui schedule add ") and " -- " not in ln]
    assert any(" fetch " in ln for ln in lines)
    for line in lines:
        args = shlex.split(line)[1:]
        r = jobtui(*args, db=db)
        assert r.returncode == 0, (line, r.stderr)


def test_add_and_foreach_take_notify_targets(tmp_path: Path) -> None:
    """Bug 7: `add`/`foreach` refused --notify-url/--notify-cmd (submit takes them), pointing at `jobtui --help`."""
    db = tmp_path / "n.db"
    out = tmp_path / "told"
    cmd = f'echo "$JOBTUI_EVENT" >> {out}'
    a = jobtui("add", "--notify-cmd", cmd, "--", "sh", "-c", "exit 0", db=db)
    f = jobtui("foreach", "--notify-url", "http://127.0.0.1:9/x", "--notify-cmd", cmd, "--args", "1", "--", "true",
               db=db)
    assert a.returncode == 0 and f.returncode == 0, (a.stderr, f.stderr)
    shown = jobtui("show", f.stdout.strip(), "--json", db=db).stdout
    assert "http://127.0.0.1:9/x" in shown
    runner = spawn_runner(db, "--exit-when-idle", "--name", "newcomer")
    runner.communicate(timeout=120)
    assert poll(lambda: out.exists() and out.read_text().split() == ["completed", "completed"], timeout=30)
    bad = jobtui("add", "--notify-cmdd", "x", "--", "true", db=db)
    assert bad.returncode == 2 and "see `jobtui add --help`" in bad.stderr, bad.stderr


def test_add_at_in_the_past_warns_and_a_bare_time_is_the_next_one(tmp_path: Path) -> None:
    """Bug 12: `add --at` in the past was silent; `add --at 08:00` at 09:14 ran at once."""
    db = tmp_path / "a.db"
    r = jobtui("add", "--at", "2020-01-01T00:00", "--", "true", db=db)
    assert r.returncode == 0 and "in the past" in r.stderr, r.stderr
    f = jobtui("foreach", "--at", "2020-01-01T00:00", "--args", "1", "--", "true", db=db)
    assert f.returncode == 0 and "in the past" in f.stderr, f.stderr
    now = datetime(2026, 12, 7, 9, 14)
    now_ms = int(now.timestamp() * 1000)
    assert parse_time_ms("08:00", now_ms) == int((now.replace(hour=8, minute=0) + timedelta(days=1)).timestamp() * 1000)
    assert parse_time_ms("10:00", now_ms) == int(now.replace(hour=10, minute=0).timestamp() * 1000)


def test_a_cancelled_job_keeps_no_pause_reason(tmp_path: Path) -> None:
    """Bug 15: a paused job, then cancelled, still said 'paused by request' in show and the detail pane."""
    db = tmp_path / "c.db"
    job = jobtui("submit", "demo", db=db).stdout.strip()
    assert jobtui("pause", job, db=db).returncode == 0
    assert jobtui("cancel", job, db=db).returncode == 0
    detail = json.loads(jobtui("show", job, "--json", db=db).stdout)
    assert detail["status"] == "cancelled" and detail["pause_reason"] is None
    assert "paused by request" not in jobtui("show", job, db=db).stdout


def test_clean_older_than_0_or_now_deletes_every_finished_job(tmp_path: Path) -> None:
    """Bug 19: `clean --older-than 0` was refused as a bad duration while `run --keep 0` is accepted."""
    db = tmp_path / "k.db"
    for _ in range(2):
        jobtui("submit", "demo", db=db)
    for job in ("1", "2"):
        assert jobtui("cancel", job, db=db).returncode == 0
    r = jobtui("clean", "--older-than", "0", db=db)
    assert r.returncode == 0 and r.stdout.startswith("deleted "), r.stderr
    assert jobtui("submit", "demo", db=db).returncode == 0
    assert jobtui("cancel", "3", db=db).returncode == 0
    assert jobtui("clean", "--older-than", "now", db=db).returncode == 0
    assert jobtui("ls", "--json", db=db).stdout.strip() in ("[]", "")
