"""The page's runners and schedules views (the TUI's H and C) and its newest-first job list (issue 16), in real
headless Chromium against a real `jobtui serve` with its runner and a second real runner process."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import jobtui, poll, spawn_runner, stop_runner
from tests.server.browser import (
    SHOTS,
    job,
    no_horizontal_scroll,
    open_page,
    srv_fixture,
    submit,
    token,
)
from tests.server.conftest import Server, free_port
from tests.server.test_web_a11y import violations

__all__ = ["srv_fixture"]  # the module's fixture `srv`
pytestmark = pytest.mark.slow  # a browser, a server and runner processes: several seconds each


def runner_row(page: Any, name: str) -> Any:
    return page.locator("#fleet-body tr", has=page.locator(f"td.name > span:text-is('{name}')"))


def tab_to(page: Any, selector: str, most: int = 40) -> None:
    """Press Tab until `selector` has the focus (the keyboard reaches it), at most `most` times."""
    for _ in range(most):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_runners_view_shows_the_fleet_and_follows_it(srv: Server, browser: Any) -> None:
    field = spawn_runner(srv.db, "--name", "field-worker", "--tag", "gpu", "--concurrency", "2")
    try:
        held = submit(srv, type="demo", params={"delay": 30, "items": 40}, needs=["gpu"])
        poll(lambda: job(srv, held)["status"] == "running", what="the tagged runner taking the job")
        page = open_page(browser, srv, srv.admin)
        page.keyboard.press("H")  # the TUI's key for the runners
        page.wait_for_selector("#fleet-view[data-loaded='1']")
        assert page.url.endswith("#runners")
        row = runner_row(page, "field-worker")
        row.wait_for()
        assert row.locator("[data-state='alive']").count() == 1
        assert row.locator(f"a[href='#job/{held}']").count() == 1, row.inner_text()
        assert str(field.pid) in row.inner_text() and "1/2" in row.inner_text()
        assert "ago" in row.locator("td.age").inner_text() or row.locator("td.age").inner_text() == "now"
        assert page.locator("#fleet-body tbody tr").count() == 2  # the server's own runner and this one
        assert not violations(page)
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "web-runners.png"))
        page.set_viewport_size({"width": 360, "height": 800})
        assert no_horizontal_scroll(page)
        assert field.pid is not None and f"pid {field.pid}" in row.locator("small").inner_text()
        field.send_signal(signal.SIGKILL)
        field.communicate(timeout=30)
        # no reload: the view reads the fleet again by itself (the dead runner is judged gone, then recovered)
        poll(lambda: row.count() == 0 or row.locator("[data-state='gone']").count() == 1,
             what="the killed runner shown gone (or taken off once recovered)")
        page.keyboard.press("Escape")
        page.wait_for_selector("#list-view:not([hidden])")
        page.context.close()
    finally:
        stop_runner(field)


def add_schedule(srv: Server, name: str) -> None:
    with srv.client(srv.admin) as c:
        r = c.post("/schedules", json={"name": name, "type": "demo", "every": 3600, "params": {"delay": 0}})
        assert r.status_code == 201, r.text


def schedule(srv: Server, name: str) -> dict[str, Any]:
    with srv.client(srv.admin) as c:
        data: dict[str, Any] = c.get(f"/schedules/{name}").json()
        return data


def test_schedules_pause_and_resume_from_the_keyboard(srv: Server, browser: Any) -> None:
    add_schedule(srv, "nightly-report")
    page = open_page(browser, srv, token(srv.db, "operator", "steer"))
    page.keyboard.press("C")  # the TUI's key for the schedules
    page.wait_for_selector("#fleet-view[data-loaded='1']")
    row = page.locator("tr[data-schedule='nightly-report']")
    assert "every 1h" in row.inner_text() and row.locator("[data-state='active']").count() == 1
    tab_to(page, "tr[data-schedule='nightly-report'] button[data-schedule-action='pause']")
    page.keyboard.press("Enter")
    row.locator("[data-state='paused']").wait_for()
    assert schedule(srv, "nightly-report")["paused"] is True
    # the button turned into Resume and kept the focus: Enter again resumes
    page.wait_for_selector("tr[data-schedule='nightly-report'] button[data-schedule-action='resume']:focus")
    assert not violations(page)
    page.keyboard.press("Enter")
    row.locator("[data-state='active']").wait_for()
    assert schedule(srv, "nightly-report")["paused"] is False
    page.set_viewport_size({"width": 360, "height": 800})
    assert no_horizontal_scroll(page)
    page.context.close()


def test_a_read_token_sees_the_schedules_without_buttons(srv: Server, browser: Any) -> None:
    add_schedule(srv, "weekly-digest")
    page = open_page(browser, srv, token(srv.db, "watcher", "read"), width=360)
    page.goto(f"{srv.base}/#schedules")
    page.wait_for_selector("#fleet-view[data-loaded='1']")
    page.locator("tr[data-schedule='weekly-digest']").wait_for()
    assert page.locator("#fleet-view button").count() == 0
    assert "Actions" not in page.locator("#fleet-view thead").inner_text()
    assert no_horizontal_scroll(page)
    assert not violations(page)
    page.context.close()


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with no runner (`--attach`): jobs stay queued, so the list's order is only the ids'."""
    s = Server(str(tmp_path_factory.mktemp("newest") / "jobs.db"), free_port(), args=("--attach",)).start()
    s.read_admin()
    yield s
    code, err = s.stop()
    assert code == 0, err


def test_the_first_load_lists_the_newest_jobs_first(idle: Server, browser: Any) -> None:
    lines = "\n".join(json.dumps({"delay": 0, "items": 1}) for _ in range(620))
    r = jobtui("--app", "apiapp", "submit", "demo", "--from", "-", db=idle.db, input=lines, timeout=120)
    assert r.returncode == 0, r.stderr
    with idle.client(idle.admin) as c:
        ids = sorted(j["job_id"] for j in c.get("/jobs", params={"limit": 1000}).json()["jobs"])
    assert len(ids) == 620
    page = open_page(browser, idle, idle.admin)
    listed = [int(x) for x in page.eval_on_selector_all("#rows tr", "(trs) => trs.map((tr) => tr.dataset.id)")]
    assert listed == ids[::-1][:500], (listed[:3], listed[-3:])
    page.click("#more")  # the older page, below
    page.wait_for_selector(f"#rows tr[data-id='{ids[0]}']")
    listed = [int(x) for x in page.eval_on_selector_all("#rows tr", "(trs) => trs.map((tr) => tr.dataset.id)")]
    assert listed == ids[::-1] and page.locator("#more").is_hidden()
    newest = submit(idle, type="demo")
    page.wait_for_selector(f"#rows tr:first-child[data-id='{newest}']")  # a new job goes on top, live
    page.keyboard.press("k")  # up from the highlighted job (the newest of the first load) to the one above
    assert page.get_attribute("tr.sel", "data-id") == str(newest)
    page.context.close()


def test_the_api_pages_newest_first_with_next_links(idle: Server) -> None:
    """`GET /jobs?order=desc`: newest first; `next` carries `before_id`, keeps the filters, ends with null."""
    with idle.client(idle.admin) as c:
        made = [c.post("/jobs", json={"type": "demo", "params": {"delay": 0}}).json()["job_id"] for _ in range(5)]
        page = c.get("/jobs", params={"order": "desc", "limit": 2, "type": "demo"}).json()
        seen = [j["job_id"] for j in page["jobs"]]
        assert seen[0] == max(made) and "before_id=" in page["next"] and "type=demo" in page["next"]
        while page["next"]:
            page = c.get(page["next"].removeprefix("/api/v1")).json()
            seen += [j["job_id"] for j in page["jobs"]]
        assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) >= 5
        assert c.get("/jobs", params={"order": "sideways"}).status_code == 422


def test_the_new_job_form_queues_commands_for_an_admin_only(srv: Server, browser: Any, tmp_path: Path) -> None:
    page = open_page(browser, srv, srv.admin)
    page.click("#new-job")
    page.select_option("#new-type", "(command)")
    out = tmp_path / "from the page.txt"
    page.fill("#c-shell", f"echo hello-from-the-page > '{out}'")
    assert not violations(page)
    page.click("#new-submit")
    page.wait_for_selector("#job-info")
    shell_job = int(page.url.rsplit("/", 1)[1])
    page.goto(f"{srv.base}/#")
    page.click("#new-job")
    page.select_option("#new-type", "(foreach)")
    page.fill("#c-argv", f"touch '{tmp_path}/item {{}}'")
    page.fill("#c-items", "a\nb\nc\n")
    page.fill("#c-workers", "2")
    page.click("#new-submit")
    page.wait_for_selector("#job-info")
    each_job = int(page.url.rsplit("/", 1)[1])
    poll(lambda: job(srv, shell_job)["status"] == job(srv, each_job)["status"] == "completed",
         what="the command and the foreach job completing")
    assert out.read_text() == "hello-from-the-page\n"
    assert sorted(p.name for p in tmp_path.glob("item *")) == ["item a", "item b", "item c"]
    page.context.close()
    page = open_page(browser, srv, token(srv.db, "submitter", "submit"))
    page.click("#new-job")
    page.wait_for_selector("#new-dialog[open] #new-params input")
    kinds = page.eval_on_selector_all("#new-type option", "(os) => os.map((o) => o.value)")
    assert "demo" in kinds and not {"(command)", "(foreach)", "command", "pipeline", "foreach"} & set(kinds), kinds
    page.context.close()
