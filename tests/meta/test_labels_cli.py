"""Issue 21 item 2: labels through the real CLI: every way of queueing a job, `ls --label`, `show`, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli_show, cli_submit, dump, jobtui

pytestmark = pytest.mark.slow


def _ids(db: Path, *args: str) -> list[int]:
    r = jobtui("ls", "--json", *args, db=db)
    assert r.returncode == 0, r.stderr
    return [j["job_id"] for j in json.loads(r.stdout)]


def test_every_way_of_queueing_takes_labels(tmp_path: Path) -> None:
    """submit (and its --from lines), add, add --pipeline, foreach, schedule add: each job carries its labels."""
    db = tmp_path / "jobs.db"
    a = cli_submit(db, "demo", "-p", "delay=0", "--label", "project=42", "--label", "owner=ann")
    lines = tmp_path / "jobs.jsonl"
    lines.write_text('{"delay": 0, "_labels": {"part": "1"}}\n{"delay": 0}\n')
    r = jobtui("submit", "demo", "--from", str(lines), "--label", "project=42", db=db)
    assert r.returncode == 0, r.stderr
    b, c = map(int, r.stdout.split())
    r = jobtui("add", "--label", "project=7", "--", "true", db=db)
    assert r.returncode == 0, r.stderr
    d = int(r.stdout)
    pipe = tmp_path / "p.toml"
    pipe.write_text('name = "p"\n[[stage]]\nname = "s"\nrun = ["true"]\n')
    r = jobtui("add", "--pipeline", str(pipe), "--label", "project=7", db=db)
    assert r.returncode == 0, r.stderr
    e = int(r.stdout)
    r = jobtui("foreach", "--args", "x", "--label", "project=42", "--", "echo", "{}", db=db)
    assert r.returncode == 0, r.stderr
    f = int(r.stdout)
    r = jobtui("schedule", "add", "nightly", "--every", "1h", "demo", "--label", "project=42", db=db)
    assert r.returncode == 0, r.stderr
    r = jobtui("schedule", "show", "nightly", "--json", db=db)
    assert '"labels": {' in r.stdout and '"project": "42"' in r.stdout, r.stdout

    assert cli_show(db, a)["labels"] == {"owner": "ann", "project": "42"}
    assert cli_show(db, b)["labels"] == {"part": "1", "project": "42"}
    assert cli_show(db, c)["labels"] == {"project": "42"}
    assert _ids(db, "--label", "project=42") == [a, b, c, f]
    assert _ids(db, "--label", "project=7") == [d, e]
    assert _ids(db, "--label", "project") == [a, b, c, d, e, f]
    assert _ids(db, "--label", "project=42", "--label", "owner=ann") == [a]
    r = jobtui("cancel", str(b), db=db)
    assert r.returncode == 0, r.stderr
    assert _ids(db, "--label", "project=42", "--active") == [a, c, f]
    r = jobtui("ls", "--label", "project=42", "--active", db=db)
    assert r.returncode == 0 and f"\n{b} " not in r.stdout and f"\n{a} " in r.stdout, r.stdout
    r = jobtui("show", str(a), db=db)
    assert "  labels     owner=ann project=42" in r.stdout, r.stdout
    full = json.loads(jobtui("ls", "--json", db=db).stdout)
    assert full[0]["labels"] == {"owner": "ann", "project": "42"} and full[-1]["labels"] == {"project": "42"}


def test_bad_labels_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    """Hostile labels: one line, exit 2, the database unchanged."""
    db = tmp_path / "jobs.db"
    cli_submit(db, "demo", "-p", "delay=0")
    before = dump(db)
    lines = tmp_path / "bad.jsonl"
    lines.write_text('{"delay": 0, "_labels": ["a"]}\n')
    for args, said in (
        (["submit", "demo", "--label", "project"], "expected key=value"),
        (["submit", "demo", "--label", "=1"], "bad label key"),
        (["submit", "demo", "--label", "a b=1"], "bad label key"),
        (["submit", "demo", "--label", "k=a b"], "a space or a control character"),
        (["submit", "demo", "--label", "k=a\x1b[31m"], "a space or a control character"),
        (["submit", "demo", "--label", "k=" + "x" * 201], "longer than 200"),
        (["submit", "demo", "--label", "password=x"], "looks like a secret"),
        (["submit", "demo", "--label", "٣=1"], "bad label key"),
        (["submit", "demo", "--from", str(lines)], "_labels must be an object"),
        (["add", "--label", "k=", "--", "true"], "empty value"),
        (["foreach", "--args", "a", "--label", "k", "--", "echo", "{}"], "expected key=value"),
        (["schedule", "add", "s", "--every", "1h", "demo", "--label", "k=\t"], "a space or a control"),
        (["ls", "--label", "k=a b"], "a space or a control character"),
        (["ls", "--label=-x"], "bad label key"),
        (["ls", "--active", "--status", "completed"], "--active lists jobs that have not ended"),
    ):
        r = jobtui(*args, db=db)
        assert r.returncode == 2, (args, r.stderr)
        lines_out = r.stderr.strip().splitlines()
        assert len(lines_out) == 1 and said in lines_out[0], (args, r.stderr)
    assert dump(db) == before


async def test_a_schedule_fires_jobs_with_its_labels(client) -> None:  # type: ignore[no-untyped-def]
    """The job a schedule submits carries the schedule's labels."""
    from jobtui.engine.scheduler import job_of

    s = await client.add_schedule("s", "demo", {"delay": 0}, every_ms=60_000, labels=[("project", "42")])
    assert job_of(s, client.registry).labels == (("project", "42"),)
