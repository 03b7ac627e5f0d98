"""Issue 17 (the CPU-bound case): a stage that starts and completes within one group commit moves the job's current
stage without a new stamp (`updated_at_ms`), so that no indexed column of the job's row changes (on PostgreSQL a
HOT update, tests/pg/test_pg_bulk.py); a stage seen running moves both, as every end of a job does."""

from __future__ import annotations

from jobtui.store import JobStore
from tests.contract.conftest import OpenStore, new_job


class _Ticks:
    """A clock that moves one millisecond at each reading: every write has a stamp of its own."""

    def __init__(self) -> None:
        self.now = 5_000_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


async def _step_and_stamp(store: JobStore, job_id: int) -> tuple[int, int]:
    job = await store.get_job(job_id)
    return job.current_step_index, job.updated_at_ms


async def test_a_stage_seen_running_moves_the_stamp_one_within_one_commit_does_not(open_store: OpenStore) -> None:
    store = await open_store(clock=_Ticks())
    (job_id,) = await store.add_jobs([new_job(stages=("a", "b", "c"))])
    assert len(await store.claim("r1", 1, ["t"])) == 1
    _, claimed = await _step_and_stamp(store, job_id)
    store.stage_started(job_id, 0, 1, 1, 1, 0)
    await store.commit_point()  # seen running: a reader polling stamps must look again
    step, running = await _step_and_stamp(store, job_id)
    assert step == 0 and running > claimed
    store.stage_finished(job_id, 0, "out a")
    store.stage_started(job_id, 1, 1, 1, 1, 0)
    store.stage_finished(job_id, 1, "out b")
    await store.commit_point()  # stage b began and ended within this commit: never seen running
    assert await _step_and_stamp(store, job_id) == (1, running)
    stages = {s.name: s for s in (await store.get_detail(job_id)).stages}
    assert (stages["b"].status.value, stages["b"].output, stages["b"].runs) == ("completed", "out b", 1)
    store.stage_started(job_id, 2, 1, 1, 1, 0)
    store.stage_finished(job_id, 2, "out c")
    store.job_completed(job_id, "r1", 3)
    await store.commit_point()  # the job's end moves the stamp
    step, ended = await _step_and_stamp(store, job_id)
    assert step == 3 and ended > running
