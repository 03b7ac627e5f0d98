"""The engine on real SQLite files: checkpoints, retries, pause/resume/cancel, auto-pause, recovery."""

from __future__ import annotations

import asyncio
import os
import stat
from typing import Any

import pytest

from jobtui import Context, JobType, Param, PermanentError, Retry, Runner, Stage, TransientError
from jobtui.client import Client
from jobtui.engine import workspace_root_for
from jobtui.model import JobStatus, StageStatus
from jobtui.store import Store
from tests.conftest import after_commit, make_client, run_idle, wait_for
from tests.store_inspect import Executemany, replace_executemany

FAST = Retry(retries=3, base_s=0.01, cap_s=0.05)


def counting_type(name: str, calls: dict[str, int], *, fail: dict[str, list[BaseException]] | None = None,
                  retry: Retry = FAST, **kw: Any) -> JobType:
    """A three-stage type that counts calls per stage and raises the queued errors first."""
    fail = fail or {}

    def make(stage_name: str) -> Stage:
        async def fn(ctx: Context) -> dict[str, Any]:
            calls[stage_name] = calls.get(stage_name, 0) + 1
            queue = fail.get(stage_name)
            if queue:
                raise queue.pop(0)
            return {"from": stage_name, "seen": sorted(ctx.outputs)}

        return Stage(fn, stage_name, retry)

    return JobType(name, [make("a"), make("b"), make("c")], **kw)


async def test_job_runs_every_stage_and_passes_outputs(store: Store) -> None:
    calls: dict[str, int] = {}
    client = make_client(store, counting_type("t", calls))
    job_id = await client.submit("t")
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED
    assert [s.status for s in d.stages] == [StageStatus.COMPLETED] * 3
    assert calls == {"a": 1, "b": 1, "c": 1}
    assert d.job.progress == 1.0 and d.job.completed_at_ms is not None
    out = d.to_dict()
    assert out["last_successful_step"] == "c" and out["stages"][2]["attempts"] == 1


async def test_transient_errors_are_retried_with_backoff(store: Store) -> None:
    calls: dict[str, int] = {}
    errors: dict[str, list[BaseException]] = {"b": [ConnectionResetError("reset"), TimeoutError("slow")]}
    client = make_client(store, counting_type("t", calls, fail=errors))
    job_id = await client.submit("t")
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED
    assert calls["b"] == 3 and d.stages[1].attempts == 3
    history = await client.attempt_errors(job_id)
    assert [(h.stage_index, h.attempt, h.transient) for h in history] == [(1, 1, True), (1, 2, True)]
    assert "ConnectionResetError" in history[0].error


async def test_permanent_error_is_not_retried_and_resume_continues_at_failed_stage(store: Store) -> None:
    calls: dict[str, int] = {}
    errors: dict[str, list[BaseException]] = {"b": [PermanentError("bad input file")]}
    client = make_client(store, counting_type("t", calls, fail=errors))
    job_id = await client.submit("t")
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.FAILED
    assert d.job.failed_step == "b" and "bad input file" in (d.job.error_message or "")
    assert calls == {"a": 1, "b": 1}
    assert d.stages[1].status is StageStatus.FAILED
    await client.resume(job_id)
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED
    assert calls == {"a": 1, "b": 2, "c": 1}, "stage a is never redone"
    assert d.job.resume_count == 1


async def test_unknown_errors_count_as_permanent(store: Store) -> None:
    calls: dict[str, int] = {}
    client = make_client(store, counting_type("t", calls, fail={"a": [ValueError("no")]}))
    job_id = await client.submit("t")
    await run_idle(client)
    assert (await client.job(job_id)).status is JobStatus.FAILED
    assert calls == {"a": 1}


async def test_transient_errors_exhausting_retries_fail_then_auto_retry(store: Store) -> None:
    calls: dict[str, int] = {}
    errors: dict[str, list[BaseException]] = {"a": [TransientError(f"down {i}") for i in range(2)]}
    jt = counting_type("t", calls, fail=errors, retry=Retry(retries=1, base_s=0.01, cap_s=0.01), retry_delay_s=0.05)
    client = make_client(store, jt)
    job_id = await client.submit("t", max_retries=1)
    await run_idle(client)
    job = await client.job(job_id)
    assert job.status is JobStatus.COMPLETED
    assert job.retry_count == 1
    assert calls["a"] == 3


async def test_failed_job_waits_for_retry(store: Store) -> None:
    calls: dict[str, int] = {}
    jt = counting_type("t", calls, fail={"a": [TransientError("x"), TransientError("y")]},
                       retry=Retry(retries=1, base_s=0.01, cap_s=0.01), retry_delay_s=600)
    client = make_client(store, jt)
    job_id = await client.submit("t", max_retries=2)
    runner = Runner(client.store, client.registry)
    task = asyncio.create_task(runner.run())
    await wait_for(lambda: _status_is(client, job_id, JobStatus.WAITING_RETRY))
    job = await client.job(job_id)
    assert job.next_retry_at_ms is not None and job.retry_count == 1
    await client.retry(job_id)  # run now instead of in ten minutes
    await wait_for(lambda: _status_is(client, job_id, JobStatus.COMPLETED))
    runner.stop()
    await task


async def _status_is(client: Client, job_id: int, status: JobStatus) -> bool:
    return (await client.job(job_id)).status is status


def item_type(name: str, seen: list[str], bad: set[str], *, workers: int = 1, auto_pause_after: int = 5,
              delay: float = 0.0, allow: Any = None) -> JobType:
    async def prepare(ctx: Context) -> list[str]:
        return [f"f{i:03d}" for i in range(ctx.params["n"])]

    async def process(ctx: Context) -> dict[str, int]:
        async def one(key: str) -> dict[str, Any]:
            seen.append(key)
            if delay:
                await asyncio.sleep(delay)
            if key in bad:
                raise PermanentError(f"cannot read {key}")
            return {"key": key, "len": len(key)}

        ok = failed = 0
        async for o in ctx.items(ctx.outputs["prepare"], one, workers=workers, allow_failures=allow):
            ok += o.ok
            failed += not o.ok
        return {"ok": ok, "failed": failed}

    async def summarise(ctx: Context) -> int:
        return len(await ctx.results("process"))

    return JobType(name, [Stage(prepare, retry=FAST), Stage(process, retry=FAST), Stage(summarise, retry=FAST)],
                   params={"n": Param(int, 20)}, auto_pause_after=auto_pause_after, item_retry=Retry(retries=0))


async def test_items_commit_results_and_skip_done_items(store: Store) -> None:
    seen: list[str] = []
    client = make_client(store, item_type("it", seen, set(), workers=3))
    job_id = await client.submit("it", {"n": 30})
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED
    assert sorted(seen) == [f"f{i:03d}" for i in range(30)]
    assert d.stages[1].items_done == 30 and d.stages[1].items_total == 30 and d.results == 30
    items = [i async for i in client.export(job_id)]
    assert len(items) == 30 and items[0].result == {"key": "f000", "len": 4}
    # Rewinding to the summary stage reruns it without touching the items.
    seen.clear()
    await client.rewind(job_id, "summarise")
    await run_idle(client)
    assert seen == []
    assert (await client.job(job_id)).status is JobStatus.COMPLETED


async def test_auto_pause_after_consecutive_failures_then_resume_retries_failed_items(store: Store) -> None:
    seen: list[str] = []
    bad = {f"f{i:03d}" for i in range(5, 10)}
    client = make_client(store, item_type("it", seen, bad, auto_pause_after=5))
    job_id = await client.submit("it", {"n": 20})
    await run_idle(client)
    job = await client.job(job_id)
    assert job.status is JobStatus.PAUSED
    assert job.pause_reason and "5 consecutive item failures" in job.pause_reason
    assert job.items_done == 5 and job.items_failed == 5
    assert seen == [f"f{i:03d}" for i in range(10)]
    bad.clear()  # the cause is fixed; resume retries the failed items, not the done ones
    seen.clear()
    await client.resume(job_id)
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED
    assert seen == [f"f{i:03d}" for i in range(5, 20)]
    assert d.stages[1].items_done == 20 and d.stages[1].items_failed == 0
    assert d.job.consecutive_failures == 0


async def test_failed_items_below_the_threshold_complete_and_retry_reruns_only_them(store: Store) -> None:
    seen: list[str] = []
    bad = {"f003", "f007"}
    client = make_client(store, item_type("it", seen, bad, allow="20%"))
    job_id = await client.submit("it", {"n": 10})
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED
    assert d.stages[1].items_failed == 2 and d.job.items_failed == 2
    assert d.stages[1].error == "tolerated: 2 of 10 items failed (allowed: 20%)"
    bad.clear()
    seen.clear()
    await client.retry(job_id)
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED and d.job.items_failed == 0
    assert seen == ["f003", "f007"]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_pause_stops_at_safe_point_and_resume_continues_from_checkpoint(store: Store) -> None:
    seen: list[str] = []
    client = make_client(store, item_type("it", seen, set(), delay=0.01))
    job_id = await client.submit("it", {"n": 200})
    runner = Runner(client.store, client.registry)
    client.runner = runner
    task = asyncio.create_task(runner.run())
    await wait_for(lambda: len(seen) >= 20)
    result = await client.pause(job_id)
    assert result.after is JobStatus.PAUSING
    await wait_for(lambda: _status_is(client, job_id, JobStatus.PAUSED))
    done_at_pause = (await client.detail(job_id)).stages[1].items_done
    assert 20 <= done_at_pause < 200
    assert len(seen) == done_at_pause, "the item in flight finished and was committed"
    await client.resume(job_id)
    await wait_for(lambda: _status_is(client, job_id, JobStatus.COMPLETED))
    runner.stop()
    await task
    assert sorted(seen) == [f"f{i:03d}" for i in range(200)], "no item ran twice"


async def test_checkpoint_state_survives_pause(store: Store) -> None:
    starts: list[Any] = []
    gate = asyncio.Event()

    async def long(ctx: Context) -> int:
        starts.append(ctx.state)
        n = (ctx.state or {}).get("n", 0)
        while n < 5:
            n += 1
            await ctx.checkpoint({"n": n})
            if n == 2 and len(starts) == 1:
                gate.set()
                await ctx.sleep(60)  # sleep: a stage that runs until a pause wakes it
        return n

    client = make_client(store, JobType("long", [long]))
    job_id = await client.submit("long")
    runner = Runner(client.store, client.registry)
    client.runner = runner
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(gate.wait(), 10)
    await client.pause(job_id)
    await wait_for(lambda: _status_is(client, job_id, JobStatus.PAUSED))
    d = await client.detail(job_id)
    assert d.stages[0].status is StageStatus.INTERRUPTED and d.stages[0].checkpoint_at_ms is not None
    await client.resume(job_id)
    await wait_for(lambda: _status_is(client, job_id, JobStatus.COMPLETED))
    runner.stop()
    await task
    assert starts == [None, {"n": 2}]


async def test_pause_interrupts_a_stage_that_ignores_it_after_the_grace_period(store: Store) -> None:
    started = asyncio.Event()

    async def stubborn(ctx: Context) -> None:
        started.set()
        await asyncio.Event().wait()  # never reaches a safe point: only an interruption ends it

    client = make_client(store, JobType("stubborn", [stubborn]))
    job_id = await client.submit("stubborn")
    runner = Runner(client.store, client.registry, grace_s=0.2)
    client.runner = runner
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 10)
    await client.pause(job_id)
    await wait_for(lambda: _status_is(client, job_id, JobStatus.PAUSED))
    d = await client.detail(job_id)
    assert d.stages[0].status is StageStatus.INTERRUPTED
    runner.stop()
    await task


async def test_cancel_interrupts_at_once_and_resume_continues(store: Store) -> None:
    started = asyncio.Event()
    runs: list[int] = []

    async def first(ctx: Context) -> str:
        runs.append(1)
        return "ok"

    async def slow(ctx: Context) -> str:
        runs.append(2)
        if len(runs) == 2:
            started.set()
            await asyncio.Event().wait()  # runs until interrupted
        return "done"

    client = make_client(store, JobType("slow", [first, slow]))
    job_id = await client.submit("slow")
    runner = Runner(client.store, client.registry, grace_s=30)
    client.runner = runner
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 10)
    r = await client.cancel(job_id)
    assert r.after is JobStatus.CANCELLING
    await wait_for(lambda: _status_is(client, job_id, JobStatus.CANCELLED), timeout=5)
    job = await client.job(job_id)
    assert job.cancelled_at_ms is not None and job.can_resume
    await client.resume(job_id)
    await wait_for(lambda: _status_is(client, job_id, JobStatus.COMPLETED))
    runner.stop()
    await task
    assert runs == [1, 2, 2], "the completed first stage is not redone"


async def test_control_of_queued_jobs_needs_no_runner(client: Client) -> None:
    job_id = await client.submit("demo", {"delay": 0, "items": 0})
    assert (await client.pause(job_id)).after is JobStatus.PAUSED
    assert (await client.job(job_id)).pause_reason == "paused by request"
    assert (await client.resume(job_id)).after is JobStatus.QUEUED
    assert (await client.cancel(job_id)).after is JobStatus.CANCELLED
    with pytest.raises(Exception, match="cannot pause"):
        await client.pause(job_id)
    history = [h.action for h in await client.history(job_id)]
    assert history == ["submit", "pause", "resume", "cancel"]


async def test_stage_timeout_is_transient_and_job_timeout_fails(store: Store) -> None:
    tries: list[int] = []

    async def slow_once(ctx: Context) -> str:
        tries.append(ctx.attempt)
        if ctx.attempt == 1:
            await asyncio.sleep(5)  # sleep: the first attempt outlives its stage timeout
        return "ok"

    async def forever(ctx: Context) -> None:
        await asyncio.Event().wait()  # runs until interrupted

    client = make_client(
        store,
        JobType("st", [Stage(slow_once, retry=FAST, timeout_s=0.1)]),
        JobType("jt", [forever], timeout_s=0.2),
    )
    a = await client.submit("st")
    b = await client.submit("jt")
    await run_idle(client)
    assert (await client.job(a)).status is JobStatus.COMPLETED and tries == [1, 2]
    errors = await client.attempt_errors(a)
    assert "StageTimeoutError" in errors[0].error
    job_b = await client.job(b)
    assert job_b.status is JobStatus.FAILED and "timeout" in (job_b.error_message or "")


async def test_priority_then_age_and_run_at(store: Store) -> None:
    order: list[int] = []

    async def note(ctx: Context) -> None:
        order.append(ctx.params["n"])

    client = make_client(store, JobType("note", [note], params={"n": Param(int)}))
    await client.submit("note", {"n": 1})
    await client.submit("note", {"n": 2}, priority=10)
    await client.submit("note", {"n": 3})
    await client.submit("note", {"n": 4}, run_at_ms=store.clock() + 300)
    await client.submit("note", {"n": 5}, priority=10)
    await run_idle(client, concurrency=1)
    assert order == [2, 5, 1, 3, 4]


async def test_unique_key_allows_one_active_job(client: Client) -> None:
    from jobtui.errors import UsageError

    a = await client.submit("demo", {"delay": 0, "items": 0}, unique_key="nightly")
    with pytest.raises(UsageError, match="already has active job"):
        await client.submit("demo", {"delay": 0, "items": 0}, unique_key="nightly")
    await run_idle(client)
    b = await client.submit("demo", {"delay": 0, "items": 0}, unique_key="nightly")
    assert b > a


async def test_rewind_redoes_the_stage_and_after(store: Store) -> None:
    calls: dict[str, int] = {}
    client = make_client(store, counting_type("t", calls))
    job_id = await client.submit("t")
    await run_idle(client)
    r = await client.rewind(job_id, "b")
    assert r.after is JobStatus.QUEUED
    d = await client.detail(job_id)
    assert [s.status for s in d.stages] == [StageStatus.COMPLETED, StageStatus.PENDING, StageStatus.PENDING]
    await run_idle(client)
    assert calls == {"a": 1, "b": 2, "c": 2}


async def test_idempotency_key_is_stable_across_attempts_and_changes_with_rewind(store: Store) -> None:
    keys: list[str] = []

    async def remember(ctx: Context) -> None:
        keys.append(ctx.idempotency_key)
        if len(keys) == 1:
            raise TransientError("flaky")

    client = make_client(store, JobType("idem", [Stage(remember, retry=FAST)]))
    job_id = await client.submit("idem")
    await run_idle(client)
    await client.rewind(job_id, "remember")
    await run_idle(client)
    assert keys[0] == keys[1] != keys[2]
    assert keys[0].startswith(f"jobtui-{job_id}-remember")


async def test_workspace_is_private_and_deleted_with_the_job(store: Store) -> None:
    async def write(ctx: Context) -> str:
        (ctx.workspace / "big.bin").write_bytes(b"x" * 1000)
        return str(ctx.workspace)

    client = make_client(store, JobType("ws", [write]))
    job_id = await client.submit("ws")
    await run_idle(client)
    ws = workspace_root_for(store.path) / str(job_id)
    assert (ws / "big.bin").exists()
    assert stat.S_IMODE(os.stat(ws).st_mode) == 0o700
    await client.delete(job_id)
    assert not ws.exists()


async def test_secrets_are_scrubbed_from_logs_and_redacted_in_detail(client: Client) -> None:
    job_id = await client.submit("demo", {"delay": 0, "items": 0, "api_token": "tok-12345-secret"})
    await run_idle(client)
    lines = [line.message for line in await client.logs(job_id)]
    assert any("scraping with token ***" in m for m in lines)
    assert not any("tok-12345-secret" in m for m in lines)
    assert (await client.detail(job_id)).to_dict()["params"]["api_token"] == "***"


async def test_changed_stage_list_fails_with_replay_mismatch(store: Store) -> None:
    calls: dict[str, int] = {}
    client = make_client(store, counting_type("t", calls))
    job_id = await client.submit("t")

    async def other(ctx: Context) -> None:
        return None

    client.registry.add(JobType("t", [other]))
    await run_idle(client)
    job = await client.job(job_id)
    assert job.status is JobStatus.FAILED and "ReplayMismatchError" in (job.error_message or "")
    assert calls == {}


async def test_logs_stay_bounded(store: Store) -> None:
    async def chatty(ctx: Context) -> None:
        for i in range(2500):
            ctx.log(f"line {i}")

    client = make_client(store, JobType("chatty", [chatty]))
    job_id = await client.submit("chatty")
    await run_idle(client, log_limit=1000)
    lines = await client.logs(job_id, limit=5000)
    assert len(lines) <= 1600
    assert lines[-1].message == "job completed"


async def test_demo_job_completes_with_items(client: Client) -> None:
    job_id = await client.submit("demo", {"delay": 0, "items": 7})
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED
    assert d.to_dict()["counters"] == {"items_done": 21, "items_failed": 0, "results": 21}
    assert (workspace_root_for(client.store.path) / str(job_id) / "snapshot.json").exists()


async def test_tracked_files_are_listed_by_path_size_and_hash(client: Client) -> None:
    import hashlib

    job_id = await client.submit("demo", {"delay": 0, "items": 2})
    await run_idle(client)
    d = await client.detail(job_id)
    [f] = d.files
    data = (workspace_root_for(client.store.path) / str(job_id) / "snapshot.json").read_bytes()
    assert (f.path, f.size, f.sha256) == ("snapshot.json", len(data), hashlib.sha256(data).hexdigest())
    assert d.to_dict()["files"][0]["path"] == "snapshot.json"


async def test_a_completed_job_keeps_no_stale_progress_message(client: Client) -> None:
    job_id = await client.submit("demo", {"delay": 0.05, "items": 2})
    await run_idle(client)
    job = await client.job(job_id)
    assert job.status is JobStatus.COMPLETED and job.progress_message is None


@pytest.mark.parametrize("workers", [1, 3])
async def test_replay_yields_items_done_in_an_earlier_run(store: Store, workers: int) -> None:
    bad = {"f005", "f006", "f007", "f008", "f009"}
    seen_by_run: list[list[tuple[str, bool]]] = []

    async def process(ctx: Context) -> int:
        async def one(key: str) -> str:
            if key in bad:
                raise PermanentError(key)
            return key.upper()

        outcomes: list[tuple[str, bool]] = []
        seen_by_run.append(outcomes)
        total = 0
        async for o in ctx.items([f"f{i:03d}" for i in range(12)], one, workers=workers, replay=True):
            outcomes.append((o.key, o.replayed))
            total += o.ok and o.result.startswith("F")
        return total

    client = make_client(store, JobType("rp", [process], item_retry=Retry(retries=0), auto_pause_after=5))
    job_id = await client.submit("rp")
    await run_idle(client)
    assert (await client.job(job_id)).status is JobStatus.PAUSED
    bad.clear()
    await client.resume(job_id)
    await run_idle(client)
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.COMPLETED
    second = dict(seen_by_run[1])
    assert sorted(second) == [f"f{i:03d}" for i in range(12)]
    assert [k for k, r in second.items() if r] == [f"f{i:03d}" for i in range(5)]
    items = [i async for i in client.export(job_id)]
    assert len(items) == 12 and all(i.status.value == "done" for i in items)


async def test_a_job_whose_completion_just_committed_is_not_taken_for_lost(store: Store) -> None:
    """The control poll may run after a job's completion committed but before its task resumed: the
    job is no longer the runner's then (completed, no owner), which is not "lost". Before, the task was
    interrupted there: its last stage end and its "completed" event went uncounted (found by
    bench/bench_pg.py on PostgreSQL, where LISTEN/NOTIFY wake-ups make that poll frequent)."""
    calls: dict[str, int] = {}
    client = make_client(store, counting_type("t", calls))
    job_id = await client.submit("t")
    events: list[str] = []
    runner = Runner(store, client.registry, concurrency=1, control_poll_s=0.01,
                    on_event=lambda kind, _j: events.append(kind))
    waited = False

    async def linger() -> None:
        nonlocal waited
        if not waited and (await client.job(job_id)).status is JobStatus.COMPLETED:
            waited = True
            looked = runner.loops
            await wait_for(lambda: runner.loops >= looked + 2, what="two control polls meanwhile")

    with after_commit(store, linger):
        await asyncio.wait_for(runner.run(exit_when_idle=True), 30)
    assert waited
    assert (await client.job(job_id)).status is JobStatus.COMPLETED
    assert runner.stages_done == 3 and runner.jobs_done == 1
    assert "completed" in events


async def test_a_job_whose_stop_could_not_be_recorded_is_handed_back_later(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a group commit fails for good and then the failure record cannot be written either, the job stays
    ours in the store while no task runs it: the runner's control poll hands it back later, even with
    no other job running (before, it stayed `running` until the runner restarted; found with the
    PostgreSQL fault tests, tests/pg/test_fleet_faults.py)."""
    calls: dict[str, int] = {}
    client = make_client(store, counting_type("t", calls))
    job_id = await client.submit("t")
    runner = Runner(store, client.registry, concurrency=1, control_poll_s=0.05, poll_s=0.05)
    # The group commit of the first stage's end and its retry alone (refused for good: the job fails),
    # then the one of the job's failure record and its retry: the job stays ours, and is handed back later.
    failures = 4

    async def failing(real: Executemany, sql: str, rows: Any) -> None:
        nonlocal failures
        if failures and calls:
            failures -= 1
            raise RuntimeError("injected: the write failed for good")
        await real(sql, rows)

    replace_executemany(monkeypatch, failing)
    task = asyncio.create_task(runner.run())
    try:
        async def completed() -> bool:
            return (await client.job(job_id)).status is JobStatus.COMPLETED

        await wait_for(completed, timeout=15)
    finally:
        runner.stop()
        await asyncio.wait_for(task, 30)
    assert failures == 0
