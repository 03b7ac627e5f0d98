"""The store contract's fixtures: the same tests run against every backend (issue 10).

`backend` is parametrised over BACKENDS; a backend passes only if it passes every test of this
folder. Each test gets a fresh database: a SQLite file in tmp_path, or (once its store exists) a
fresh PostgreSQL database of the session's throwaway cluster (tests/backends.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jobtui.model import now_ms
from jobtui.store import NewJob, Store

BACKENDS = ["sqlite"]
"""Every store backend; a new one is added here and must pass the whole folder."""


@dataclass
class Backend:
    """How the contract reaches one backend: open a store on the test's database, and a little raw access."""

    name: str
    target: str
    """What Store.open is given (a path or a URL)."""

    async def open(self, **kw: Any) -> Store:
        """Open one more store (its own connection) on the same database."""
        return await Store.open(self.target, **kw)

    def set_schema_version(self, version: int) -> None:
        """Mark the database as written by a jobtui of schema `version` (as a newer jobtui would)."""
        if self.name == "sqlite":
            con = sqlite3.connect(self.target)
            try:
                con.execute(f"PRAGMA user_version = {int(version)}")
                con.commit()
            finally:
                con.close()
        else:  # pragma: no cover - each backend says how
            raise NotImplementedError(self.name)

    def make_foreign(self) -> None:
        """Turn the (not yet opened) database into one of another application, with a table of its own."""
        if self.name == "sqlite":
            con = sqlite3.connect(self.target)
            try:
                con.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, what TEXT)")
                con.execute("INSERT INTO jobs (what) VALUES ('theirs')")
                con.commit()
            finally:
                con.close()
        else:  # pragma: no cover - each backend says how
            raise NotImplementedError(self.name)

    def dump(self) -> list[str]:
        """Return every row of the database as text (to show that nothing changed)."""
        if self.name == "sqlite":
            con = sqlite3.connect(self.target)
            try:
                return list(con.iterdump())
            finally:
                con.close()
        raise NotImplementedError(self.name)  # pragma: no cover

    def missing(self) -> str:
        """Return a target where no database exists."""
        if self.name == "sqlite":
            return str(Path(self.target).with_name("missing.db"))
        raise NotImplementedError(self.name)  # pragma: no cover


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "contract.db"))
    raise AssertionError(f"no fixture for backend {request.param}")  # pragma: no cover


OpenStore = Callable[..., Awaitable[Store]]


@pytest.fixture
async def open_store(backend: Backend) -> AsyncIterator[OpenStore]:
    """A factory of stores on the test's database; every store it made is closed after the test."""
    made: list[Store] = []

    async def _open(**kw: Any) -> Store:
        s = await backend.open(**kw)
        made.append(s)
        return s

    yield _open
    for s in reversed(made):
        await s.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()


def new_job(
    type: str = "t", stages: tuple[str, ...] = ("a", "b"), **kw: Any
) -> NewJob:
    """Return a job to insert with one max attempt per stage."""
    return NewJob(type, kw.pop("params", {}), stages, tuple(1 for _ in stages), **kw)


class FakeClock:
    """A clock the test moves by hand (epoch ms)."""

    def __init__(self, start: int | None = None) -> None:
        self.now = now_ms() if start is None else start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms
