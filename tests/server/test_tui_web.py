"""`jobtui web` (issue 16): the TUI in a real headless Chromium through textual-serve, behind jobtui's guard:
loopback only unless asked (with HTTPS), a token from the printed address turned into a strict cookie, read-only
unless --allow-steer, and no other page (another port of the same host) able to open its websocket."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import cli_env, jobtui, poll
from tests.server.browser import SHOTS, WAIT_MS, hostile_page
from tests.server.conftest import free_port

if os.environ.get("CI") != "true":
    pytest.importorskip("textual_serve")
pytestmark = [pytest.mark.slow]
_URL = re.compile(r"(https?://\S+)/#token=(\S+)")


@dataclass
class Web:
    """A `jobtui web` process, its address and token."""

    proc: subprocess.Popen[str]
    base: str
    token: str
    db: str

    def tabs(self) -> list[str]:
        """Return the command lines of the TUI processes its browser tabs run."""
        out = []
        for d in Path("/proc").iterdir():
            try:
                argv = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            words = [w.decode(errors="replace") for w in argv]
            if "tui" in words and self.db in words:
                out.append(" ".join(words))
        return out


def start(db: str, *args: str, verify: ssl.SSLContext | bool = True) -> Web:
    """Start `jobtui web` on a free port; return once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "jobtui", "--db", db, "web", "--port", str(port), *args],
                            env=cli_env(None), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    m = _URL.search(proc.stdout.readline())
    assert m, proc.stderr.read() if proc.stderr else ""
    web = Web(proc, m[1], m[2], db)

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            return httpx.get(f"{web.base}/static/js/textual.js", timeout=2, verify=verify).status_code == 200
        except httpx.HTTPError:
            return False

    poll(up, what="jobtui web answering")
    return web


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    db = str(tmp_path / "jobs.db")
    r = jobtui("--app", "apiapp", "submit", "demo", "-p", "delay=0", "-p", "items=5", db=db)
    assert r.returncode == 0, r.stderr
    r = jobtui("--app", "apiapp", "run", "--exit-when-idle", db=db)  # a finished job, with items to export
    assert r.returncode == 0, r.stderr
    w = start(db)
    yield w
    w.proc.send_signal(signal.SIGTERM)
    _out, err = w.proc.communicate(timeout=30)
    assert w.proc.returncode == 0, err
    assert "Traceback" not in err, err
    poll(lambda: not w.tabs(), what="every tab's TUI process ending with the server")


def test_it_listens_on_this_machine_only_unless_asked(tmp_path: Path) -> None:
    db = str(tmp_path / "jobs.db")
    for args, says in [(["--host", "0.0.0.0"], "--allow-remote"),
                       (["--host", "0.0.0.0", "--allow-remote"], "needs --certfile/--keyfile"),
                       (["--certfile", "x.pem"], "go together")]:
        r = jobtui("web", *args, db=db)
        assert r.returncode == 2 and says in r.stderr and len(r.stderr.splitlines()) == 1, (args, r.stderr)
    assert not Path(db).exists()


def test_nothing_without_the_token_and_no_other_host_or_origin(web: Web) -> None:
    page = httpx.get(f"{web.base}/")
    assert page.status_code == 200 and 'action="/login"' in page.text and "textual-terminal" not in page.text
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert httpx.get(f"{web.base}/", headers={"Host": "evil.example"}).status_code == 421
    assert httpx.get(f"{web.base}/download/x").status_code == 401
    assert httpx.get(f"{web.base}/ws").status_code == 403  # a websocket must say where it comes from
    assert httpx.get(f"{web.base}/ws", headers={"Origin": web.base}).status_code == 401
    assert httpx.post(f"{web.base}/login", data={"token": web.token}).status_code == 403
    evil = httpx.post(f"{web.base}/login", data={"token": web.token}, headers={"Origin": "http://127.0.0.1:1"})
    assert evil.status_code == 403 and "set-cookie" not in evil.headers
    wrong = httpx.post(f"{web.base}/login", data={"token": "nope"}, headers={"Origin": web.base})
    assert wrong.status_code == 303 and "set-cookie" not in wrong.headers
    assert not web.tabs()


def test_the_tui_in_chromium_read_only_and_no_other_page_can_drive_it(web: Web, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    frames: list[bytes] = []

    def on_socket(ws: Any) -> None:
        ws.on("framereceived", lambda f: frames.append(f if isinstance(f, bytes) else f.encode()))

    page.on("websocket", on_socket)
    page.goto(f"{web.base}/#token={web.token}")
    page.wait_for_selector(".textual-terminal")
    assert page.url == f"{web.base}/", "the token must leave the address bar"
    cookie = {c["name"]: c for c in ctx.cookies()}["jobtui_web"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    poll(lambda: page.evaluate("0") == 0 and b"demo" in b"".join(frames), what="the TUI drawing the job list")
    [tab] = web.tabs()
    assert "--readonly" in tab.split() and "--attach" in tab.split(), tab
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "web-tui.png"))  # README's (with JOBTUI_SCREENSHOTS=1)
    downloads: list[Any] = []
    ctx.on("page", lambda p: p.on("download", lambda d: downloads.append(d)))  # textual-serve opens /download/KEY
    page.on("download", lambda d: downloads.append(d))
    page.click(".textual-terminal")
    page.keyboard.press("e")  # the TUI's export: deliver_text, a download here
    poll(lambda: page.evaluate("0") == 0 and bool(downloads), what="the export's download")
    lines = Path(downloads[0].path()).read_text().splitlines()
    assert downloads[0].suggested_filename == "jobtui-job-1-items.jsonl" and len(lines) >= 5, lines
    with hostile_page(f"""<!doctype html><script>
const ws = new WebSocket("{web.base.replace("http://", "ws://")}/ws?width=80&height=24");
ws.onopen = () => {{ document.title = "open"; }};
ws.onclose = (e) => {{ document.title = "closed " + e.code; }};
</script>""") as evil:
        other = ctx.new_page()  # the same browser, signed in: its cookie would go along
        other.goto(evil)
        other.wait_for_function("document.title.startsWith('closed') || document.title === 'open'")
        assert other.title().startswith("closed"), other.title()
    assert len(web.tabs()) == 1, "the other page's websocket started no TUI"
    ctx.close()
    poll(lambda: not web.tabs(), what="the tab's TUI process ending when the page closes")


def test_https_and_allow_steer(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    ca = ssl.create_default_context(cafile=str(cert))
    w = start(str(tmp_path / "jobs.db"), "--certfile", str(cert), "--keyfile", str(key), "--allow-steer", verify=ca)
    try:
        assert w.base.startswith("https://127.0.0.1:")
        with httpx.Client(verify=ca, headers={"Origin": w.base}) as c:
            r = c.post(f"{w.base}/login", data={"token": w.token}, follow_redirects=False)
            assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
            page = c.get(f"{w.base}/")  # the client keeps the cookie it was given
            assert "textual-terminal" in page.text and "wss://127.0.0.1:" in page.text
            assert "fonts.googleapis.com" not in page.text
    finally:
        w.proc.send_signal(signal.SIGTERM)
        _out, err = w.proc.communicate(timeout=30)
    assert w.proc.returncode == 0, err
    [said] = [line for line in err.splitlines() if "each browser tab runs" in line]
    assert " tui --attach`" in said and "--readonly" not in said.split("`")[1], said
