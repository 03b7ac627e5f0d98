"""Concurrent `POST /jobs` share one transaction (issue 22 remainder item 3): server/grouping.py SubmitGroup on a
real SQLite store, and through a real server: each request still gets its own answer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from jobtui.client import Client, Submission
from jobtui.errors import UnknownJobTypeError, UsageError
from jobtui.server.grouping import SubmitGroup
from tests.server.conftest import Server


async def test_concurrent_submissions_are_one_transaction(client: Client) -> None:
    group = SubmitGroup(client)
    ids = await asyncio.gather(*(group.submit(Submission("demo", {"delay": 0, "items": i})) for i in range(30)))
    assert len(set(ids)) == 30 and ids == sorted(ids)
    assert group.groups == 1, "the 30 requests that came together were committed together"
    jobs = await client.jobs_by_ids(ids)
    assert [jobs[i].params["items"] for i in ids] == list(range(30))
    assert len(await client.job_events()) == 30


async def test_a_refused_job_fails_alone_and_the_others_are_stored(client: Client) -> None:
    group = SubmitGroup(client)
    subs = [Submission("demo", {"delay": 0}) for _ in range(8)]
    subs[3] = Submission("nope", {})
    subs[5] = Submission("demo", {"delay": 0}, unique_key="once")
    subs[6] = Submission("demo", {"delay": 0}, unique_key="once")
    got = await asyncio.gather(*(group.submit(s) for s in subs), return_exceptions=True)
    assert isinstance(got[3], UnknownJobTypeError)
    assert isinstance(got[6], UsageError) and "unique key" in str(got[6])
    ok = [g for g in got if isinstance(g, int)]
    assert len(ok) == 6 and len(await client.jobs_by_ids(ok)) == 6
    assert (await client.stats()).total == 6, "nothing of the refused ones stored"


@pytest.mark.slow  # a real server; 40 requests at once
def test_concurrent_posts_each_get_their_own_answer(server: Server) -> None:
    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=f"{server.base}/api/v1", timeout=30,
                                     headers={"Authorization": f"Bearer {server.admin}"}) as c:
            bodies = [{"type": "demo", "params": {"delay": 0}, "priority": i} for i in range(40)]
            bodies[7] = {"type": "nope"}
            return await asyncio.gather(*(c.post("/jobs", json=b) for b in bodies))

    replies = asyncio.run(burst())
    assert replies[7].status_code == 422 and replies[7].json()["type"] == "urn:jobtui:problem:invalid-input"
    good = [r for i, r in enumerate(replies) if i != 7]
    assert {r.status_code for r in good} == {201}
    assert [r.json()["priority"] for r in good] == [i for i in range(40) if i != 7]
    assert len({r.json()["job_id"] for r in good}) == 39
    assert all(r.headers["location"] == f"/api/v1/jobs/{r.json()['job_id']}" for r in good)
