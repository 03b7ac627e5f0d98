"""Snapshot tests of the main screens at fixed sizes, from the deterministic scenario (fixed clock, seeded jobs).

Update with: .venv/bin/python -m pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from jobtui.client import Client
from jobtui.tui.app import JobtuiApp, make_app

from .conftest import wait_until
from .scenario import T0, build, open_client

Compare = Callable[..., bool]


@pytest.fixture(scope="session")
def scenario_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("scenario") / "jobs.db"
    ids = asyncio.run(build(path))
    return path, ids


@pytest.fixture
def scenario(scenario_db: tuple[Path, dict[str, int]], tmp_path: Path) -> Iterator[tuple[Client, dict[str, int]]]:
    """A copy of the scenario database for this test, opened with the clock stopped at T0."""
    source, ids = scenario_db
    path = tmp_path / "jobs.db"
    shutil.copy(source, path)
    # The app runs in the snapshot plugin's own event loop; aiosqlite serves any loop.
    client = asyncio.run(open_client(path))
    try:
        yield client, ids
    finally:
        asyncio.run(client.close())


def app_for(client: Client, **options: Any) -> JobtuiApp:
    return make_app(client, clock=lambda: T0, tz=UTC, **options)


def settled(job_id: int | None = None, *keys: str) -> Callable[[Pilot[Any]], Any]:
    """Select a job (or keep the first), wait until its detail and log are shown, then press keys."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, JobtuiApp)
        await wait_until(pilot, lambda: app.settled, what="the first load")
        if job_id is not None:
            app.select_job(job_id)
            await wait_until(pilot, lambda: app.selected == job_id and app.settled, what=f"job {job_id} shown")
        await pilot.pause(0.02)
        await pilot.press(*keys)
        await pilot.pause(0.1)

    return run_before


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_main_screen(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    client, ids = scenario
    assert snap_compare(app_for(client), terminal_size=(140, 36), run_before=settled(ids["embedding"]))


def test_failed_job_detail(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    client, ids = scenario
    assert snap_compare(app_for(client), terminal_size=(120, 40), run_before=settled(ids["failed"]))


def test_narrow_80x24(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    client, ids = scenario
    assert snap_compare(app_for(client), terminal_size=(80, 24), run_before=settled(ids["running"]))


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_new_job_form(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    client, _ = scenario
    assert snap_compare(app_for(client), terminal_size=(120, 36), run_before=settled(None, "n"))


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_help_screen(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    client, _ = scenario
    assert snap_compare(app_for(client), terminal_size=(120, 36), run_before=settled(None, "question_mark"))


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_cancel_confirm_dialog(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    client, ids = scenario
    assert snap_compare(app_for(client), terminal_size=(100, 30), run_before=settled(ids["queued"], "c"))


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_filter_and_failures_only(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    client, ids = scenario
    keys = ("slash", *"extract", "enter", "F")
    assert snap_compare(app_for(client), terminal_size=(120, 30), run_before=settled(ids["failed"], *keys))


def test_filter_line_open_80x24(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    """The filter line spans the screen above the footer: its whole hint shows, no pane moves (issue 8)."""
    client, ids = scenario
    assert snap_compare(app_for(client), terminal_size=(80, 24), run_before=settled(ids["running"], "slash"))


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_light_theme(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    client, ids = scenario
    assert snap_compare(app_for(client, theme="light"), terminal_size=(120, 36),
                        run_before=settled(ids["waiting_retry"]))


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_new_command_job_form_80x24(snap_compare: Compare, scenario: tuple[Client, dict[str, int]],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The command form at 80x24: every field, Submit and Cancel on screen (the folder shown is the cwd: '/')."""
    client, ids = scenario
    monkeypatch.chdir("/")
    before = settled(ids["running"], "n")

    async def run_before(pilot: Pilot[Any]) -> None:
        from textual.widgets import Input, Select

        from jobtui.tui.screens import NewJobScreen

        await before(pilot)
        form = pilot.app.screen
        assert isinstance(form, NewJobScreen)
        form.query_one("#type", Select).value = "command"
        await wait_until(pilot, lambda: "run" in form.command_fields, what="the command fields")
        run = form.command_fields["run"]
        assert isinstance(run, Input)
        run.cursor_blink = False  # under load the picture was taken in either phase of the blink
        await pilot.press("tab", *"rsync", "space", *"-a", "space", *"src/", "space", *"backup/")
        await wait_until(pilot, lambda: run.value == "rsync -a src/ backup/", what="the command typed")
        await pilot.pause()

    assert snap_compare(app_for(client), terminal_size=(80, 24), run_before=run_before)


def test_fleet_view_80x24(snap_compare: Compare, scenario: tuple[Client, dict[str, int]]) -> None:
    """Key H at 80x24: runners on other hosts (alive with tags and a job, stale), a job no runner can take."""
    from jobtui.model import RunnerInfo
    from jobtui.tui.fleet import FleetScreen

    client, ids = scenario

    async def fleet() -> None:
        await client.store.register_runner(
            RunnerInfo("gpu-01:4242:a", 4242, "gpu-01", T0 - 3_600_000, T0 - 2_000, 4, 15_000, "gpu-box", ("cuda", "gpu")))
        await client.store.register_runner(
            RunnerInfo("cpu-07:977:b", 977, "cpu-07", T0 - 7_200_000, T0 - 95_000, 8, 15_000, "cpu-07-977", ()))
        await client.submit("demo", {"delay": 0}, needs=("tpu",))

    asyncio.run(fleet())

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(ids["running"], "H")(pilot)
        for _ in range(200):
            if isinstance(pilot.app.screen, FleetScreen) and pilot.app.screen.loaded:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.1)

    assert snap_compare(app_for(client), terminal_size=(80, 24), run_before=run_before)
