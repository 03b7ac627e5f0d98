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


def test_latest_rows_are_read_when_frozen_and_keep_their_rank() -> None:
    """A `latest` row (item counters, progress) is read once, when the batch is taken, not at each change."""
    b = Batch()
    value = {"done": 1}
    reads: list[int] = []

    def read() -> tuple[object, ...]:
        reads.append(value["done"])
        return (value["done"],)

    queue(b, R_ITEM, "item", ("x",), 1)
    b.latest["c1"] = (R_PROGRESS, "progress", 1, read)
    b.size = 2
    value["done"] = 3  # more changes before the commit takes the batch: nothing is built for them
    b.freeze()
    value["done"] = 9  # after the batch was taken: not in this commit
    plan, _ = b.plan()
    assert plan == [("item", [("x",)]), ("progress", [(3,)])]
    assert reads == [3] and b.size == 2 and not b.latest


def test_latest_rows_follow_purge_absorb_and_fencing() -> None:
    b = Batch()
    b.latest["p1"] = (R_PROGRESS, "progress", 1, lambda: (1,))
    b.latest["p2"] = (R_PROGRESS, "progress", 2, lambda: (2,))
    b._count()
    assert b.size == 2 and b.jobs() == {1, 2}
    b.purge({2})
    assert b.size == 1 and set(b.latest) == {"p1"}

    # A batch that failed to commit (frozen) takes back what was queued since: the later value wins.
    taken = Batch()
    taken.latest["p1"] = (R_PROGRESS, "progress", 1, lambda: ("old",))
    taken.freeze()
    later = Batch()
    later.latest["p1"] = (R_PROGRESS, "progress", 1, lambda: ("new",))
    taken.absorb(later)
    assert taken.size == 1
    assert taken.plan()[0] == [("progress", [("new",)])]

    fenced = Batch()
    fenced.latest["p3"] = (R_PROGRESS, "progress", 3, lambda: (3,))
    assert fenced.plan({None}) == ([], {3})
