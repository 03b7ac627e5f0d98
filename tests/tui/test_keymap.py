"""Issue 19, item 4: the config file's [keys] rebinds TUI actions (Pilot), as `jobtui tui` applies it."""

from __future__ import annotations

import pytest

from jobtui.client import Client
from jobtui.errors import UsageError
from jobtui.tui.app import make_app
from jobtui.tui.keymap import actions, check_keymap
from jobtui.tui.screens import ConfirmScreen

from .conftest import demo, select, wait_until


def test_every_app_action_and_pane_key_has_an_id() -> None:
    """Every key of the app, the job list, the log and the detail pane is rebindable (it has an id)."""
    ids = actions()
    for action in ("pause", "resume", "cancel", "retry", "rewind", "delete", "new_job", "export", "filter", "sort",
                   "help", "quit", "list.down", "list.mark", "log.search", "log.next", "detail.top"):
        assert action in ids, action


def test_keys_are_spelt_as_textual_spells_them() -> None:
    """'?' and '/' in the file are Textual's question_mark and slash; a clash through them is found too."""
    assert check_keymap({"help": "?", "log.search": "ctrl+f"}) == {"help": "question_mark", "log.search": "ctrl+f"}
    with pytest.raises(UsageError, match="'slash' is bound to both filter and help"):
        check_keymap({"help": "/"})


async def test_a_rebound_key_runs_the_action_and_the_old_key_does_not(client: Client) -> None:
    """cancel = "x": x asks to cancel the selected job; c no longer does."""
    job = await client.submit("demo", demo())
    app = make_app(client)
    app.set_keymap(check_keymap({"cancel": "x"}))  # as tui.launch.run_tui does before the app runs
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.settled, what="the first load")
        await select(app, pilot, job)
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the cancel question")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
