"""Contract: the job list's windowed reads (issue 18): filter, order, window, position, change token."""

from __future__ import annotations

from jobtui.listing import SORTS, Listing
from jobtui.model import Action, Job
from jobtui.store import JobStore
from tests.contract.conftest import OpenStore, new_job

RANK = (("failed", 0), ("waiting_retry", 1), ("running", 4), ("paused", 5), ("queued", 6), ("cancelled", 7))


def python_key(sort: str, job: Job) -> tuple[object, ...]:
    """The order the TUI always had in memory (tui/view.py before the list was windowed)."""
    rank = dict(RANK)
    return {
        "id": (job.job_id,),
        "status": (rank.get(job.status.value, 99), job.job_id),
        "updated": (-job.updated_at_ms, -job.job_id),
        "progress": (-job.progress, job.job_id),
        "priority": (-job.priority, job.job_id),
        "type": (job.type, job.job_id),
    }[sort]


async def filled(store: JobStore) -> list[int]:
    """Twelve jobs of two types, priorities, progress and statuses, one with a secret param; then the 3 running."""
    ids = await store.add_jobs([
        new_job("alpha" if i % 2 else "beta", ("fetchstage", "savestage"), priority=i % 3,
                params={"api_token": "sekrit-value", "url": f"https://example.org/{i}"} if i == 4 else {"n": i})
        for i in range(12)
    ])
    await store.control(ids[5], Action.PAUSE)
    await store.control(ids[6], Action.CANCEL)
    running = sorted(c.job.job_id for c in await store.claim("r1", 3, ["alpha", "beta"]))
    for k, job_id in enumerate(running):
        store.progress(job_id, k, 4, f"uploading part {k}", 0, 0, 0)
    await store.commit_point()
    return ids + running


async def test_every_order_and_its_reverse_agree_with_the_tuis_order(open_store: OpenStore) -> None:
    store = await open_store()
    await filled(store)
    everything = await store.list_jobs()
    for sort in SORTS:
        for reverse in (False, True):
            listing = Listing(sort=sort, reverse=reverse, status_rank=RANK)
            want = [j.job_id for j in sorted(everything, key=lambda j: python_key(sort, j), reverse=reverse)]
            assert await store.count_jobs(listing) == len(want)
            got = [j.job_id for j in await store.window_jobs(listing, 0, 100)]
            assert got == want, (sort, reverse)
            assert [j.job_id for j in await store.window_jobs(listing, 3, 4)] == want[3:7], (sort, reverse)
            for pos, job_id in enumerate(want):
                assert await store.job_position(listing, job_id) == pos, (sort, reverse, job_id)


async def test_filters_match_as_the_tuis_filter_did(open_store: OpenStore) -> None:
    store = await open_store()
    ids = await filled(store)
    ids, running = ids[:12], ids[12:]

    async def shown(**kw: object) -> list[int]:
        listing = Listing(**kw)  # type: ignore[arg-type]
        rows = [j.job_id for j in await store.window_jobs(listing, 0, 100)]
        assert await store.count_jobs(listing) == len(rows)
        return rows

    assert await shown(statuses=frozenset({"paused", "cancelled"})) == [ids[5], ids[6]]
    assert await shown(not_statuses=frozenset({"queued", "running"})) == [ids[5], ids[6]]
    assert await shown(types=frozenset({"alpha"})) == ids[1::2]
    assert await shown(not_types=frozenset({"alpha"})) == ids[0::2]
    assert await shown(words=("uploading", "part 1")) == [running[1]], "words in the progress message"
    assert await shown(words=("example.org/4",)) == [ids[4]], "words in the params"
    assert await shown(words=("sekrit",)) == [], "secrets are not searchable: params are matched redacted"
    assert await shown(words=(f"#{ids[7]}",)) == [ids[7]]
    assert await shown(words=("paused",)) == [ids[5]], "the status is searched"
    assert await shown(words=("fetchstage",), statuses=frozenset({"running"})) == running, "the current stage's name"
    assert await shown(words=("savestage",), statuses=frozenset({"running"})) == [], "not another stage's"
    assert not set(running) & set(await shown(not_words=("uploading",)))
    assert await shown(failures=frozenset({"failed"})) == []
    words = Listing(statuses=frozenset({"running", "queued"}), words=("uploading",))
    assert await store.matching_ids(words) == set(running)
    assert await store.matching_ids(words, among=[running[0], ids[5], 10**9]) == {running[0]}
    assert await store.job_position(Listing(statuses=frozenset({"paused"})), ids[0]) is None
    assert await store.job_position(Listing(statuses=frozenset({"paused"})), ids[5]) == 0


async def test_the_change_token_moves_with_every_commit_of_any_connection(open_store: OpenStore) -> None:
    reader, writer = await open_store(), await open_store()
    (job_id,) = await writer.add_jobs([new_job()])
    first = await reader.change_token()
    assert await reader.change_token() == first, "reading changes nothing"
    await writer.claim("r1", 1, ["t"])
    second = await reader.change_token()
    assert second != first, "another connection's commit"
    writer.progress(job_id, 1, 2, "half", 0, 0, 0)
    await writer.commit_point()
    third = await reader.change_token()
    assert third != second, "a group commit"
    await reader.control(job_id, Action.PAUSE)
    assert await reader.change_token() != third, "this connection's own write"


async def test_changes_statuses_and_rows_by_id(open_store: OpenStore) -> None:
    store = await open_store()
    ids = (await filled(store))[:12]
    counts = await store.status_counts()
    assert counts == {"running": 3, "paused": 1, "cancelled": 1, "queued": 7}
    unsettled = await store.unsettled_statuses()
    assert ids[6] not in unsettled and unsettled[ids[5]] == "paused" and len(unsettled) == 11
    jobs = await store.list_jobs()
    newest = max(j.updated_at_ms for j in jobs)
    assert await store.job_changes(newest) == []
    changed = await store.job_changes(newest - 1)
    assert changed and all(stamp == newest for _, _, stamp in changed)
    assert set(await store.jobs_by_ids([ids[0], ids[3], 10**9])) == {ids[0], ids[3]}


async def test_the_stage_filter_matches_the_stage_a_job_is_at(open_store: OpenStore) -> None:
    """`stage:` (issue 19, item 8): the current stage's name, case-insensitive; a job past its stages is at none."""
    store = await open_store()
    fetching = await store.add_jobs([new_job("alpha", ("Fetch", "save")) for _ in range(2)])
    saving = await store.add_jobs([new_job("alpha", ("save", "Fetch"))])

    async def shown(**kw: object) -> list[int]:
        listing = Listing(**kw)  # type: ignore[arg-type]
        rows = [j.job_id for j in await store.window_jobs(listing, 0, 100)]
        assert await store.count_jobs(listing) == len(rows)
        return rows

    assert await shown(stages=frozenset({"fetch"})) == fetching
    assert await shown(stages=frozenset({"save", "nope"})) == saving
    assert await shown(not_stages=frozenset({"fetch"})) == saving
    assert await shown(stages=frozenset({"nope"})) == []
