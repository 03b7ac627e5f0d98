"""The PostgreSQL store beyond the contract (issue 10): a real runner on it, wake-ups by LISTEN/NOTIFY,
surviving a lost connection and a server restart, the database's clock, the jobtui_meta mark."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobtui import Runner
from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.errors import StoreError
from jobtui.model import Action, JobStatus, RunnerInfo
from jobtui.store import JobStore, NewJob, open_store
from jobtui.store.schema import MIGRATIONS
from tests.backends import PG_PASSWORD, PgCluster
from tests.conftest import run_idle, wait_for
from tests.engine.test_runner import item_type

asyncpg = pytest.importorskip("asyncpg")


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[JobStore]:
    s = await open_store(pg_url)
    yield s
    await s.close()


def _job(stages: tuple[str, ...] = ("a", "b")) -> NewJob:
    return NewJob("t", {}, stages, tuple(1 for _ in stages))


def _dbname(url: str) -> str:
    return url.rsplit("/", 1)[1]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_a_runner_runs_item_jobs_on_postgres(pg: JobStore) -> None:
    """Claims, items, checkpoints, group commits, results and a rewind, as on SQLite."""
    seen: list[str] = []
    registry_client = Client(pg, default_registry())
    registry_client.registry.add(item_type("it", seen, {"f003"}, workers=3, allow=1))  # one failure tolerated
    ids = [await registry_client.submit("it", {"n": 25}) for _ in range(3)]
    await run_idle(registry_client, concurrency=3)
    for job_id in ids:
        d = await registry_client.detail(job_id)
        assert d.job.status is JobStatus.COMPLETED, d.job
        assert d.stages[1].items_done == 24 and d.stages[1].items_failed == 1
        assert d.stages[1].error == "tolerated: 1 of 25 items failed (allowed: 1)"
        items = [i async for i in registry_client.export(job_id)]
        assert len(items) == 25 and items[0].key == "f000"
    assert sorted(seen) == sorted(f"f{i:03d}" for i in range(25) for _ in ids)
    assert pg.commits > 0


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_a_submit_wakes_a_listening_runner_store(pg_url: str, pg: JobStore) -> None:
    """NOTIFY: a submit from another connection reaches the runner's store within a fraction of a second."""
    other = await open_store(pg_url)
    try:
        woken = asyncio.Event()
        pg.on_wake = woken.set
        await pg.claim("r1", 1, ["t"])  # a runner's store listens from its first claim on
        await wait_for(woken.is_set, timeout=10)  # the listener says so once it listens
        woken.clear()
        began = time.monotonic()
        await other.add_jobs([_job()])
        await asyncio.wait_for(woken.wait(), 5)
        assert time.monotonic() - began < 1.0
        (claimed,) = await pg.claim("r1", 1, ["t"])
        woken.clear()
        await other.control(claimed.job.job_id, Action.PAUSE)
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        await other.close()


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_a_lost_connection_is_reopened_and_queued_writes_kept(pg_cluster: PgCluster, pg_url: str,
                                                                 pg: JobStore) -> None:
    """The server drops the store's connection (as a restart does): the next statement reconnects and the
    group commit keeps its batch and commits it; nothing is lost or written twice."""
    (jid,) = await pg.add_jobs([_job()])
    await pg.register_runner(RunnerInfo("r1", 1, "h", pg.clock(), pg.clock(), 1, 60_000))
    (c,) = await pg.claim("r1", 1, ["t"])
    name = _dbname(pg_url)
    for round_ in range(3):
        pg_cluster.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                        " AND pid <> pg_backend_pid()")
        for i in range(5):
            pg.log(jid, "info", f"line {round_}.{i}")
        pg.item_finished(jid, 0, f"k{round_}", True, {"n": round_}, None, 1)
        await asyncio.wait_for(pg.commit_point(), 30)
    lines = [ln.message for ln in await pg.logs(jid)]
    assert lines == [f"line {r}.{i}" for r in range(3) for i in range(5)]
    items = [i async for i in pg.items(jid)]
    assert [(i.key, i.result, i.attempts) for i in items] == [("k0", {"n": 0}, 1), ("k1", {"n": 1}, 1),
                                                            ("k2", {"n": 2}, 1)]
    assert (await pg.get_job(c.job.job_id)).lease_owner == "r1"


async def test_a_store_whose_connection_is_ended_while_it_opens_opens_on_a_new_one(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server ends the session that checks the schema (as a restart does while a runner starts): the open
    prepares the database again on a new connection instead of failing with "cannot prepare the database"."""
    from jobtui.store.postgres import PgStore

    ended: list[int] = []
    marked = PgStore._marked_version

    async def ended_first(self: PgStore, conn: Any) -> int | None:
        if not ended:  # the first check: its session is ended by another one, between two of its statements
            ended.append(conn.get_server_pid())
            other = await asyncpg.connect(pg_url)
            try:
                await other.execute("SELECT pg_terminate_backend($1)", ended[0])
            finally:
                await other.close()
        return await marked(self, conn)

    monkeypatch.setattr(PgStore, "_marked_version", ended_first)
    store = await open_store(pg_url)
    try:
        assert ended, "the session under the check was ended"
        assert (await store.add_jobs([_job()])), "the store opened and works"
    finally:
        await store.close()


async def test_a_store_that_cannot_connect_again_while_it_opens_says_so_in_one_error(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session under the schema check is ended and the server then refuses new connections (it is gone): the open
    gives up after its connect timeout with the store's own error, not the driver's."""
    from jobtui.store.pg_connection import PgConnection
    from jobtui.store.postgres import PgStore

    marked = PgStore._marked_version
    connect = PgConnection._connection
    connects: list[int] = []

    async def ended(self: PgStore, conn: Any) -> int | None:
        other = await asyncpg.connect(pg_url)
        try:
            await other.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
        finally:
            await other.close()
        return await marked(self, conn)

    async def refused_again(self: PgConnection) -> Any:
        connects.append(1)
        if len(connects) > 1:
            raise ConnectionRefusedError(111, "Connection refused")
        return await connect(self)

    monkeypatch.setattr(PgStore, "_marked_version", ended)
    monkeypatch.setattr(PgConnection, "_connection", refused_again)
    with pytest.raises(StoreError, match="cannot prepare the database"):
        await open_store(pg_url, connect_timeout_s=0.5)
    assert len(connects) > 2, "it tried to connect again before giving up"


@pytest.mark.slow
async def test_a_server_restart_mid_run_is_survived(pg_cluster: PgCluster, pg: JobStore) -> None:
    """pg_ctl restart while a runner works: it reconnects and every job completes, each item once."""
    seen: list[str] = []
    client = Client(pg, default_registry())
    client.registry.add(item_type("it", seen, set(), workers=2, delay=0.02))
    ids = [await client.submit("it", {"n": 40}) for _ in range(2)]
    runner = asyncio.create_task(run_idle(client, concurrency=2, timeout=120))
    await wait_for(lambda: len(seen) >= 10, timeout=30)
    await asyncio.to_thread(pg_cluster.restart, "fast")
    await asyncio.wait_for(runner, 120)
    for job_id in ids:
        d = await client.detail(job_id)
        assert d.job.status is JobStatus.COMPLETED, d.job
        assert d.stages[1].items_done == 40
    # An item in flight at the restart may run again (at-least-once); a committed one never does.
    assert set(seen) == {f"f{i:03d}" for i in range(40)} and len(seen) <= 80 + 2 * 2


async def test_times_come_from_the_database_clock(monkeypatch: pytest.MonkeyPatch, pg_url: str,
                                                  pg_cluster: PgCluster) -> None:
    """A host whose clock is an hour fast still writes heartbeats and leases in the server's time."""
    real = time.time
    monkeypatch.setattr("jobtui.store.pg_connection.time.time", lambda: real() + 3600)
    s = await open_store(pg_url)
    try:
        server_ms = int(float(pg_cluster.psql("SELECT extract(epoch FROM clock_timestamp()) * 1000")))
        assert abs(s.clock() - server_ms) < 5_000
        await s.register_runner(RunnerInfo("r1", 1, "h", s.clock(), s.clock(), 1, 60_000))
        assert await s.heartbeat("r1")
        (runner,) = await s.runners()
        assert abs(runner.heartbeat_at_ms - real() * 1000) < 5_000
    finally:
        await s.close()


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_meta_marks_the_database_and_migrations_run_once(pg_cluster: PgCluster, pg_url: str) -> None:
    """Two stores opening a fresh database at once: one migrates under the lock, both work."""
    opened = await asyncio.gather(open_store(pg_url), open_store(pg_url), return_exceptions=True)
    stores = [s for s in opened if not isinstance(s, BaseException)]
    try:
        assert len(stores) == 2, opened
        a, b = stores
        name = _dbname(pg_url)
        assert pg_cluster.psql("SELECT value FROM jobtui_meta WHERE key = 'application'", name) == "jobtui"
        assert pg_cluster.psql("SELECT value FROM jobtui_meta WHERE key = 'schema_version'", name) == str(len(MIGRATIONS))
        (j1,) = await a.add_jobs([_job()])
        (j2,) = await b.add_jobs([_job()])
        assert j2 == j1 + 1
        assert a.location.endswith(f"/{name}") and PG_PASSWORD not in a.location
        assert await a.integrity_check() == "ok"
    finally:
        for s in stores:
            await s.close()


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_a_commit_whose_answer_is_lost_is_not_taken_for_failed(pg: JobStore,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection drops after the server committed but before its answer arrived (injected at the
    driver: the COMMIT really runs, then the socket is closed). A claim must still hand over its job
    (else the job stays held by a live runner that never runs it) and a group commit must not be
    applied twice (its log line once)."""
    import asyncpg

    (jid,) = await pg.add_jobs([_job()])
    await pg.register_runner(RunnerInfo("r1", 1, "h", pg.clock(), pg.clock(), 1, 60_000))
    real = asyncpg.connection.Connection.execute
    armed = [True]

    async def answer_lost(self: asyncpg.Connection, query: str, *args: object, **kw: object) -> object:
        result = await real(self, query, *args, **kw)
        if armed[0] and query.rstrip().endswith("COMMIT"):  # alone, or after the commit token's insert
            armed[0] = False
            self.terminate()
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        return result

    monkeypatch.setattr(asyncpg.connection.Connection, "execute", answer_lost)
    claimed = await pg.claim("r1", 1, ["t"])
    assert not armed[0], "the injected loss happened"
    assert [c.job.job_id for c in claimed] == [jid]
    armed[0] = True
    pg.log(jid, "info", "once")
    await asyncio.wait_for(pg.commit_point(), 30)
    assert not armed[0]
    assert [ln.message for ln in await pg.logs(jid)] == ["once"]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_an_idle_runner_is_woken_by_a_submit_and_a_request(pg_url: str, pg: JobStore) -> None:
    """A runner that polls only every 60 s still starts a job submitted elsewhere, and obeys a pause sent
    elsewhere, within a fraction of a second: LISTEN/NOTIFY reaches its wake()."""
    seen: list[str] = []
    client = Client(pg, default_registry())
    client.registry.add(item_type("it", seen, set(), delay=0.05))
    runner = Runner(pg, client.registry, concurrency=1, poll_s=60, control_poll_s=60)
    task = asyncio.create_task(runner.run())
    other = await open_store(pg_url)
    try:
        await wait_for(lambda: pg.on_wake is not None, timeout=10)
        await wait_for(lambda: runner.loops >= 1)  # its first look found nothing: it waits for 60 s now
        began = time.monotonic()
        (jid,) = await other.add_jobs([NewJob("it", {"n": 200}, ("prepare", "process", "summarise"), (1, 1, 1))])
        await wait_for(lambda: len(seen) > 0, timeout=10)
        assert time.monotonic() - began < 2.0
        began = time.monotonic()
        await other.control(jid, Action.PAUSE)

        async def paused() -> bool:
            return (await other.get_job(jid)).status is JobStatus.PAUSED

        await wait_for(paused, timeout=10)
        assert time.monotonic() - began < 2.0
    finally:
        runner.stop()
        await asyncio.wait_for(task, 30)
        await other.close()
