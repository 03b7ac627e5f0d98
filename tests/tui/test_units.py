"""The pure parts of the TUI: wording, the filter query, the view's order, the incremental feed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from jobtui.client import Client
from jobtui.model import Job, JobStatus
from jobtui.tui.feed import JobFeed
from jobtui.tui.format import (
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


def test_view_filters_sorts_and_keeps_its_order_on_progress() -> None:
    jobs = {i: job(i, S.RUNNING if i % 2 else S.PAUSED) for i in range(1, 7)}
    view = JobView()
    view.rebuild(jobs)
    assert view.order == [1, 2, 3, 4, 5, 6]
    before = jobs[3]
    jobs[3] = replace(before, progress_done=5, progress_total=10, updated_at_ms=9999)
    assert view.apply(jobs, {3: before}) is False, "a progress tick moves no row"
    view.sort = "updated"
    view.rebuild(jobs)
    assert view.order[0] == 3
    view.query = Query.parse("status:paused")
    view.rebuild(jobs)
    assert view.order == [6, 4, 2]
    before = jobs[1]
    jobs[1] = replace(before, status=S.PAUSED, updated_at_ms=10_000)
    assert view.apply(jobs, {1: before}) is True and view.order == [1, 6, 4, 2]
    view.query = Query.parse("sekrit")
    view.rebuild(jobs)
    assert view.order == [], "secrets are not searchable: params are matched redacted"
    view.query = Query.parse("#4")
    view.rebuild(jobs)
    assert view.order == [4]


async def test_feed_reads_only_what_changed(client: Client) -> None:
    a = await client.submit("demo", demo())
    b = await client.submit("demo", demo())
    feed = JobFeed(client)
    delta = await feed.load()
    assert set(delta.changed) == {a, b} and feed.counts["queued"] == 2
    delta = await feed.poll()
    assert not delta, "nothing changed"
    await client.pause(a)
    delta = await feed.poll()
    assert list(delta.changed) == [a] and delta.changed[a].status is S.QUEUED  # type: ignore[union-attr]
    assert feed.counts["paused"] == 1 and feed.counts["queued"] == 1
    await client.delete(b)
    delta = await feed.poll(check_deletions=True)
    assert delta.removed == {b} and b not in feed.jobs and feed.counts["queued"] == 0
    stale = replace(feed.jobs[a], status=S.QUEUED, updated_at_ms=0)
    assert not feed.apply([stale]), "an older read never replaces a newer version"


def test_every_status_has_glyph_colour_rank_and_help() -> None:
    """Issue 8: statuses are listed in one table derived from the model; a new status cannot be forgotten."""
    import re

    from jobtui.model import ACTIVE, TERMINAL, JobStatus, StageStatus
    from jobtui.tui.app import styles_dir
    from jobtui.tui.format import STAGE_COLOUR, STAGE_GLYPH, STATUS_LOOK, STATUS_ORDER
    from jobtui.tui.screens import HelpScreen

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
