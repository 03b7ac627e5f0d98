"""Real headless Chromium (Debian's, driven by Playwright) against a real `jobtui serve` with its runner: the
fixtures and steps the browser tests share (import the fixture `srv` into a test module; `browser` comes from
tests/server/conftest.py)."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import Server, free_port, token

__all__ = ["Server", "token"]

CHROMIUM = "/usr/bin/chromium"
if os.environ.get("CI") != "true":  # in CI a missing browser is a failure (.ci/run installs both), never a skip
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
import playwright.sync_api as playwright  # noqa: E402 - after the skip above

# The page's screenshots go to screenshots/ (README shows them) when JOBTUI_SCREENSHOTS=1, else to a scratch
# folder: a plain test run leaves the work tree as it was.
SHOTS = (Path(__file__).resolve().parents[2] / "screenshots" if os.environ.get("JOBTUI_SCREENSHOTS") == "1"
         else Path(tempfile.gettempdir()) / "jobtui-web-screenshots")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_MS = 30_000


@pytest.fixture(scope="module", name="srv")
def srv_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with a runner for the module."""
    db = tmp_path_factory.mktemp("web") / "jobs.db"
    s = Server(str(db), free_port()).start()
    s.read_admin()
    yield s
    if s.proc is not None and s.proc.poll() is None:
        code, err = s.stop()
        assert code == 0, err


def launch() -> Iterator[Any]:
    """Launch headless Chromium, yield it, close it (a module's browser: tests/server/conftest.py)."""
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def sign_in(page: Any, srv: Server, tok: str) -> None:
    """Sign in the way a person does: open the printed address (token in the fragment), press Sign in."""
    page.goto(f"{srv.base}/#token={tok}")
    page.wait_for_selector("#login-from-link:not([hidden])")
    assert page.url == f"{srv.base}/", "the token must leave the address bar"
    assert page.input_value("#token") == tok
    with page.expect_navigation():
        page.click("#sign-in")


def open_page(browser: Any, srv: Server, tok: str, width: int = 1280, scheme: str = "light") -> Any:
    """Log in the way a person does (the printed URL) and return the page, its list loaded."""
    ctx = browser.new_context(viewport={"width": width, "height": 800}, accept_downloads=True, color_scheme=scheme)
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    sign_in(page, srv, tok)
    assert page.url == f"{srv.base}/", "the token must leave the address bar"
    page.wait_for_selector("body[data-loaded='1']")
    page.wait_for_selector("body[data-live='on']")
    return page


def no_horizontal_scroll(page: Any) -> bool:
    """Tell whether the page fits its viewport's width (nothing to scroll sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def submit(srv: Server, **body: Any) -> int:
    with srv.client(srv.admin) as c:
        r = c.post("/jobs", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["job_id"])


def job(srv: Server, job_id: int) -> dict[str, Any]:
    with srv.client(srv.admin) as c:
        data: dict[str, Any] = c.get(f"/jobs/{job_id}").json()
        return data


@contextmanager
def hostile_page(html: str) -> Iterator[str]:
    """Serve `html` as a page of another origin (this host, another port: same-site); yield its address."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{evil.server_address[1]}/"
    finally:
        evil.shutdown()
        evil.server_close()
