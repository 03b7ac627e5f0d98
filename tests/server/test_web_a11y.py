"""The page's accessibility, checked by axe-core inside the real browser (issue 16): the sign-in form, the list,
a job's page with its alert and actions, and the new-job dialog, in light and dark; no violation is allowed.

axe.min.js comes from the `axe-playwright-python` wheel (a test dependency): nothing is fetched at test time."""

from __future__ import annotations

import os
from importlib.resources import files
from typing import Any

import pytest

from tests.conftest import poll
from tests.server.browser import WAIT_MS, job, sign_in, srv_fixture, submit, token
from tests.server.conftest import Server

if os.environ.get("CI") != "true":  # in CI the package is installed (the test extra), never skipped
    pytest.importorskip("axe_playwright_python")
AXE = (files("axe_playwright_python") / "axe.min.js").read_text("utf-8")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
"""The rule sets run: WCAG 2.0-2.2 A and AA, and axe's best practices."""

__all__ = ["srv_fixture"]  # the module's fixture `srv`


def violations(page: Any) -> list[str]:
    """Run axe-core on the page as it is now; return each violation as one readable line."""
    if not page.evaluate("typeof axe !== 'undefined'"):  # once per document (a view change keeps it: same page)
        page.evaluate(AXE)  # through the DevTools protocol: the page's CSP (no inline script) does not apply to it
    found = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then((r) => r.violations)", TAGS)
    return [f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}: "
            f"{v['nodes'][0]['failureSummary']}" for v in found]


@pytest.mark.slow  # drives Chromium against a real server
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_any_view(srv: Server, browser: Any, scheme: str) -> None:
    paused = submit(srv, type="demo", params={"delay": 0.1, "items": 30, "fail_items": 8})
    done = submit(srv, type="demo", params={"delay": 0, "items": 1})
    running = submit(srv, type="demo", params={"delay": 5, "items": 40})
    poll(lambda: job(srv, paused)["status"] == "paused" and job(srv, done)["status"] == "completed"
         and job(srv, running)["status"] == "running", what="a paused, a completed and a running job")
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    found: dict[str, list[str]] = {}
    page.goto(f"{srv.base}/")
    page.wait_for_selector("#login:not([hidden])")
    found["sign-in"] = violations(page)
    sign_in(page, srv, srv.admin)
    page.wait_for_selector("body[data-loaded='1']")
    page.wait_for_selector("body[data-live='on']")
    page.keyboard.press("j")  # a highlighted row, whose background the badges must still contrast with
    found["list"] = violations(page)
    page.goto(f"{srv.base}/#job/{paused}")
    page.wait_for_selector("#auto-pause")
    page.wait_for_selector("#log li")
    found["job"] = violations(page)
    page.goto(f"{srv.base}/#")
    page.click("#new-job")
    page.wait_for_selector("#new-dialog[open] #new-params input")
    found["new job"] = violations(page)
    ctx.close()
    ctx = browser.new_context(color_scheme=scheme)
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    sign_in(page, srv, token(srv.db, f"viewer-{scheme}", "read"))
    page.goto(f"{srv.base}/#job/{running}")
    page.wait_for_selector("#job-info")
    found["job, read token"] = violations(page)
    ctx.close()
    bad = [f"{view}: {line}" for view, lines in found.items() for line in lines]
    assert not bad, "\n".join(bad)
