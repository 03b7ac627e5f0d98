"""The pure parts of the TUI: wording, the filter query, the view's order, the incremental feed."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from jobtui.client import Client, Submission
from jobtui.model import Job, JobStatus
from jobtui.tui import feed as feed_module
from jobtui.tui.feed import JobFeed
from jobtui.tui.format import (
    STATUS_RANK,
    ago,
    bar,
    clean,
    duration,
    elapsed_eta,
    status_label,
    until,
)
from jobtui.tui.view import JobView, Query

from .conftest import demo

S = JobStatus


def job(job_id: int, status: JobStatus = S.QUEUED, **kw: object) -> Job:
    return Job(job_id, "demo", status, {"api_token": "sekrit", "n": job_id}, stage_names=("a", "b"),
               created_at_ms=1000, updated_at_ms=kw.pop("updated_at_ms", 1000 + job_id), **kw)  # type: ignore[arg-type]


def test_wording() -> None:
    assert status_label("failed") == "✗ failed"
    assert duration(850) == "850ms" and duration(65_000) == "1m05s" and duration(7_500_000) == "2h05m"
    assert ago(10_000, 10_500) == "now" and ago(0, 125_000) == "2m ago"
    assert until(5_000, 1_000) == "in 4s" and until(1_000, 5_000) == "due"
    assert bar(0.5, 8) == ("████", "░░░░") and bar(1.0, 4) == ("████", "")
    assert clean("a\x1b[31mb\tc") == "a\ufffd[31mb c" and clean("\tx") == "    x"
    running = job(1, S.RUNNING, started_at_ms=0, current_step_index=1, progress_done=0, progress_total=10)
    assert elapsed_eta(running, 60_000) == "1m/~1m"


def test_query_parsing() -> None:
    q = Query.parse("status:run,fail type:demo !upload words")
    assert q.statuses == {"running", "failed"} and q.types == {"demo"}
    assert q.not_words == ("upload",) and q.words == ("words",)
    assert Query.parse("-status:c").not_statuses == {"cancelling", "cancelled", "completed"}
    assert Query.parse("status:zzz").problems == ("no status 'zzz'",)
    assert Query.parse("").empty


def test_the_view_asks_the_store_for_its_filter_and_order() -> None:
    """The view is what the store counts and reads (tests/contract/test_listing.py checks the SQL)."""
    view = JobView(Query.parse("status:run !type:x upload -done"), sort="updated", reverse=True)
    listing = view.listing()
    assert listing.statuses == {"running"} and listing.not_types == {"x"}
    assert listing.words == ("upload",) and listing.not_words == ("done",)
    assert listing.sort == "updated" and listing.reverse and listing.failures is None
    assert dict(listing.status_rank) == {str(s): r for s, r in STATUS_RANK.items()}
    failures = JobView(failures_only=True).listing().failures
    assert failures == {"failed", "waiting_retry"}


async def test_feed_reads_only_what_changed(client: Client) -> None:
    a = await client.submit("demo", demo())
    b = await client.submit("demo", demo())
    feed = JobFeed(client)
    await feed.load()
    assert feed.counts["queued"] == 2 and feed.total == 2
    delta = await feed.poll()
    assert not delta and not feed.moved and feed.rows_read == 0, "nothing committed: nothing read"
    await client.pause(a)
    delta = await feed.poll()
    assert list(delta.changed) == [a] and delta.changed[a] is S.QUEUED
    assert delta.rows[a].status is S.PAUSED, "the row of a job whose status changed is read (for its toast)"
    assert feed.counts["paused"] == 1 and feed.counts["queued"] == 1
    await client.delete(b)
    delta = await feed.poll()
    assert delta.removed == {b} and feed.counts["queued"] == 0 and feed.total == 1
    c = await client.submit("demo", demo())
    delta = await feed.poll()
    assert delta.changed == {c: None} and feed.counts["queued"] == 1 and feed.max_id == c
    await feed.read_window(0, 10)
    assert feed.order == [a, c] and feed.matches == 2
    stale = replace(feed.jobs[a], status=S.QUEUED, updated_at_ms=0)
    assert not feed.update(stale), "an older read never replaces a newer version"


@pytest.mark.parametrize("settled", [False, True], ids=["within the overlap", "settled"])
async def test_feed_sees_a_second_change_in_the_same_millisecond(
        client: Client, settled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two commits can carry one stamp: seen under load, a job the list showed running for good after it failed.

    A re-read finding another status is a change (it was taken for the same one), and the newest millisecond
    is read again even once the watermark has settled (it was not read at all).
    """
    if settled:
        monkeypatch.setattr(feed_module, "SETTLE_S", 0.0)
    job = await client.submit("demo", demo())
    feed = JobFeed(client)
    await feed.load()
    assert not await feed.poll()
    await client.pause(job)
    assert (await feed.poll()).changed == {job: S.QUEUED}
    stamp = (await client.job(job)).updated_at_ms
    await client.cancel(job)
    with sqlite3.connect(client.db_path) as other:  # the cancel's commit, stamped in the pause's millisecond
        other.execute("UPDATE jobs SET updated_at_ms = ? WHERE job_id = ?", (stamp, job))
    other.close()
    delta = await feed.poll()
    assert delta.changed == {job: S.PAUSED} and delta.rows[job].status is S.CANCELLED
    assert feed.counts["paused"] == 0 and feed.counts["cancelled"] == 1
    assert not await feed.poll(), "read again, unchanged: no change"


async def test_feed_sees_a_status_change_that_commits_late(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: a change stamped more than the overlap before it committed (a runner's commit held up under
    load) was never shown: once settled the feed read only stamps above the newest seen. Job events are numbered
    in commit order, whatever their stamp."""
    monkeypatch.setattr(feed_module, "SETTLE_S", 0.0)
    a = await client.submit("demo", demo())
    b = await client.submit("demo", demo())
    feed = JobFeed(client)
    await feed.load()
    await client.pause(b)
    assert (await feed.poll()).changed == {b: S.QUEUED}
    stamp = (await client.job(b)).updated_at_ms
    await client.pause(a)
    with sqlite3.connect(client.db_path) as other:  # the pause of a, stamped 5 s before it committed
        other.execute("UPDATE jobs SET updated_at_ms = ? WHERE job_id = ?", (stamp - 5_000, a))
    other.close()
    delta = await feed.poll()
    assert delta.changed == {a: S.QUEUED} and delta.rows[a].status is S.PAUSED, "the late commit is shown"
    assert feed.counts["paused"] == 2 and feed.counts["queued"] == 0


async def test_feed_sees_a_progress_tick_that_commits_late(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: a progress tick makes no job event; stamped more than the overlap before it committed (a runner's
    write held up under load), it was missed until the job's next tick. SQLite numbers each write of a job in
    commit order (`change_seq`): the feed reads the writes after the last number it took in, whatever their stamp."""
    monkeypatch.setattr(feed_module, "SETTLE_S", 0.0)
    a = await client.submit("demo", demo())
    b = await client.submit("demo", demo())
    feed = JobFeed(client)
    await feed.load()
    with sqlite3.connect(client.db_path) as other:
        other.execute("UPDATE jobs SET progress_message = 'tick 1', updated_at_ms = updated_at_ms + 10000 WHERE job_id = ?",
                      (b,))
    other.close()
    assert (await feed.poll()).changed == {b: S.QUEUED}
    stamp = (await client.job(b)).updated_at_ms
    with sqlite3.connect(client.db_path) as other:  # a's tick, stamped 5 s before b's, committed after it
        other.execute("UPDATE jobs SET progress_message = 'tick 2', updated_at_ms = ? WHERE job_id = ?",
                      (stamp - 5_000, a))
    other.close()
    assert (await feed.poll()).changed == {a: S.QUEUED}, "the late progress tick is read"
    assert (await feed.poll()).changed == {}, "and read once"


async def test_feed_polls_read_what_changed_not_every_live_job(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: the first poll read the status of every job not ended (~80,000 rows at 100,000 jobs, held for
    good), and each poll with a change counted every job; now a poll reads the events and rows that changed."""
    ids = await client.submit_many([Submission("demo", demo()) for _ in range(300)])
    with sqlite3.connect(client.db_path) as other:  # submitted hours ago, one by one
        other.execute("UPDATE jobs SET updated_at_ms = updated_at_ms - 3600000 - job_id * 10000")  # 10 s apart
    other.close()
    feed = JobFeed(client)
    await feed.load()
    read: list[tuple[str, int]] = []
    store: Any = client.store
    for name in ("_all", "_one"):
        def counting(real: Any) -> Any:
            async def run(sql: str, params: Any = ()) -> Any:
                got = await real(sql, params)
                read.append((sql, len(got) if isinstance(got, list) else 1))
                return got
            return run
        monkeypatch.setattr(store, name, counting(getattr(store, name)))
    for n, job_id in enumerate(ids[4:7]):
        await client.pause(job_id)
        read.clear()
        delta = await feed.poll()
        assert sum(rows for _, rows in read) < 10, f"a poll after one change read {read}"
        assert not [sql for sql, _ in read if "count(" in sql], f"a poll after one change counted jobs: {read}"
        assert delta.changed == {job_id: S.QUEUED} and feed.counts["paused"] == n + 1
    await client.delete(ids[7])
    read.clear()
    delta = await feed.poll()
    assert delta.removed == {ids[7]} and feed.total == 299 and feed.counts["queued"] == 296
    assert sum(rows for _, rows in read) < 10, f"a poll after one delete read {read}"


def test_every_status_has_glyph_colour_rank_and_help() -> None:
    """Issue 8: statuses are listed in one table derived from the model; a new status cannot be forgotten."""
    import re

    from jobtui.model import ACTIVE, TERMINAL, JobStatus, StageStatus
    from jobtui.tui.app import styles_dir
    from jobtui.tui.format import STAGE_COLOUR, STAGE_GLYPH, STATUS_LOOK, STATUS_ORDER
    from jobtui.tui.help import HelpScreen

    tcss = (styles_dir() / "app.tcss").read_text()
    glyphs = set()
    for status in JobStatus:
        look = STATUS_LOOK[status]
        assert len(look.glyph) == 1 and look.glyph.strip(), status
        glyphs.add(look.glyph)
        assert isinstance(look.rank, int) and look.help.strip(), status
        for widget in ("jobtable", "jobdetail", "statusbar"):
            rule = re.search(rf"\.{widget}--{status.value}\b[^{{]*\{{([^}}]*)\}}", tcss)
            assert rule and "color:" in rule.group(1), f"no colour for {widget}--{status.value}"
    assert len(glyphs) == len(JobStatus), "each status has its own glyph"
    for stage in StageStatus:
        assert STAGE_GLYPH[stage] and STAGE_COLOUR[stage] in STATUS_LOOK
    assert set(STATUS_ORDER) == set(JobStatus)
    held = [s for s in STATUS_ORDER if s in ACTIVE]
    settled = [s for s in STATUS_ORDER if s in TERMINAL]
    assert STATUS_ORDER[: len(held)] == tuple(held) and STATUS_ORDER[-len(settled):] == tuple(settled)
    assert HelpScreen  # the legend is built from STATUS_LOOK (see test_views for the rendered screen)


def test_styles_are_found() -> None:
    from jobtui.tui.app import JobtuiApp, styles_dir

    assert (styles_dir() / "app.tcss").is_file()
    assert all(Path(p).is_file() for p in JobtuiApp.CSS_PATH)  # type: ignore[union-attr]
