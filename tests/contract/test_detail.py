"""Contract: the job detail is one statement and holds everything `show` shows (issue 22: the API's polls)."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

from jobtui.errors import JobNotFoundError
from jobtui.model import JobStatus, NotifyEvent, ProcessRecord, RunnerInfo, StageStatus
from jobtui.store import JobStore
from tests.contract.conftest import new_job
from tests.store_inspect import notify_targets


def count_reads(store: JobStore) -> list[str]:
    """Record every statement the store reads with from now on (its one read path, `_all`)."""
    seen: list[str] = []
    inner = store._all  # type: ignore[attr-defined]

    async def counted(sql: str, params: Any = ()) -> list[Any]:
        seen.append(sql)
        return list(await inner(sql, params))

    store._all = counted  # type: ignore[attr-defined]
    return seen


async def test_job_detail_is_one_statement(store: JobStore) -> None:
    """GET /jobs/{id} polled by a hundred clients read nine (now ten) statements per poll (0.31x the bare baseline)."""
    (jid,) = await store.add_jobs([new_job()])
    seen = count_reads(store)
    detail = await store.get_detail(jid)
    assert detail.job.job_id == jid and [s.name for s in detail.stages] == ["a", "b"]
    assert len(seen) == 1, seen


async def test_job_detail_holds_what_each_read_holds(store: JobStore) -> None:
    """Stages, items done, files, dependencies both ways, targets, notifications, processes, needs, labels: the
    one statement returns what the separate reads do, in their order."""
    now = store.clock()
    await store.register_runner(RunnerInfo("r1", os.getpid(), socket.gethostname(), now, now, 4, 60_000, None,
                                           ("gpu", "ssd")))
    ups = await store.add_jobs([new_job("t", ("one",)), new_job("t", ("one",))])
    assert sorted(c.job.job_id for c in await store.claim("r1", 5, ["t"])) == ups
    for up in ups:
        store.job_completed(up, "r1", 1)
    await store.commit_point()
    target = ("url", "http://127.0.0.1:9/hook")
    (jid,) = await store.add_jobs([new_job(notify=(target, ("cmd", "echo z")), needs=("ssd", "gpu"),
                                           after=(ups[1], ups[0]), labels=(("team", "ocr"), ("proj", "é 42")))])
    (down,) = await store.add_jobs([new_job("t", ("x",), after=(jid,))])
    assert [c.job.job_id for c in await store.claim("r1", 5, ["t"])] == [jid]
    store.stage_started(jid, 0, 1, 3)
    store.item_finished(jid, 0, "k1", True, {"v": 1}, None, 1)
    store.item_finished(jid, 0, "k2", True, {"v": 2}, None, 1)
    store.item_finished(jid, 0, "k3", False, None, "bad 'quote' \"and\" ünïcode", 1)
    store.stage_counters(jid, 0, 3, 2, 1)
    store.stage_finished(jid, 0, {"out": [1, "two", None], "nested": {"a": "b"}})
    store.file_tracked(jid, 0, "z.bin", 12, "cd" * 32)
    store.file_tracked(jid, 0, "a b.txt", 3, "ab" * 32)
    await store.commit_point()
    for slot, pid in (("s2", 12), ("s1", 11)):
        await store.process_started(ProcessRecord(jid, 0, slot, pid, pid, 99, "boot", "r1", ("echo", "é"), None,
                                                  store.clock()))
    store.job_failed(jid, "r1", "a", "boom", retry_at_ms=None)
    store.notify_event(jid, NotifyEvent.FAILED)
    await store.commit_point()

    detail = await store.get_detail(jid)
    assert detail.job == await store.get_job(jid)
    assert detail.job.status is JobStatus.FAILED
    assert [s.name for s in detail.stages] == ["a", "b"]
    assert detail.stages[0].status is StageStatus.COMPLETED
    assert detail.stages[0].output == {"out": [1, "two", None], "nested": {"a": "b"}}
    assert (detail.stages[0].items_done, detail.stages[0].items_failed) == (2, 1)
    assert detail.results == 2
    assert [f.path for f in detail.files] == ["a b.txt", "z.bin"]
    assert [(r.job_id, r.status) for r in detail.depends_on] == [(ups[0], JobStatus.COMPLETED), (ups[1], JobStatus.COMPLETED)]
    assert [r.job_id for r in detail.dependents] == [down]
    assert detail.notify == await notify_targets(store, jid)
    assert detail.notify == (("cmd", "echo z"), target)
    assert detail.notifications == await store.notifications(jid)
    assert len(detail.notifications) == 2
    assert list(detail.processes) == await store.processes(jid)
    assert [p.slot for p in detail.processes] == ["s1", "s2"]
    assert detail.processes[0].argv == ("echo", "é")
    assert detail.needs == ("gpu", "ssd")
    assert detail.labels == (("proj", "é 42"), ("team", "ocr"))


async def test_job_detail_of_a_bare_job_and_a_missing_one(store: JobStore) -> None:
    (jid,) = await store.add_jobs([new_job()])
    d = await store.get_detail(jid)
    assert (d.files, d.depends_on, d.dependents, d.notify, d.notifications, d.processes, d.needs, d.labels,
            d.results) == ((), (), (), (), (), (), (), (), 0)
    with pytest.raises(JobNotFoundError):
        await store.get_detail(jid + 1000)
