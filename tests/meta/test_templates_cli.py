"""Issue 21 item 4: templates through the real CLI: save (TYPE or --from-job), ls, show, rm, submit --template,
schedule add @TEMPLATE; hostile input is one line, exit 2, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli_show, cli_submit, dump, jobtui

pytestmark = pytest.mark.slow


def ok(*args: str, db: Path) -> str:
    r = jobtui(*args, db=db)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def test_templates_round_trip_through_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    assert ok("template", "save", "ocr", "demo", "-p", "delay=0.1", "-p", "api_token=sekrit-9", "--priority", "3",
              "--label", "team=ocr", "--timeout", "10m", db=db) == "template ocr: demo (jobtui submit --template ocr)\n"
    assert "ocr   demo" in ok("template", "ls", db=db)
    shown = ok("template", "show", "ocr", db=db)
    assert "priority   3" in shown and "labels     team=ocr" in shown and "sekrit" not in shown
    job_id = int(ok("submit", "--template", "ocr", "-p", "items=2", "--label", "project=42", db=db))
    j = cli_show(db, job_id)
    assert (j["type"], j["params"]["delay"], j["params"]["items"], j["priority"], j["timeout_s"]) == (
        "demo", 0.1, 2, 3, 600.0)
    assert j["labels"] == {"project": "42", "team": "ocr"}
    ok("template", "save", "copy", "--from-job", str(job_id), "-p", "seed=4", db=db)
    copy = json.loads(ok("template", "show", "copy", "--json", db=db))
    assert copy["params"]["seed"] == 4 and copy["params"]["api_token"] == "***"
    assert copy["options"]["labels"] == {"project": "42", "team": "ocr"}
    ok("schedule", "add", "nightly", "--every", "1h", "@copy", "-p", "items=1", db=db)
    assert json.loads(ok("schedule", "show", "nightly", "--json", db=db))["template"] == "copy"
    assert [t["name"] for t in json.loads(ok("template", "ls", "--json", db=db))] == ["copy", "ocr"]
    assert ok("template", "rm", "ocr", db=db) == "template ocr: removed\n"
    assert [t["name"] for t in json.loads(ok("template", "ls", "--json", db=db))] == ["copy"]


def test_hostile_templates_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    cli_submit(db, "demo", "-p", "delay=0")
    ok("template", "save", "t", "demo", db=db)
    before = dump(db)
    for args, said in (
        (["template", "save", "t", "demo"], "a template named 't' exists"),
        (["template", "save", "a b", "demo"], "bad template name"),
        (["template", "save", "٣", "demo"], "bad template name"),
        (["template", "save", "x", "nope"], "unknown job type"),
        (["template", "save", "x"], "needs a job TYPE or --from-job"),
        (["template", "save", "x", "demo", "--from-job", "1"], "not both"),
        (["template", "save", "x", "--from-job", "٣"], "bad job id"),
        (["template", "save", "x", "--from-job", "99"], "no job with id 99"),
        (["template", "save", "x", "demo", "-p", "delay=fast"], "expected float"),
        (["template", "save", "x", "demo", "--timeout", "0s"], "--timeout must be more than 0"),
        (["template", "save", "x", "demo", "--label", "k=a b"], "a space"),
        (["template", "save", "x", "demo", "--queue", "nope"], "no queue"),
        (["template", "save", "x", "demo", "--params-json", "[1]"], "must be a JSON object"),
        (["template", "show", "nope"], "no template named 'nope'"),
        (["template", "rm", "nope"], "no template named 'nope'"),
        (["submit", "--template", "nope"], "no template named 'nope'"),
        (["submit", "demo", "--template", "t"], "not both"),
        (["submit"], "needs a job TYPE"),
        (["submit", "--template", "t", "-p", "delay=fast"], "expected float"),
        (["schedule", "add", "s", "--every", "1h", "@nope"], "no template named 'nope'"),
    ):
        r = jobtui(*args, db=db)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], (args, r.stderr)
    assert dump(db) == before
