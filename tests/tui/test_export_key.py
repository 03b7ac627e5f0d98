"""The TUI's `e` (issue 16): the highlighted job's item results go through Textual's deliver_binary, so a terminal
saves them to a file and `jobtui web` downloads them; read-only mode exports too (it only reads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobtui.client import Client, Submission
from tests.tui.conftest import demo, run_idle, select, tui, wait_until


@pytest.mark.parametrize("readonly", [False, True])
async def test_e_delivers_the_jobs_items_as_a_file(client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   readonly: bool) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    monkeypatch.setenv("JOBTUI_EXPORT_DIR", str(out))
    [job_id] = await client.submit_many([Submission("demo", demo(items=7, api_token="s3cret-export"))])
    await run_idle(client)
    stored = [item async for item in client.export(job_id)]
    assert len(stored) >= 7
    async with tui(client, readonly=readonly) as (app, pilot):
        await select(app, pilot, job_id)
        await pilot.press("e")
        path = out / f"jobtui-job-{job_id}-items.jsonl"
        await wait_until(pilot, lambda: any(f"{len(stored)} item(s) exported to {path}" in n.message
                                            for n in app._notifications), what=f"the export toast: {[n.message for n in app._notifications]} {list(out.iterdir())}")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(x["stage"], x["key"], x["status"]) for x in lines] == [(i.stage, i.key, i.status.value) for i in stored]
    assert "s3cret-export" not in path.read_text()
