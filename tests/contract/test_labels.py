"""Contract: labels (issue 21 item 2) stored, read and filtered alike on every backend, through the Client too."""

from __future__ import annotations

import pytest

from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.errors import UsageError
from jobtui.listing import Listing
from jobtui.model import TERMINAL, Action, JobStatus
from jobtui.store import JobStore
from jobtui.tui.view import JobView, Query
from tests.contract.conftest import new_job


async def test_labels_are_stored_read_and_filtered(store: JobStore) -> None:
    """`ls --label project=42 --active` is a store filter: by key and value, by key alone, with statuses."""
    ids = await store.add_jobs([
        new_job(labels=(("owner", "ann"), ("project", "42"))),
        new_job(labels=(("project", "42"),)),
        new_job(labels=(("project", "7"),)),
        new_job(),
    ])
    await store.control(ids[1], Action.CANCEL)
    assert await store.job_labels(ids) == {ids[0]: (("owner", "ann"), ("project", "42")), ids[1]: (("project", "42"),),
                                           ids[2]: (("project", "7"),)}
    assert (await store.get_detail(ids[0])).labels == (("owner", "ann"), ("project", "42"))
    assert (await store.get_detail(ids[0])).to_dict()["labels"] == {"owner": "ann", "project": "42"}
    assert (await store.get_detail(ids[3])).to_dict()["labels"] == {}

    def ids_of(jobs: list) -> list[int]:
        return [j.job_id for j in jobs]

    assert ids_of(await store.list_jobs(labels=[("project", "42")])) == ids[:2]
    assert ids_of(await store.list_jobs(labels=[("project", None)])) == ids[:3]
    assert ids_of(await store.list_jobs(labels=[("project", "42"), ("owner", "ann")])) == ids[:1]
    assert ids_of(await store.list_jobs(labels=[("project", "nope")])) == []
    active = [s.value for s in JobStatus if s not in TERMINAL]
    assert ids_of(await store.list_jobs(labels=[("project", "42")], statuses=active)) == ids[:1]


async def test_the_tui_filter_label_token_selects_in_sql(store: JobStore) -> None:
    """`label:project=42`, `label:project`, `!label:project=42`: the TUI's (and `--where`'s) filter language."""
    ids = await store.add_jobs([new_job(labels=(("project", "42"),)), new_job(labels=(("project", "7"),)), new_job()])

    async def matched(text: str) -> set[int]:
        view = JobView(query=Query.parse(text))
        listing = view.listing()
        assert await store.count_jobs(listing) == len(await store.matching_ids(listing))
        return await store.matching_ids(listing)

    assert await matched("label:project=42") == {ids[0]}
    assert await matched("label:project") == {ids[0], ids[1]}
    assert await matched("!label:project=42") == {ids[1], ids[2]}
    assert await matched("label:project=42 label:project=7") == set()
    assert await matched("l:project=7 status:queued") == {ids[1]}
    window = await store.window_jobs(Listing(labels=(("project", None),), sort="id", reverse=True), 0, 10)
    assert [j.job_id for j in window] == [ids[1], ids[0]]
    assert await store.job_position(Listing(labels=(("project", None),)), ids[1]) == 1
    assert Query.parse("label:").problems == ("no label key in 'label:'",)


async def test_labels_go_with_their_job(store: JobStore) -> None:
    """A deleted job's labels are gone with it (no row left to match a filter)."""
    [job_id] = await store.add_jobs([new_job(labels=(("project", "42"),))])
    await store.control(job_id, Action.CANCEL)
    await store.control(job_id, Action.DELETE)
    assert await store.job_labels([job_id]) == {}
    assert await store.list_jobs(labels=[("project", "42")]) == []


async def test_client_submits_checked_labels(store: JobStore) -> None:
    """The Client checks labels (a mapping or pairs) before anything is stored."""
    client = Client(store, default_registry())
    job_id = await client.submit("demo", {"delay": 0}, labels={"project": "42", "team": "ocr"})
    assert await client.job_labels([job_id]) == {job_id: (("project", "42"), ("team", "ocr"))}
    assert [j.job_id for j in await client.list_jobs(labels=[("team", "ocr")])] == [job_id]
    cases = [((("x y", "1"),), "bad label key"), ((("k", "a b"),), "a space"), ((("k", ""),), "empty"),
             ((("api_token", "t"),), "looks like a secret"), (tuple((f"k{i}", "v") for i in range(33)), "at most 32")]
    for bad, said in cases:
        with pytest.raises(UsageError, match=said):
            await client.submit("demo", {"delay": 0}, labels=bad)
    assert await client.job_ids() == {job_id}
