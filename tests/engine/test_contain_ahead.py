"""Issue 18, `add` jobs: a job's first command starts under a containment committed with its claim, not under a commit
of its own between the claim and the fork (engine/contain_ahead.py); one its job never used is removed."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from jobtui import Context, JobType, Param, Stage
from jobtui.client import Client
from jobtui.engine.contain_ahead import ContainAhead
from jobtui.engine.containment import Containment
from jobtui.store import Ahead, Store
from tests.commands.helpers import spec
from tests.conftest import make_client, run_idle
from tests.store_inspect import sqlite_transactions

_ROW = re.compile(r"INSERT INTO processes .* VALUES \((\d+), (\d+), '', (\d+), .*?'([0-9a-f]{32})'")



def _rows_ahead(tx: list[str]) -> list[tuple[int, str]]:
    """Return (job, token) of each process row written before its fork (pid 0) in a transaction."""
    return [(int(m[1]), m[4]) for s in tx if (m := _ROW.match(s)) and m[3] == "0"]


def _claims(tx: list[str]) -> bool:
    return any(s.startswith("UPDATE jobs SET status = 'running', lease_owner") for s in tx)


async def test_a_command_jobs_containment_commits_with_its_claim_not_in_a_commit_of_its_own(client: Client) -> None:
    """Before: every job's token row was a commit of its own between its claim and its fork (6 of 6)."""
    jobs = [await client.submit("command", {"stages": [spec(["true", str(n)])]}) for n in range(6)]
    txs = await sqlite_transactions(client.store)
    store: Any = client.store
    lazy: list[bool] = []
    started = store.stage_started

    def spied(*args: Any, **kw: Any) -> None:
        lazy.append(bool(kw.get("lazy")))
        started(*args, **kw)

    store.stage_started = spied
    await run_idle(client, concurrency=1)
    # A first run its claim counted needs no commit before the fork: its start waits for the next one (not the first
    # job's: no containment rode its claim). Before: every start woke the writer for a commit of its own.
    assert lazy == [False, True, True, True, True, True]
    alone = [tx for tx in txs if _rows_ahead(tx) and not _claims(tx)]
    with_claim = [job for tx in txs if _claims(tx) for job, _token in _rows_ahead(tx)]
    # The first job teaches the runner that `command` jobs start a command first; each later one's row rides its claim.
    assert len(alone) == 1, f"token rows committed on their own: {alone}"
    assert with_claim == jobs[1:]
    for job in jobs:
        assert (await client.job(job)).status.value == "completed"
    rows = await client.store.processes(jobs[-1])  # type: ignore[attr-defined]
    assert [(r.pid > 0, r.exit_code, r.argv) for r in rows] == [(True, 0, ("true", "5"))]
    runs = [(await client.store._one("SELECT runs FROM stages WHERE job_id = $1", (j,)))[0]  # type: ignore[attr-defined]
            for j in jobs]
    assert runs == [1] * 6, "each run counted once: by its claim, and its stage start writes the same count"


async def test_a_claim_that_lets_a_command_start_counts_its_run(client: Client) -> None:
    """The stage start may commit after the fork now: a runner killed in between must still leave the next run a new
    `ctx.attempt` (`$JOBTUI_ATTEMPT`), as when the start committed with the token before the fork."""
    job = await client.submit("command", {"stages": [spec(["true"])]})
    store = client.store
    token = "a" * 32
    [claimed] = await store.claim("r1", 1, ["command"], Ahead(frozenset({"command"}), ((token, None),), "boot"))
    assert claimed.ahead == (0, token) and claimed.stages[0].runs == 0
    assert (await store._one("SELECT runs FROM stages WHERE job_id = $1", (job,)))[0] == 1  # type: ignore[attr-defined]
    [row] = await store.processes(job)  # type: ignore[attr-defined]
    assert (row.pid, row.token, row.runner_id, row.ended_at_ms) == (0, token, "r1", None)


def _maybe_type() -> JobType:
    async def maybe(ctx: Context) -> dict[str, Any]:
        if ctx.params["spawn"]:
            sup = await ctx.processes.spawn(["true"])
            await sup.proc.wait()
            ctx.processes.ended(sup, keep=True)
        return {}

    return JobType("maybe", [Stage(maybe, "only")], params={"spawn": Param(bool)})


async def test_a_containment_its_job_never_used_is_removed_with_its_row(store: Store) -> None:
    client = make_client(store, _maybe_type())
    first = await client.submit("maybe", {"spawn": True})
    unused = await client.submit("maybe", {"spawn": False})
    last = await client.submit("maybe", {"spawn": True})
    txs = await sqlite_transactions(store)
    await run_idle(client, concurrency=1)
    given = {job: token for tx in txs if _claims(tx) for job, token in _rows_ahead(tx)}
    assert set(given) == {unused, last}, "the claims after the first spawn give each job a containment"
    rows = {r.job_id: r for job in (first, unused, last) for r in await store.processes(job)}
    assert set(rows) == {first, last}, "the unused containment's row is dropped"
    assert rows[last].token == given[last] and rows[last].pid > 0
    for r in rows.values():
        assert r.cgroup is None or not Path(r.cgroup).exists(), "each command's cgroup is removed once it ended"
    base = rows[last].cgroup
    if base is not None:
        assert not (Path(base).parent / f"jobtui-{given[unused]}").exists(), "the unused cgroup is removed"


async def test_containments_a_claim_gave_are_made_again_before_the_next_offer(client: Client,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The next offer is made as a job's end is queued, before its commit starts: its containments are made already
    (before: each offer made one cgroup for the job its last claim took, on that path)."""
    for n in range(3):
        await client.submit("command", {"stages": [spec(["true", str(n)])]})
    pool = ContainAhead()
    pool.learn("command")
    made: list[Containment] = []
    new = Containment.new

    def counted() -> Containment:
        made.append(new())
        return made[-1]

    monkeypatch.setattr(Containment, "new", staticmethod(counted))
    try:
        [first] = await pool.claim(client.store, "r1", 1, ["command"])  # type: ignore[arg-type]
        assert first.ahead is not None and len(made) == 1
        await asyncio.sleep(0)  # sleep: one loop turn, the one the refill was scheduled in (call_soon)
        assert len(made) == 2
        [second] = await pool.claim(client.store, "r1", 1, ["command"])  # type: ignore[arg-type]
        assert second.ahead is not None and second.ahead[1] == made[1].token
        assert len(made) == 2, "the offer found its containment made"
    finally:
        pool.close()
        for c in made:
            c.remove()  # the two given ones: no runner started their jobs
