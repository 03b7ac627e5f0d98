"""Issue 15, item 8: `add --name` promised "a name to show in lists", but `ls`, the TUI list and the JSON showed
none, so command jobs could not be told apart. Real CLI, real app."""

from __future__ import annotations

import json
from pathlib import Path

from jobtui.client import Client
from tests.conftest import jobtui
from tests.tui.conftest import tui, wait_until


def test_ls_and_show_json_name_command_jobs(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    named = jobtui("add", "--name", "nightly-export", "--", "sh", "-c", "exit 0", db=db).stdout.strip()
    plain = jobtui("add", "--", "echo", "hello-there", db=db).stdout.strip()
    ls = jobtui("ls", db=db).stdout
    assert "nightly-export" in ls and "echo hello-there" in ls, ls
    assert json.loads(jobtui("show", named, "--json", db=db).stdout)["name"] == "nightly-export"
    listed = {j["job_id"]: j["name"] for j in json.loads(jobtui("ls", "--json", db=db).stdout)}
    assert listed == {int(named): "nightly-export", int(plain): "echo hello-there"}


async def test_the_tui_list_shows_a_command_job_by_its_name(client: Client) -> None:
    named = await client.submit("command", {"name": "nightly-export", "stages": [
        {"name": "run", "run": ["true"], "env": {}}]})
    async with tui(client, size=(200, 36)) as (app, pilot):
        await wait_until(pilot, lambda: named in app.table.order)
        row = app.table._row(app.feed.jobs[named], app.table.order.index(named), app.table._new_frame())
        assert "nightly-export" in row.text
