"""Contract: editing a job that no runner runs (issue 21 item 3), alike on every backend.

Every field in every editable state, refusals in the others (nothing changed), the history row, the
params rule, and a concurrent edit and claim that never leave a job half-edited.
"""

from __future__ import annotations

import asyncio

import pytest

from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.editing import EditRefusedError, JobEdit
from jobtui.errors import UsageError
from jobtui.model import Action, JobStatus, QueueLimits
from jobtui.store import JobStore
from tests.contract.conftest import OpenStore, new_job

DEMO = {"delay": 0.5, "items": 3}


async def put_in(client: Client, status: str) -> int:
    """Return a demo job brought to `status` as a runner and a person would."""
    store = client.store
    job_id = await client.submit("demo", DEMO)
    if status == "blocked":
        other = await client.submit("demo", DEMO)
        await store.control(other, Action.PAUSE)
        job_id = await client.submit("demo", DEMO, after=(other,))
    elif status == "paused":
        await store.control(job_id, Action.PAUSE)
    elif status == "cancelled":
        await store.control(job_id, Action.CANCEL)
    elif status != "queued":
        [claimed] = await store.claim("r1", 1, ["demo"])
        job_id = claimed.job.job_id
        if status in ("failed", "waiting_retry"):
            retry_at = store.clock() + 3_600_000 if status == "waiting_retry" else None
            store.job_failed(job_id, "r1", "scraping", "boom", retry_at_ms=retry_at)
        elif status == "completed":
            store.job_completed(job_id, "r1", 8)
        elif status in ("pausing", "cancelling"):
            await store.control(job_id, Action.PAUSE if status == "pausing" else Action.CANCEL)
        await store.commit_point()
    assert (await store.get_job(job_id)).status.value == status
    return job_id


EDITABLE = ["queued", "blocked", "paused", "failed", "waiting_retry", "cancelled"]


@pytest.mark.parametrize("status", EDITABLE)
async def test_every_field_in_every_editable_state(store: JobStore, status: str) -> None:
    """Each field alone: the job changes, its status stays, a history row says who and what."""
    client = Client(store, default_registry(), source="api")
    job_id = await put_in(client, status)
    dep = await client.submit("demo", DEMO)
    await store.add_queue("gpus", QueueLimits(concurrency=2))
    now = store.clock()
    edits: list[tuple[dict[str, object], str]] = [
        ({"params": {"delay": 2}}, "params delay 0.5 → 2.0"),
        ({"priority": 9}, "priority 0 → 9"),
        ({"timeout_ms": 90_000}, "timeout the type's → 90s"),
        ({"max_retries": 4}, "max_retries 0 → 4"),
        ({"needs": ["gpu", "big"]}, "needs none → big, gpu"),
        ({"labels": {"project": "42"}}, "labels none → project=42"),
        ({"labels": {"team": "ocr"}, "unlabel": ["project"]}, "labels project=42 → team=ocr"),
        ({"queue": "gpus"}, "queue none → gpus"),
    ]
    if status in ("queued", "blocked"):
        edits.append(({"run_at_ms": now + 60_000}, "at now → "))
    if status in ("queued", "blocked", "paused"):
        edits.append(({"after": [dep]}, f"after #{dep}"))
    for kwargs, said in edits:
        r = await client.edit(job_id, **kwargs)  # type: ignore[arg-type]
        assert r.changes == (r.changes[0],) and r.changes[0].startswith(said), (kwargs, r.changes)
        assert r.before.value == status
    d = await store.get_detail(job_id)
    j = d.job
    assert (j.params["delay"], j.priority, j.timeout_ms, j.max_retries) == (2.0, 9, 90_000, 4)
    assert d.needs == ("big", "gpu") and d.labels == (("team", "ocr"),) and j.queue == "gpus"
    if status in ("queued", "blocked"):
        assert j.run_at_ms == now + 60_000
    if status in ("queued", "blocked", "paused"):
        assert dep in [r.job_id for r in d.depends_on]
        assert j.status.value == ("blocked" if status == "queued" else status)
    else:
        assert j.status.value == status
    history = [h for h in await store.requests(job_id) if h.action == "edit"]
    assert len(history) == len(edits)
    assert all(h.source == "api" for h in history)
    assert history[0].detail == "params delay 0.5 → 2.0" and history[0].from_status == status
    assert "xdelay" not in j.to_dict()["params"]


@pytest.mark.parametrize("status", ["running", "pausing", "cancelling", "completed"])
async def test_a_job_a_runner_runs_or_that_completed_is_refused_and_unchanged(store: JobStore, status: str) -> None:
    client = Client(store, default_registry())
    job_id = await put_in(client, status)
    before = (await store.get_detail(job_id), await store.requests(job_id))
    for kwargs in ({"priority": 3}, {"params": {"delay": 2}}, {"labels": {"a": "b"}}, {"needs": ["gpu"]}):
        with pytest.raises(EditRefusedError, match=f"job {job_id}: cannot edit: it is {status}"):
            await client.edit(job_id, **kwargs)  # type: ignore[arg-type]
    after = (await store.get_detail(job_id), await store.requests(job_id))
    assert after == before


async def test_at_and_after_apply_only_where_they_mean_something(store: JobStore) -> None:
    """--at on a paused job (resume starts it at once) and --after on a started job are refused, nothing changed."""
    client = Client(store, default_registry())
    paused = await put_in(client, "paused")
    with pytest.raises(EditRefusedError, match="--at applies to a job waiting to start"):
        await client.edit(paused, priority=5, run_at_ms=store.clock() + 60_000)
    assert (await store.get_job(paused)).priority == 0
    failed = await put_in(client, "failed")
    with pytest.raises(UsageError, match="only a job that has not started yet"):
        await client.edit(failed, after=[paused], priority=5)
    assert (await store.get_job(failed)).priority == 0
    with pytest.raises(UsageError, match="nothing to edit"):
        await client.edit(failed)
    with pytest.raises(UsageError, match="no queue 'nope'"):
        await client.edit(failed, queue="nope", priority=5)
    await store.add_queue("q1", QueueLimits(concurrency=1))
    assert (await client.edit(failed, queue="q1")).changes == ("queue none → q1",)
    assert (await client.edit(failed, no_queue=True)).changes == ("queue q1 → none",)
    assert (await store.get_job(failed)).queue is None
    with pytest.raises(UsageError, match="expected float"):
        await client.edit(failed, params={"delay": "fast"})


async def test_the_params_rule(store: JobStore) -> None:
    """Params reach the stages not completed; refused when a stage kept progress or a completed one would change."""
    [job_id] = await store.add_jobs([new_job("t", ("fetch", "parse", "save"), params={"n": 1})])
    [_c] = await store.claim("r1", 1, ["t"])
    store.stage_started(job_id, 0, 1, 1)
    store.stage_finished(job_id, 0, {"fetched": 1})
    store.stage_started(job_id, 1, 1, 1)
    store.item_finished(job_id, 1, "a", True, 1, None, 1)
    store.job_paused(job_id, "r1", "by request")
    await store.commit_point()
    assert (await store.get_job(job_id)).status is JobStatus.PAUSED

    def edit(params: dict[str, object], names: tuple[str, ...]) -> JobEdit:
        return JobEdit(params=params, stage_names=names, max_attempts=(1,) * len(names))

    with pytest.raises(EditRefusedError, match="stage 'parse' kept progress made with the old params; rewind"):
        await store.edit_job(job_id, edit({"n": 2}, ("fetch", "parse", "save")))
    await store.control(job_id, Action.REWIND, to_stage=1)  # parse starts afresh
    with pytest.raises(EditRefusedError, match="change stage 1 \\('fetch'\\), which has completed"):
        await store.edit_job(job_id, edit({"n": 2}, ("get", "parse", "save")))
    r = await store.edit_job(job_id, edit({"n": 2}, ("fetch", "parse2", "store", "report")))
    assert r.changes == ("params n 1 → 2",)
    d = await store.get_detail(job_id)
    assert d.job.params == {"n": 2} and d.job.stage_names == ("fetch", "parse2", "store", "report")
    assert [(s.name, s.status.value) for s in d.stages] == [
        ("fetch", "completed"), ("parse2", "pending"), ("store", "pending"), ("report", "pending")]
    assert d.stages[0].output == {"fetched": 1}
    with pytest.raises(EditRefusedError, match="changed meanwhile"):
        await store.edit_job(job_id, JobEdit(params={"n": 3}, base_params={"n": 1}, stage_names=d.job.stage_names))


async def test_a_held_job_takes_no_params(store: JobStore) -> None:
    """A paused job whose runner holds its stage in place (a frozen command) keeps its params; other fields change."""
    await store.add_queue("q", QueueLimits(concurrency=1))
    [job_id] = await store.add_jobs([new_job("t", ("run",), params={"argv": ["sleep", "9"]}, queue="q")])
    await store.claim("r1", 1, ["t"])
    store.job_held(job_id, "r1", "by request")
    await store.commit_point()
    job = await store.get_job(job_id)
    assert job.status is JobStatus.PAUSED and job.held
    with pytest.raises(EditRefusedError, match="a runner holds its stage in place"):
        await store.edit_job(job_id, JobEdit(params={"argv": ["true"]}, stage_names=("run",), priority=2))
    with pytest.raises(EditRefusedError, match="keeps its queue and slot"):
        await store.edit_job(job_id, JobEdit(no_queue=True, priority=2))
    r = await store.edit_job(job_id, JobEdit(priority=2))
    assert r.changes == ("priority 0 → 2",) and (await store.get_job(job_id)).params == {"argv": ["sleep", "9"]}


async def test_a_concurrent_edit_and_claim_never_leave_a_job_half_edited(open_store: OpenStore) -> None:
    """Edit (params, priority, labels, needs) and claim race on two connections: the job is all old or all new."""
    editor_store = await open_store()
    runner_store = await open_store()
    client = Client(editor_store, default_registry())
    outcomes = {"edited": 0, "refused": 0}
    for _ in range(25):
        job_id = await client.submit("demo", DEMO)
        edit = client.edit(job_id, params={"delay": 2}, priority=7, labels={"p": "1"}, max_retries=3)
        claim = runner_store.claim("r1", 1, ["demo"])
        edited, claimed = await asyncio.gather(edit, claim, return_exceptions=True)
        assert not isinstance(claimed, BaseException), claimed
        d = await editor_store.get_detail(job_id)
        new = (d.job.params["delay"], d.job.priority, d.labels, d.job.max_retries)
        if isinstance(edited, EditRefusedError):
            assert d.job.status is JobStatus.RUNNING and new == (0.5, 0, (), 0)
            outcomes["refused"] += 1
        else:
            assert not isinstance(edited, BaseException), edited
            assert new == (2.0, 7, (("p", "1"),), 3)
            outcomes["edited"] += 1
        for c in claimed:  # a claim after the edit hands the runner the edited job
            assert (c.job.params["delay"], c.job.priority) == new[:2]
            runner_store.job_completed(c.job.job_id, "r1", 8)
        await runner_store.commit_point()
    assert sum(outcomes.values()) == 25
