"""Shared fixtures: one real SQLite file per test, the real engine, the real CLI in subprocesses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from jobtui import JobType, Registry, Runner
from jobtui.client import Client
from jobtui.engine import default_registry
from jobtui.store import Store

pytest_plugins = ["tests.backends"]
"""The throwaway PostgreSQL cluster fixtures (pg_cluster, pg_url): one server per session."""

TESTS = Path(__file__).parent
APPS = TESTS / "apps"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_path)
    yield s
    await s.close()


@pytest.fixture
async def client(store: Store) -> Client:
    return Client(store, default_registry())


def make_client(store: Store, *types: JobType) -> Client:
    """Return a client whose registry holds the built-in types plus `types`."""
    registry = default_registry()
    for t in types:
        registry.add(t)
    return Client(store, registry)


async def run_idle(client: Client, *, concurrency: int = 4, timeout: float = 30, **kw: object) -> Runner:
    """Run a runner on the client's store until no job is left to run."""
    runner = Runner(client.store, client.registry, concurrency=concurrency, **kw)  # type: ignore[arg-type]
    await asyncio.wait_for(runner.run(exit_when_idle=True), timeout)
    return runner


async def wait_for(cond: Callable[[], object], timeout: float = 10, every: float = 0.02) -> None:
    """Poll an async or sync condition until it is true."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = cond()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


def cli_env(db: Path | str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    env["PYTHONPATH"] = os.pathsep.join([str(APPS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if db is not None:
        env["JOBTUI_DB"] = str(db)
    env.update(extra)
    return env


def jobtui(*args: str, db: Path | str, input: str | None = None, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "jobtui", *args], capture_output=True, text=True, env=cli_env(db, **env),
        input=input, timeout=timeout,
    )


def spawn_runner(db: Path | str, *args: str, **env: str) -> subprocess.Popen[str]:
    """Start `jobtui run` in a subprocess."""
    return subprocess.Popen(
        [sys.executable, "-m", "jobtui", "run", *args], env=cli_env(db, **env), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


def dump(db: Path) -> list[str]:
    """Return every row of the database as text (to show it did not change)."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


__all__ = ["APPS", "Registry", "cli_env", "dump", "jobtui", "make_client", "run_idle", "spawn_runner", "wait_for"]
