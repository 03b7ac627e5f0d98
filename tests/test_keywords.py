"""Issue 20 (PLR0913): keyword-rich signatures take typed keyword groups; callers' keywords work as before, and a
misspelt one is refused at run time as a plain signature refused it (not silently ignored)."""

from __future__ import annotations

from typing import Any

import pytest

from jobtui import Context, JobType, Retry
from jobtui.client import Client


async def _noop(ctx: Context) -> None:
    return None


def test_a_job_types_policy_keywords_are_taken_and_a_misspelt_one_refused() -> None:
    jt = JobType("k", [_noop], max_retries=2, retry_delay_s=1.5, auto_pause_after=0, timeout_s=9.0,
                 item_retry=Retry(retries=4), queue="gpu")
    assert (jt.max_retries, jt.retry_delay_s, jt.auto_pause_after, jt.timeout_s, jt.queue) == (2, 1.5, 0, 9.0, "gpu")
    assert jt.item_retry is not None and jt.item_retry.retries == 4
    plain = JobType("k", [_noop])
    assert (plain.max_retries, plain.retry_delay_s, plain.auto_pause_after, plain.timeout_s) == (0, 10.0, 5, None)
    bad: dict[str, Any] = {"max_retry": 2}
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_retry'"):
        JobType("k", [_noop], **bad)


async def test_client_keywords_are_taken_and_a_misspelt_one_refused(client: Client) -> None:
    job = await client.submit("demo", {"items": 1})
    assert (await client.edit(job, priority=3)).changes
    assert [j.job_id for j in await client.list_jobs(statuses=["queued"], types=["demo"])] == [job]
    assert [j.job_id for j in await client.page_jobs(limit=5, types=["demo"])] == [job]
    schedule = await client.add_schedule("k", "demo", {"items": 1}, every_ms=60_000, priority=2, labels=[("a", "b")])
    assert schedule.options["priority"] == 2 and schedule.options["labels"] == {"a": "b"}
    bad: dict[str, Any] = {"priorty": 3}
    with pytest.raises(TypeError, match="'priorty'"):
        await client.edit(job, **bad)
    with pytest.raises(TypeError, match="'priorty'"):
        await client.add_schedule("k2", "demo", {"items": 1}, every_ms=60_000, **bad)
    singular: dict[str, Any] = {"status": ["queued"]}
    with pytest.raises(TypeError, match="'status'"):
        await client.list_jobs(**singular)
    with pytest.raises(TypeError, match="'status'"):
        await client.page_jobs(**singular)
