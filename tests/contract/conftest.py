"""The store contract's fixtures: the same tests run against every backend (issue 10).

`backend` is parametrised over BACKENDS; a backend passes only if it passes every test of this
folder. Each test gets a fresh database: a SQLite file in tmp_path, or (once its store exists) a
fresh PostgreSQL database of the session's throwaway cluster (tests/backends.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jobtui.store import JobStore, NewJob
from jobtui.store import open_store as open_target
from tests.backends import PgCluster

BACKENDS = ["sqlite", "postgres"]
"""Every store backend; a new one is added here and must pass the whole folder. The postgres tests are marked
slow: each makes a database on the session's server with psql, and drops it after."""


@dataclass
class Backend:
    """How the contract reaches one backend: open a store on the test's database, and a little raw access."""

    name: str
    target: str
    """What open_store is given (a path or a URL)."""
    cluster: PgCluster | None = None
    dbname: str = ""

    async def open(self, **kw: Any) -> JobStore:
        """Open one more store (its own connection) on the same database."""
        return await open_target(self.target, **kw)

    async def open_target(self, target: str, **kw: Any) -> JobStore:
        """Open a store on another target of this backend (as `jobtui --db TARGET` would)."""
        return await open_target(target, **kw)

    def psql(self, sql: str) -> str:
        """Run SQL on the test's PostgreSQL database as the superuser (postgres only)."""
        assert self.cluster is not None
        return self.cluster.psql(sql, self.dbname)

    def set_schema_version(self, version: int) -> None:
        """Mark the database as written by a jobtui of schema `version` (as a newer jobtui would)."""
        if self.name == "sqlite":
            con = sqlite3.connect(self.target)
            try:
                con.execute(f"PRAGMA user_version = {int(version)}")
                con.commit()
            finally:
                con.close()
        elif self.name == "postgres":
            self.psql(f"UPDATE jobtui_meta SET value = '{int(version)}' WHERE key = 'schema_version'")
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
        elif self.name == "postgres":
            self.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
                      " CREATE TABLE jobs (id serial PRIMARY KEY, what text); INSERT INTO jobs (what) VALUES ('theirs')")
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
        if self.name == "postgres":
            assert self.cluster is not None
            out = self.cluster.run("pg_dump", "-h", str(self.cluster.socket_dir), "-p", str(self.cluster.port),
                                   "-U", "postgres", "--no-owner", self.dbname).stdout
            # pg_dump's \restrict lines carry a random key per run: not data.
            return [line for line in out.splitlines() if line and not line.startswith(("--", "\\restrict", "\\unrestrict"))]
        raise NotImplementedError(self.name)  # pragma: no cover

    def missing(self) -> str:
        """Return a target where no database exists."""
        if self.name == "sqlite":
            return str(Path(self.target).with_name("missing.db"))
        if self.name == "postgres":
            assert self.cluster is not None
            return self.cluster.url(f"{self.dbname}_missing")
        raise NotImplementedError(self.name)  # pragma: no cover


@pytest.fixture(params=[pytest.param(b, marks=pytest.mark.slow) if b == "postgres" else b for b in BACKENDS])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / "contract.db"))
        return
    if request.param == "postgres":
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        # A copy of a migrated database: what every test but the refusals starts from, in milliseconds.
        name = cluster.new_database(template=request.getfixturevalue("pg_jobtui_template"))
        try:
            yield Backend("postgres", cluster.url(name), cluster, name)
        finally:
            cluster.drop_database_soon(name)
        return
    raise AssertionError(f"no fixture for backend {request.param}")  # pragma: no cover


@pytest.fixture(scope="session")
def pg_jobtui_template(pg_cluster: PgCluster) -> str:
    """A database migrated to the current schema once per session, copied for each postgres test."""
    name = pg_cluster.new_database()

    async def migrate() -> None:
        s = await open_target(pg_cluster.url(name))
        await s.close()

    asyncio.run(migrate())
    return name


OpenStore = Callable[..., Awaitable[JobStore]]


@pytest.fixture
async def open_store(backend: Backend) -> AsyncIterator[OpenStore]:
    """A factory of stores on the test's database; every store it made is closed after the test."""
    made: list[JobStore] = []

    async def _open(**kw: Any) -> JobStore:
        s = await backend.open(**kw)
        made.append(s)
        return s

    yield _open
    for s in reversed(made):
        await s.close()


@pytest.fixture
async def store(open_store: OpenStore) -> JobStore:
    return await open_store()


def new_job(
    type: str = "t", stages: tuple[str, ...] = ("a", "b"), **kw: Any
) -> NewJob:
    """Return a job to insert with one max attempt per stage."""
    return NewJob(type, kw.pop("params", {}), stages, tuple(1 for _ in stages), **kw)


