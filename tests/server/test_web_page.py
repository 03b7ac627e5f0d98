"""The browser page of `jobtui serve`, in real headless Chromium (Debian's, driven by Playwright) against a real
server with its runner: login, the live list, steering, the log, reconnects, downloads, 360 px, scopes, CSRF."""

from __future__ import annotations

import csv
import io
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import jobtui, poll
from tests.server.browser import (
    SHOTS,
    WAIT_MS,
    hostile_page,
    job,
    no_horizontal_scroll,
    open_page,
    srv_fixture,
    submit,
)
from tests.server.conftest import Server, free_port, token

__all__ = ["srv_fixture"]  # the module's fixture `srv`


def badge(page: Any, job_id: int) -> Any:
    return page.locator(f"tr[data-id='{job_id}'] .badge")


def test_glyphs_are_the_tuis() -> None:
    from jobtui.server.web import GLYPHS
    from jobtui.tui.format import STATUS_GLYPH

    assert {str(k): v for k, v in STATUS_GLYPH.items()} == GLYPHS


@pytest.mark.slow  # drives Chromium against a real server
def test_login_sets_a_strict_httponly_cookie_and_asks_without_one(srv: Server, browser: Any) -> None:
    r = httpx.post(f"{srv.base}/login", data={"token": srv.admin}, headers={"Origin": srv.base},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = r = httpx.get(f"{srv.base}/")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    ctx = browser.new_context()
    p = ctx.new_page()
    p.goto(f"{srv.base}/")
    p.fill("#token", "jt_wrong")
    p.click("#sign-in")
    p.wait_for_selector("#login-error:not([hidden])")
    p.fill("#token", srv.admin)
    p.click("#sign-in")
    p.wait_for_selector("body[data-loaded='1']")
    cookies = {c["name"]: c for c in ctx.cookies()}
    assert cookies["jobtui_token"]["httpOnly"] and cookies["jobtui_token"]["sameSite"] == "Strict"
    ctx.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_no_get_logs_in_and_no_other_page_can_sign_a_browser_in(srv: Server, browser: Any) -> None:
    """Login CSRF (issue 16): a link or another site's form must not sign a browser in as someone's token."""
    r = httpx.get(f"{srv.base}/?token={srv.admin}", follow_redirects=False)
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert '"me":null' in r.text
    no_origin = httpx.post(f"{srv.base}/login", data={"token": srv.admin}, follow_redirects=False)
    assert no_origin.status_code == 403 and "set-cookie" not in no_origin.headers
    ctx = browser.new_context()
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{srv.base}/?token={srv.admin}")
    page.wait_for_selector("#login:not([hidden])")
    page.goto(f"{srv.base}/#token={srv.admin}")  # the printed address fills the form, and waits for a person
    page.wait_for_selector("#login-from-link:not([hidden])")
    assert page.url == f"{srv.base}/"
    with hostile_page(f"""<!doctype html><form id=f method=post action="{srv.base}/login">
<input name=token value="{srv.admin}"></form><script>document.getElementById('f').submit()</script>""") as evil:
        with page.expect_response(lambda r: r.url.endswith("/login")) as resp:
            page.goto(evil)
        assert resp.value.status == 403
    assert [c["name"] for c in ctx.cookies()] == []
    ctx.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_list_fills_and_pause_reaches_the_runner(srv: Server, browser: Any) -> None:
    page = open_page(browser, srv, srv.admin)
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    job_id = submit(srv, type="demo", params={"delay": 3, "items": 40})
    badge(page, job_id).wait_for()
    page.wait_for_selector(f"tr[data-id='{job_id}'] [data-status='running']")
    page.click(f"tr[data-id='{job_id}'] a")
    page.wait_for_selector("button[data-action='pause']").click()
    page.wait_for_selector("#job-info [data-status='paused']")
    assert poll(lambda: job(srv, job_id)["status"] == "paused", what="the runner pausing the job")
    assert not page.locator("button[data-action='pause']").count(), "pause is not offered for a paused job"
    page.keyboard.press("Escape")
    page.wait_for_selector(f"tr[data-id='{job_id}'] [data-status='paused']")
    assert all(u.startswith(srv.base) for u in requests), [u for u in requests if not u.startswith(srv.base)]
    page.keyboard.press("r")  # the highlighted job is the one last opened
    page.wait_for_selector(f"tr[data-id='{job_id}'] [data-status='running']")
    page.context.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_log_follows_and_auto_pause_alert(srv: Server, browser: Any) -> None:
    page = open_page(browser, srv, srv.admin)
    job_id = submit(srv, shell="for i in $(seq 1 300); do echo line $i; sleep 0.1; done")
    page.goto(f"{srv.base}/#job/{job_id}")
    page.wait_for_selector("#log li")
    seen = page.locator("#log li").count()
    poll(lambda: page.locator("#log li").count() > seen + 5, what="lines written later arriving")
    page.once("dialog", lambda d: d.accept())
    page.click("button[data-action='cancel']")
    paused = submit(srv, type="demo", params={"delay": 0.2, "items": 30, "fail_items": 8})
    page.goto(f"{srv.base}/#job/{paused}")
    alert = page.wait_for_selector("#auto-pause")
    assert "consecutive errors, job auto-paused" in alert.inner_text()
    assert page.locator("button[data-action='resume']").count() == 1
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "web-job.png"), full_page=True)
    page.context.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_download_of_a_cancelled_job_has_every_committed_item(srv: Server, browser: Any, tmp_path: Path) -> None:
    page = open_page(browser, srv, srv.admin)
    (tmp_path / "in.txt").write_text("".join(f"line{i} a b\n" for i in range(200)))
    with srv.client(srv.admin) as c:
        r = c.post("/jobs", data={"job": '{"type": "analyze", "params": {"delay": 0.05}}'},
                   files={"file": ("in.txt", (tmp_path / "in.txt").read_bytes())})
        job_id = int(r.json()["job_id"])
    poll(lambda: job(srv, job_id)["counters"]["items_done"] >= 5, what="some items committed")
    page.goto(f"{srv.base}/#job/{job_id}")
    page.once("dialog", lambda d: d.accept())
    page.wait_for_selector("button[data-action='cancel']").click()
    page.wait_for_selector("#job-info [data-status='cancelled']")
    done = job(srv, job_id)["counters"]["items_done"]
    with page.expect_download() as dl:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert 0 < done < 200 and len([r for r in rows if r.get("status", "done") == "done"]) == done
    page.context.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_new_job_form_and_keys(srv: Server, browser: Any) -> None:
    page = open_page(browser, srv, srv.admin)
    page.click("#new-job")
    page.select_option("#new-type", "demo")
    page.fill("#p-items", "3")
    page.fill("#p-delay", "0")
    page.click("#new-submit")
    page.wait_for_selector("#job-info")
    job_id = int(page.url.rsplit("/", 1)[1])
    assert job(srv, job_id)["params"]["items"] == 3
    page.keyboard.press("Escape")
    page.wait_for_selector("#list-view:not([hidden])")
    page.keyboard.press("k")
    page.keyboard.press("j")
    assert page.locator("tr.sel").count() == 1
    page.keyboard.press("/")
    page.wait_for_selector("#f-text:focus")  # the page focuses the filter on the next tick (setTimeout)
    page.keyboard.type(f"zzz-no-such-{job_id}")
    assert page.locator("#rows tr:not([hidden])").count() == 0
    page.context.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_phone_width_has_no_horizontal_scroll(srv: Server, browser: Any) -> None:
    job_id = submit(srv, type="demo", params={"delay": 0, "items": 1})
    page = open_page(browser, srv, srv.admin, width=360, scheme="dark")
    assert no_horizontal_scroll(page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "web-phone.png"))
    page.goto(f"{srv.base}/#job/{job_id}")
    page.wait_for_selector("#job-info")
    assert no_horizontal_scroll(page)
    page.context.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_a_read_token_sees_no_buttons(srv: Server, browser: Any) -> None:
    job_id = submit(srv, type="demo", params={"delay": 0, "items": 1})  # its own job: xdist splits the module
    page = open_page(browser, srv, token(srv.db, "viewer", "read"))
    page.goto(f"{srv.base}/#job/{job_id}")
    page.wait_for_selector("#job-info")
    assert page.locator("[data-action]").count() == 0
    assert page.locator("#new-job").is_hidden()
    page.context.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_a_hostile_page_cannot_drive_the_api(srv: Server, browser: Any) -> None:
    page = open_page(browser, srv, srv.admin)  # the victim is logged in: the cookie is in this context
    job_id = submit(srv, type="demo", params={"delay": 3, "items": 40})
    poll(lambda: job(srv, job_id)["status"] == "running", what="the job running")
    pause = f"{srv.base}/api/v1/jobs/{job_id}/pause"
    with hostile_page(f"""<!doctype html><form id=f method=post action="{pause}"></form><script>
fetch("{pause}", {{method: "POST", credentials: "include", mode: "no-cors"}}).finally(() => {{ document.title = "sent"; }});
</script>""") as evil:
        other = page.context.new_page()
        with other.expect_response(lambda r: r.url.endswith("/pause")) as resp:
            other.goto(evil)
        other.wait_for_function("document.title === 'sent'")
        with other.expect_navigation():
            other.evaluate("document.getElementById('f').submit()")
        assert "cross-origin" in other.content()
        assert resp.value.status == 403
    assert job(srv, job_id)["status"] == "running"
    with srv.client(srv.admin) as c:
        assert c.get(f"/jobs/{job_id}/history").json()[-1]["action"] != "pause"
    page.context.close()


@pytest.mark.slow  # drives Chromium against a real server
def test_the_page_reconnects_and_shows_what_it_missed(browser: Any, tmp_path: Path) -> None:
    # A server of its own: it is killed and comes back without a runner, which the module's other tests need.
    srv = Server(str(tmp_path / "jobs.db"), free_port()).start()
    srv.read_admin()
    page = open_page(browser, srv, srv.admin)
    assert srv.proc is not None
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.communicate(timeout=30)  # reaps it and closes its pipes
    page.wait_for_selector("body[data-live='off']")
    assert "disconnected" in page.inner_text("#live")
    out = jobtui("--db", srv.db, "--app", "apiapp", "submit", "demo", db=None)
    assert out.returncode == 0, out.stderr
    missed = int(out.stdout.split()[-1])
    srv.args = ("--attach",)  # no runner: only the replayed event can show the job
    srv.start()
    try:
        page.wait_for_selector("body[data-live='on']")
        page.wait_for_selector(f"tr[data-id='{missed}'] [data-status='queued']")
        page.screenshot(path=str(SHOTS / "web-list.png"))
        page.context.close()
    finally:
        srv.stop()
