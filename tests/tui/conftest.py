"""TUI fixtures: one database per test, the app built by make_app, helpers that wait instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from jobtui import Runner
from jobtui.client import Client
from jobtui.model import JobId, JobStatus
from jobtui.tui.app import JobtuiApp, make_app
from tests.conftest import wait_for

HERE = Path(__file__).parent


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    c = await Client.open(tmp_path / "t.db", source="tui")
    try:
        yield c
    finally:
        await c.close()


def demo(**params: Any) -> dict[str, Any]:
    """Params of a demo job that is instant unless told otherwise."""
    return {"delay": 0, "items": 0, **params}


LONG = demo(delay=30, items=0)
"""A demo job that stays running (pause and cancel interrupt its sleeps at once)."""
FAILS = demo(fail_stage="uploading", fail_kind="permanent", items=3)
"""A demo job that fails for good in its third stage."""


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], object], timeout: float = 10.0,
                     what: str = "condition") -> None:
    """Let the app run until `predicate()` is true: the one way the TUI tests wait (never a fixed sleep).

    For the app's own readiness, wait for `app.settled` (first load shown, selection's detail and log shown).

    It sleeps rather than `pilot.pause()`s: the app runs in this event loop anyway, and pause() waits for
    every widget to drain its queue, which can stall while toasts come and go.
    """
    await wait_for(predicate, timeout, every=0.02, what=what)


async def wait_status(pilot: Pilot[Any], client: Client, job_id: JobId, *statuses: JobStatus,
                      timeout: float = 10.0) -> JobStatus:
    """Let the app run until the job's stored status is one of `statuses`; return it."""
    deadline = time.monotonic() + timeout
    while True:
        status = (await client.job(job_id)).status
        if status in statuses:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {status.value}, not {[s.value for s in statuses]}")
        await asyncio.sleep(0.03)  # sleep: wait_until's step


async def run_idle(client: Client) -> None:
    """Run every runnable job to its end with a runner (outside any app)."""
    runner = Runner(client.store, client.registry, concurrency=4, grace_s=1.0)
    await runner.run(exit_when_idle=True)


@asynccontextmanager
async def tui(client: Client, *, runner: bool = False, size: tuple[int, int] = (120, 36),
              **options: Any) -> AsyncIterator[tuple[JobtuiApp, Pilot[int]]]:
    """Run the app (with an embedded runner when asked) and wait for its first load."""
    if runner:
        await client.embedded_runner(concurrency=4, grace_s=2.0)
    app = make_app(client, **options)
    async with app.run_test(size=size, notifications=True) as pilot:
        await wait_until(pilot, lambda: app.settled, what="the first load and its selection shown")
        yield app, pilot
    client.runner = None


async def shown(app: JobtuiApp, pilot: Pilot[Any], job_id: JobId, status: JobStatus, timeout: float = 10.0) -> None:
    """Wait until the app's list shows the job in `status`."""
    try:
        await wait_until(pilot, lambda: (j := app.feed.jobs.get(job_id)) is not None and j.status is status,
                         timeout, f"job {job_id} to show {status.value}")
    except AssertionError as e:  # say whether the store or the list lags
        stored, held = await app.client.job(job_id), app.feed.jobs.get(job_id)
        raise AssertionError(f"{e}: stored {stored.status.value} at {stored.updated_at_ms}, listed "
                             f"{held and held.status.value} at {held and held.updated_at_ms}") from e


async def select(app: JobtuiApp, pilot: Pilot[Any], job_id: JobId) -> None:
    """Highlight a job and wait until its detail is loaded."""
    if not app.select_job(job_id):  # not among the rows loaded: the app finds it in the list (issue 18)
        await wait_until(pilot, lambda: app.table.selected_id == job_id, what=f"job {job_id} highlighted")
    await wait_until(pilot, lambda: app.selected == job_id and app.settled, what=f"detail and log of job {job_id}")


@pytest.fixture(autouse=True)
def _config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the TUI's remembered choices (tui.json) out of the user's config folder."""
    monkeypatch.setenv("JOBTUI_CONFIG_DIR", str(tmp_path / "config"))
