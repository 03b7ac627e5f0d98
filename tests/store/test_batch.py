"""The group commit's queue (store/batch.py), shared by every backend: order, keyed writes, fencing."""

from __future__ import annotations

from jobtui.store.batch import R_ITEM, R_JOB_END, R_LOG, R_PROGRESS, Batch


def queue(b: Batch, rank: int, sql: str, row: tuple[object, ...], job: int | None, key: object = None) -> None:
    if key is None:
        jobs, rows = b.ops.setdefault(rank, {}).setdefault(sql, ([], []))
        jobs.append(job)
        rows.append(row)
    else:
        b.keyed.setdefault(rank, {}).setdefault(sql, {})[key] = (job, row)


def test_plan_runs_by_rank_with_keyed_last_values() -> None:
    b = Batch()
    queue(b, R_JOB_END, "end", (1,), 1)
    queue(b, R_LOG, "log", ("a",), 1)
    queue(b, R_ITEM, "item", ("x",), 1)
    queue(b, R_PROGRESS, "progress", (1, "old"), 1, key=1)
    queue(b, R_PROGRESS, "progress", (1, "new"), 1, key=1)
    queue(b, R_ITEM, "item", ("y",), 2)
    plan, lost = b.plan()
    assert plan == [("item", [("x",), ("y",)]), ("progress", [(1, "new")]), ("end", [(1,)]), ("log", [("a",)])]
    assert lost == set()


def test_plan_leaves_out_jobs_a_fenced_runner_lost() -> None:
    b = Batch()
    queue(b, R_ITEM, "item", ("x",), 1)
    queue(b, R_ITEM, "item", ("y",), 2)
    queue(b, R_PROGRESS, "progress", (2,), 2, key=2)
    queue(b, R_LOG, "log", ("recovered",), None)
    plan, lost = b.plan({1, None})
    assert plan == [("item", [("x",)]), ("log", [("recovered",)])]
    assert lost == {2}
