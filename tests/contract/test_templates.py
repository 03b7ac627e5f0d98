"""Contract: job templates (issue 21 item 4) round-trip on every backend; submitting one; a schedule naming one."""

from __future__ import annotations

import pytest

from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.engine.scheduler import job_of, with_template
from jobtui.errors import UsageError
from jobtui.model import QueueLimits
from jobtui.store import JobStore


async def test_a_template_round_trips_and_submits(store: JobStore) -> None:
    client = Client(store, default_registry())
    await store.add_queue("q", QueueLimits(concurrency=1))
    t = await client.save_template("ocr", "demo", {"delay": 0.1, "api_token": "sekrit-1"}, priority=3,
                                   max_retries=2, timeout_ms=60_000, needs=["gpu"], labels={"team": "ocr"}, queue="q",
                                   notify=[["url", "http://127.0.0.1:9/hook"]])
    got = await client.template("ocr")
    assert got == t and got.params["delay"] == 0.1 and got.params["api_token"] == "sekrit-1"
    assert got.options == {"priority": 3, "max_retries": 2, "timeout_ms": 60_000, "needs": ["gpu"],
                           "labels": {"team": "ocr"}, "queue": "q", "notify": [["url", "http://127.0.0.1:9/hook"]]}
    assert got.to_dict()["params"]["api_token"] == "***"
    assert [x.name for x in await client.templates()] == ["ocr"]

    job_id = await client.submit_template("ocr", {"items": 2}, labels={"project": "42"}, priority=None)
    d = await store.get_detail(job_id)
    assert (d.job.type, d.job.params["delay"], d.job.params["items"], d.job.priority, d.job.max_retries) == (
        "demo", 0.1, 2, 3, 2)
    assert (d.job.timeout_ms, d.needs, d.job.queue) == (60_000, ("gpu",), "q")
    assert d.labels == (("project", "42"), ("team", "ocr"))
    assert d.notify == (("url", "http://127.0.0.1:9/hook"),)
    over = await client.submit_template("ocr", priority=9, queue=None, needs=())
    assert (await store.get_job(over)).priority == 9

    copy = await client.save_template("copy", from_job=job_id, params={"seed": 5})
    assert copy.job_type == "demo" and copy.params["seed"] == 5 and copy.params["items"] == 2
    assert copy.options["labels"] == {"project": "42", "team": "ocr"} and copy.options["queue"] == "q"

    with pytest.raises(UsageError, match="a template named 'ocr' exists"):
        await client.save_template("ocr", "demo")
    assert (await client.save_template("ocr", "demo", {"delay": 0.2}, replace=True)).params["delay"] == 0.2
    assert (await client.template("ocr")).created_at_ms == t.created_at_ms
    for bad in ((("x y", "demo"), {}), (("t", "nope"), {}), (("t", "demo"), {"params": {"delay": "fast"}}),
                (("t", "demo"), {"queue": "nope"}), (("t", "demo"), {"labels": {"a b": "1"}}),
                (("t", None), {}), (("t", "demo"), {"from_job": job_id})):
        with pytest.raises(UsageError):
            await client.save_template(*bad[0], **bad[1])  # type: ignore[arg-type]
    await client.remove_template("ocr")
    with pytest.raises(UsageError, match="no template named 'ocr'"):
        await client.remove_template("ocr")
    with pytest.raises(UsageError, match="no template named 'ocr'"):
        await client.submit_template("ocr")
    assert [x.name for x in await client.templates()] == ["copy"]


async def test_a_schedule_fires_its_template_as_it_is_then(store: JobStore) -> None:
    client = Client(store, default_registry())
    await client.save_template("quick", "demo", {"delay": 0, "items": 1}, labels={"kind": "quick"}, priority=4)
    s = await client.add_schedule("s", "@quick", {"seed": 7}, every_ms=60_000)
    assert s.options["template"] == "quick" and s.params == {"seed": 7}
    job = job_of(await with_template(store, s), client.registry)
    assert (job.params["seed"], job.params["items"], job.priority, job.labels) == (7, 1, 4, (("kind", "quick"),))
    await client.save_template("quick", "demo", {"delay": 0, "items": 9}, replace=True)
    job = job_of(await with_template(store, s), client.registry)
    assert job.params["items"] == 9 and job.labels == ()
    await client.remove_template("quick")
    with pytest.raises(UsageError, match="no template named 'quick'"):
        await with_template(store, s)
    with pytest.raises(UsageError, match="no template named 'nope'"):
        await client.add_schedule("s2", "@nope", {}, every_ms=60_000)
