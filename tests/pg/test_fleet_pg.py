"""Several hosts on PostgreSQL (issue 10, point 4): --tag/--needs routing, `runners`, and the TUI attached
to a `postgresql://` URL showing the fleet (no runner of its own, none spawned)."""

from __future__ import annotations

import json
import subprocess

import pytest

from jobtui.client import Client
from jobtui.model import RunnerInfo
from tests.backends import PG_PASSWORD
from tests.conftest import jobtui

pytest.importorskip("asyncpg")


def cli(*args: str, db: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `jobtui --db URL ARGS`; check that the password never shows."""
    out = jobtui("--db", db, *args, db=None, timeout=timeout)
    assert PG_PASSWORD not in out.stdout + out.stderr
    return out


@pytest.mark.slow
def test_needs_and_tags_route_jobs_on_postgres(pg_url: str) -> None:
    gpu_job = cli("submit", "demo", "-p", "items=2", "-p", "delay=0", "--needs", "gpu", db=pg_url).stdout.strip()
    plain = cli("submit", "demo", "-p", "items=2", "-p", "delay=0", db=pg_url).stdout.strip()
    run = cli("run", "--name", "cpu-box", "--exit-when-idle", db=pg_url)
    assert run.returncode == 0 and "runner cpu-box" in run.stderr, run.stderr
    assert json.loads(cli("show", plain, "--json", db=pg_url).stdout)["status"] == "completed"
    shown = json.loads(cli("show", gpu_job, "--json", db=pg_url).stdout)
    assert shown["status"] == "queued" and shown["needs"] == ["gpu"]
    assert "waiting for a runner with tags: gpu" in cli("ls", db=pg_url).stdout
    run = cli("run", "--name", "gpu-box", "--tag", "gpu", "--exit-when-idle", db=pg_url)
    assert run.returncode == 0, run.stderr
    assert json.loads(cli("show", gpu_job, "--json", db=pg_url).stdout)["status"] == "completed"
    assert json.loads(cli("runners", "--json", db=pg_url).stdout) == []
    bad = cli("submit", "demo", "--needs", "no good", db=pg_url)
    assert bad.returncode == 2 and bad.stderr.startswith("jobtui: error: --needs: bad tag")


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_tui_attached_to_postgres_shows_every_runner(pg_url: str) -> None:
    """`jobtui tui --attach --db postgresql://...`: the app on a PostgreSQL client, no runner here."""
    from jobtui.tui.app import make_app
    from jobtui.tui.fleet import FleetScreen
    from tests.tui.conftest import wait_until

    client = await Client.open(pg_url, source="tui")
    try:
        now = client.store.clock()
        await client.store.register_runner(
            RunnerInfo("gpu-01:7:a", 7, "gpu-01", now, now, 2, 15_000, "gpu-box", ("gpu",)))
        held = await client.submit("demo", {"delay": 30, "items": 0}, needs=("gpu",))
        needy = await client.submit("demo", {"delay": 0, "items": 0}, needs=("tpu",))
        [claimed] = await client.store.claim("gpu-01:7:a", 1, ["demo"])
        assert claimed.job.job_id == held
        app = make_app(client)
        assert not app.embedded
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, app.loaded.is_set, what="first load")
            assert {held, needy} <= set(app.feed.jobs)
            await pilot.press("H")
            await wait_until(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.loaded, what="fleet")
            screen = app.screen
            assert isinstance(screen, FleetScreen)
            [gpu_box] = screen.runners
            assert gpu_box.info.label == "gpu-box" and gpu_box.jobs == (held,) and gpu_box.health.value == "alive"
            assert screen.unmet == {needy: ("tpu",)}
            assert PG_PASSWORD not in str(app.status_bar.render())
        assert client.runner is None, "attached: no runner started here"
    finally:
        await client.close()
