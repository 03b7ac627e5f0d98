"""Issue 6 (8): the runner's warnings and errors are never swallowed by the TUI."""

from __future__ import annotations

import logging

from textual.widgets import Log

from jobtui.client import Client
from jobtui.tui.runner_log import RunnerLogScreen

from .conftest import tui, wait_until


async def test_a_runner_warning_is_toasted_and_kept_for_the_L_screen(client: Client) -> None:
    async with tui(client, runner=True) as (app, pilot):
        logging.getLogger("jobtui.store").warning("waiting for the database (locked): 12 write(s) queued")
        logging.getLogger("jobtui.engine").info("a quiet detail")
        await wait_until(pilot, lambda: any("waiting for the database" in t for t in app.toasts), what="toast")
        assert not any("quiet detail" in t for t in app.toasts), "info is kept, not toasted"
        await pilot.press("L")
        await wait_until(pilot, lambda: isinstance(app.screen, RunnerLogScreen), what="runner messages")
        text = "\n".join(str(line) for line in app.screen.query_one(Log).lines)
        assert "jobtui.store: waiting for the database (locked)" in text
        assert "a quiet detail" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunnerLogScreen), what="closed")
    assert not any(isinstance(h, type(app.runner_log)) for h in logging.getLogger("jobtui").handlers), "uninstalled"
