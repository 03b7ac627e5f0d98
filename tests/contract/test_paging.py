"""Contract: the API's keyset pages of jobs (issue 16): oldest first after a cursor, newest first before one."""

from __future__ import annotations

from jobtui.store import JobStore
from tests.contract.conftest import new_job


async def walk(store: JobStore, size: int, *, newest_first: bool, types: list[str] | None = None) -> list[int]:
    """Follow the pages to the end, as the API's `next` link does; return the ids in the order listed."""
    seen: list[int] = []
    after_id, before_id = 0, None
    while True:
        page = await store.page_jobs(limit=size, newest_first=newest_first, after_id=after_id, before_id=before_id,
                                     types=types)
        seen += [j.job_id for j in page]
        if len(page) < size:
            return seen
        if newest_first:
            before_id = page[-1].job_id
        else:
            after_id = page[-1].job_id


async def test_pages_walk_every_job_once_either_way(store: JobStore) -> None:
    ids = await store.add_jobs([new_job("alpha" if i % 3 else "beta", ("s",)) for i in range(11)])
    assert await walk(store, 4, newest_first=False) == sorted(ids)
    assert await walk(store, 4, newest_first=True) == sorted(ids, reverse=True)
    betas = [i for n, i in enumerate(ids) if n % 3 == 0]
    assert await walk(store, 2, newest_first=True, types=["beta"]) == sorted(betas, reverse=True)
    newest = await store.page_jobs(limit=3, newest_first=True)
    assert [j.job_id for j in newest] == sorted(ids)[-1:-4:-1]
    window = await store.page_jobs(after_id=ids[2], before_id=ids[7], limit=100)
    assert [j.job_id for j in window] == ids[3:7]
