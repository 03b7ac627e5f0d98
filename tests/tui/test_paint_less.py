"""Issue 18, item 4: a change repaints the rows of the list that read differently, not every row on screen."""

from __future__ import annotations

import pytest
from textual.strip import Strip

from jobtui.client import Client, Submission
from jobtui.model import now_ms
from jobtui.store import Store
from jobtui.tui.app import make_app
from jobtui.tui.refresh import Refresher
from jobtui.tui.widgets.job_list import JobTable

from .conftest import LONG, select, wait_until


async def test_a_progress_write_repaints_only_its_row(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every poll that found a changed row repainted the whole list (each line a pass of Textual's compositor and
    its bytes written): with one job on screen changed, every line. Now the lines whose job, mark or cursor read
    differently: the changed job's line alone (the clock is fixed, so no relative time moves), the view scrolled."""
    ids = await client.submit_many([Submission("demo", LONG) for _ in range(120)])
    drawn: list[int] = []
    real_line = JobTable.render_line

    def recording(self: JobTable, y: int) -> Strip:
        drawn.append(y)
        return real_line(self, y)

    monkeypatch.setattr(JobTable, "render_line", recording)
    monkeypatch.setattr(Refresher, "tick", lambda self: None)  # the clock's repaint would hide a missed one
    t0 = now_ms()
    app = make_app(client, clock=lambda: t0 + 60_000)
    writer = await Store.open(client.db_path)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_until(pilot, lambda: app.settled, what="the first load")
            await select(app, pilot, ids[100])  # the view scrolls down to it
            assert app.table.scroll_y > 0
            changed = ids[95]
            line = app.table.index[changed] - int(app.table.scroll_y) + 1
            drawn.clear()
            writer.progress(changed, 3, 10, "three", 0, 0, 0)
            await writer.commit_point()
            await wait_until(pilot, lambda: line in drawn, timeout=5, what="the changed row repainted")
            await pilot.pause()
            assert set(drawn) == {line}, f"lines repainted for one changed row: {sorted(set(drawn))}"
    finally:
        await writer.close()
