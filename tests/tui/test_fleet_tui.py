"""The fleet view (key H, issue 10 point 4): every runner with host, tags, jobs, heartbeat and state,
and the jobs no live runner has the tags for; the detail pane shows a job's needs."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from jobtui.client import Client
from jobtui.model import RunnerInfo
from jobtui.tui.fleet import FleetScreen, fleet_table, unmet_text
from tests.tui.conftest import LONG, demo, select, tui, wait_until


def text_of(renderable: object) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_key_H_lists_every_runner_and_what_waits_for_tags(client: Client) -> None:
    """Attached (no runner here), as on a laptop watching a fleet."""
    now = client.store.clock()
    await client.store.register_runner(
        RunnerInfo("gpu-01:77:abc", 77, "gpu-01", now, now, 2, 15_000, "gpu-box", ("cuda", "gpu")))
    await client.store.register_runner(
        RunnerInfo("old:88:def", 88, "old-host", now - 600_000, now - 300_000, 4, 15_000, "old-box", ()))
    held = await client.submit("demo", LONG, needs=("gpu",))
    needy = await client.submit("demo", demo(), needs=("tpu",))
    [claimed] = await client.store.claim("gpu-01:77:abc", 1, ["demo"])
    assert claimed.job.job_id == held
    async with tui(client) as (app, pilot):
        await pilot.press("H")
        await wait_until(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.loaded, what="fleet view")
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        by_id = {r.info.runner_id: r for r in screen.runners}
        assert set(by_id) == {"gpu-01:77:abc", "old:88:def"}
        assert by_id["gpu-01:77:abc"].health.value == "alive" and by_id["old:88:def"].health.value == "stale"
        assert by_id["gpu-01:77:abc"].jobs == (held,)
        table = text_of(fleet_table(screen.runners))
        assert "gpu-box" in table and "gpu-01" in table and "cuda,gpu" in table and "alive" in table
        assert "old-box" in table and "stale" in table and "5m" in table
        assert f"1/2 #{held}" in table
        assert screen.unmet == {needy: ("tpu",)}
        assert f"waiting for a runner with tags: tpu: #{needy}" in text_of(unmet_text(screen.unmet))
        # Refreshed: a runner that registers later shows up without reopening the view.
        await client.store.register_runner(RunnerInfo("tpu:1:x", 1, "tpu-01", now, now, 1, 15_000, "tpu-box", ("tpu",)))
        await wait_until(pilot, lambda: "tpu:1:x" in {r.info.runner_id for r in screen.runners} and not screen.unmet,
                         what="refresh")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, FleetScreen), what="closed")
        await select(app, pilot, needy)
        assert "needs" in app.detail.text and "runner tags: tpu" in app.detail.text


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_the_embedded_runner_is_marked_here(client: Client) -> None:
    running = await client.submit("demo", LONG)
    async with tui(client, runner=True) as (app, pilot):
        here = client.runner.runner_id if client.runner is not None else ""
        await wait_until(pilot, lambda: running in app.running_here(), what="the embedded runner holds a job")
        await pilot.press("H")
        await wait_until(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.loaded, what="fleet view")
        assert isinstance(app.screen, FleetScreen)
        [me] = app.screen.runners
        assert me.info.runner_id == here and me.jobs == (running,) and me.health.value == "alive"
        assert "(here)" in text_of(fleet_table(app.screen.runners, here=here))


async def test_fleet_view_with_no_runner(client: Client) -> None:
    async with tui(client) as (app, pilot):
        await pilot.press("H")
        await wait_until(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.loaded, what="fleet view")
        assert "No runner works on this database" in text_of(fleet_table([]))
        assert isinstance(app.screen, FleetScreen) and app.screen.runners == []
