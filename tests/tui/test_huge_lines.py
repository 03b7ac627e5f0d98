"""Issue 14, item 3: `w` on a job with long log lines froze the TUI (a 3 MB line, stored as 1 MiB lines: > 4 min)."""

from __future__ import annotations

import time

import pytest

from jobtui import Context, JobType, Stage
from jobtui.client import Client
from jobtui.tui.format import wrap_words
from jobtui.tui.widgets.log_pane import MAX_LINE_CHARS

from .conftest import run_idle, select, tui, wait_until

MIB = 1 << 20
RESPONSIVE_S = 2.0
"""The longest a key may take to be handled and drawn (a frame is 1/60 s; this leaves room for a loaded machine)."""


async def _huge(ctx: Context) -> None:
    """Print a 3 MiB line the way a command's output is stored: three 1 MiB lines, then a short one."""
    for i in range(3):
        ctx.log(f"part{i} " + "x" * MIB)
    ctx.log("words " * (MIB // 6))
    ctx.log("the end")


@pytest.mark.slow  # several seconds under load (pytest --durations)
@pytest.mark.timeout(60)
async def test_wrap_on_1mib_lines_keeps_the_app_responsive(client: Client) -> None:
    client.registry.add(JobType("huge", [Stage(_huge, "print")]))
    job = await client.submit("huge", {})
    await run_idle(client)
    async with tui(client, size=(120, 30)) as (app, pilot):
        await select(app, pilot, job)
        log = app.log_view
        await wait_until(pilot, lambda: "the end" in log.text(), what="the log loaded")
        log.focus()
        began = time.perf_counter()
        await pilot.press("w")
        await pilot.pause()
        took = time.perf_counter() - began
        assert log.wrap
        assert took < RESPONSIVE_S, f"`w` took {took:.1f} s"
        began = time.perf_counter()
        await pilot.press("g")  # to the top and draw it: the next key is handled at once too
        await pilot.pause()
        assert time.perf_counter() - began < RESPONSIVE_S
        text = log.text()
        rest = len("part0 ") + MIB - MAX_LINE_CHARS
        assert f"… {rest:,} more bytes (jobtui logs {job} shows the whole line)" in text
        assert max(len(line) for line in text.splitlines()) < MAX_LINE_CHARS + 200
        await pilot.press("w")
        assert not log.wrap


def test_wrap_words_is_linear_in_a_long_word() -> None:
    """Chopping a long word once per row was quadratic: 160,000 characters took 2.3 s, 1 MiB minutes."""
    began = time.perf_counter()
    rows = wrap_words("x" * MIB, 80)
    assert time.perf_counter() - began < 1.0
    assert len(rows) == -(-MIB // 80) and all(len(r) == 80 for r in rows[:-1])
    assert wrap_words("ab cd " + "y" * 10 + " e", 4) == ["ab", "cd", "yyyy", "yyyy", "yy e"]
