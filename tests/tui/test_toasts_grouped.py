"""Issue 15 item 16: the toasts of a burst of ends are one summary, one bell, and none over a dialog."""

from __future__ import annotations

from jobtui.client import Client
from jobtui.model import JobStatus

from .conftest import FAILS, run_idle, shown, tui, wait_until

S = JobStatus


async def test_failures_together_give_one_toast_and_one_bell_and_wait_for_the_dialog(client: Client) -> None:
    """The demo opened with a stack of toasts over the right half and a bell each, drawn over the help dialog too."""
    before = await client.submit("demo", FAILS)
    await run_idle(client)
    async with tui(client, size=(80, 24)) as (app, pilot):
        bells: list[int] = []
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        await shown(app, pilot, before, S.FAILED)
        first = [await client.submit("demo", FAILS) for _ in range(2)]
        await run_idle(client)
        for job_id in first:
            await shown(app, pilot, job_id, S.FAILED)
        await wait_until(pilot, lambda: bool(app.toasts), what="a toast")
        await pilot.pause(0.3)
        assert len(app.toasts) == 1 and len(bells) == 1, (app.toasts, bells)
        assert all(f"#{i}" in app.toasts[0] for i in first) and f"#{before}" not in app.toasts[0], app.toasts
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: len(app.screen_stack) > 1, what="the help dialog")
        late = await client.submit("demo", FAILS)
        await run_idle(client)
        await shown(app, pilot, late, S.FAILED)
        await pilot.pause(1.2)  # one tick: a toast would have been shown by now
        assert len(app.toasts) == 1, f"a toast over the dialog: {app.toasts}"
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(app.screen_stack) == 1, what="the dialog closed")
        await wait_until(pilot, lambda: len(app.toasts) >= 2, what="the held toast once the dialog closed")
        assert "failed" in app.toasts[1], (app.toasts, bells)
