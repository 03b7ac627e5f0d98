"""Issue 6, item 6: a secret in every place a job can put one, grepped for in every output.

The job (tests/apps/secretapp.py) has secret params at the top level and nested in a list, a URL
with a password and a secret query value, a secret default, and it writes them into log lines
(also JSON-escaped and URL-encoded), a progress message, an item result, an item key, an item
error and the job's error. No output of `show`, `show --json`, `ls --json`, `logs`, `export`
(jsonl and csv), `types`, `types --json` or the TUI's detail may hold any of them.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from jobtui.client import Client
from tests.conftest import APPS, jobtui

sys.path.insert(0, str(APPS))
import secretapp

APP = ("--app", "secretapp")


def _forms(secret: str) -> set[str]:
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], quote(secret, safe=""),
            quote_plus(secret), quote(secret), html.escape(secret)}


def assert_clean(name: str, text: str) -> None:
    for secret in secretapp.SECRETS:
        for form in _forms(secret):
            assert form not in text, f"{name} shows {form!r}"
    assert not re.search(r"(?<![0-9A-Za-z_])wq(?![0-9A-Za-z_])", text), f"{name} shows the short secret"


@pytest.fixture
def failed_job(tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    r = jobtui(*APP, "submit", "secretive", "--params-json", json.dumps(secretapp.PARAMS), db=db)
    assert r.returncode == 0, r.stderr
    r = jobtui(*APP, "run", "--exit-when-idle", "--quiet", db=db)
    assert r.returncode == 0, r.stderr
    assert_clean("run's stderr", r.stderr + r.stdout)
    return db


@pytest.mark.slow
def test_no_cli_output_holds_a_secret(failed_job: Path, tmp_path: Path) -> None:
    db = failed_job
    outputs: dict[str, str] = {}
    csv_file = tmp_path / "items.csv"
    for args in (["show", "1"], ["show", "1", "--json"], ["ls", "--json"], ["ls"], ["logs", "1"], ["export", "1"],
                 ["export", "1", "--format", "csv", "-o", str(csv_file)], ["types"], ["types", "--json"],
                 ["stats", "--json"]):
        r = jobtui(*APP, *args, db=db)
        assert r.returncode == 0, (args, r.stderr)
        outputs[" ".join(args)] = r.stdout + r.stderr
    outputs["export csv file"] = csv_file.read_text()
    # The job really did put every secret in every place (else this test proves nothing).
    detail = json.loads(outputs["show 1 --json"])
    assert detail["status"] == "failed" and "cannot log in with" in detail["error_message"]
    assert detail["progress_message"] is None or "step with" in detail["progress_message"]
    logs = outputs["logs 1"]
    # ("bob" is blanked too: every value under a secret name, here `creds`, counts as secret.)
    assert "connecting to https://***:***@example.invalid/data?n=1&sig=***" in logs and "creds " in logs
    assert "encoded " in logs and "cookie ***" in logs
    rows = [json.loads(line) for line in outputs["export 1"].splitlines()]
    assert {r["status"] for r in rows} == {"done", "failed"} and len(rows) == 2
    assert any(r["key"] == "***-key" for r in rows) and any("denied for ***" in (r["error"] or "") for r in rows)
    assert detail["params"]["creds"] == "***" and detail["params"]["passphrase"] == "***"
    types = json.loads(outputs["types --json"])
    assert next(t for t in types if t["name"] == "secretive")["params"]["session_cookie"]["default"] == "***"
    for name, text in outputs.items():
        assert_clean(name, text)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_the_tui_detail_and_log_hold_no_secret(failed_job: Path) -> None:
    from tests.tui.conftest import select, tui

    client = await Client.open(failed_job, apps=["secretapp"], source="tui", create=False)
    try:
        async with tui(client, size=(200, 50)) as (app, pilot):
            await select(app, pilot, 1)
            await pilot.pause()
            screen = html.unescape(app.export_screenshot()).replace("\xa0", " ")
            assert "cannot log in with" in screen and "secretive" in screen
            assert_clean("TUI screen", screen)
            await pilot.press("n")  # the new-job form shows the secret default as ***
            await pilot.pause()
            form = html.unescape(app.export_screenshot()).replace("\xa0", " ")
            assert_clean("new-job form", form)
    finally:
        await client.close()
