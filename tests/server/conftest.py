"""A real `jobtui serve` process on 127.0.0.1 and a free port, driven with httpx (one per test module)."""

from __future__ import annotations

import re
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import cli_env, jobtui, poll

_URL = re.compile(r"[?#]token=(\S+)")


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `jobtui serve` subprocess and how to reach it."""

    db: str
    port: int
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None
    admin: str = ""
    """The admin token `serve` printed (when it made one)."""
    ca: str | None = None
    """The certificate of a server started with --certfile (then the base URL is https)."""

    @property
    def base(self) -> str:
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> Server:
        """Start the server and wait until /healthz answers."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobtui", "--db", self.db, "--app", "apiapp", "serve", "--port", str(self.port),
             *self.args],
            env=cli_env(None, **self.env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.proc.stderr.read() if self.proc.stderr else ''}")
            try:
                return httpx.get(f"{self.base}/healthz", timeout=2, verify=self.verify()).status_code == 200
            except httpx.HTTPError:
                return False

        poll(up, what="the server answering /healthz")
        return self

    def verify(self) -> ssl.SSLContext | bool:
        """Return what httpx verifies the server's certificate with."""
        return ssl.create_default_context(cafile=self.ca) if self.ca else True

    def read_admin(self) -> str:
        """Read the admin token from the URL `serve` prints on its first line."""
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = _URL.search(line)
        assert m, f"no token URL in {line!r}"
        self.admin = m[1]
        return self.admin

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        """Signal the server, wait for it to end; return its exit status and stderr."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        _out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        """Return an httpx client for the API (with a Bearer token when given)."""
        h = dict(headers)
        if token:
            h["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=h, timeout=30, verify=self.verify())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with an in-process runner for a test module; stopped with SIGTERM (it must exit 0)."""
    db = tmp_path_factory.mktemp("serve") / "jobs.db"
    s = Server(str(db), free_port()).start()
    s.read_admin()
    yield s
    code, err = s.stop()
    assert code == 0, err
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module. Not one per session: Playwright's sync API leaves its event loop
    marked running in the thread between calls, and every async test run after it on the same worker failed
    ("Cannot run the event loop while another loop is running"); closed with the module, it leaves none behind."""
    import tests.server.browser as pages  # here: that module skips (fails in CI) where no chromium is installed

    yield from pages.launch()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """The session's Chromium; a test opens its own context (cookies, storage) in it, and any context it leaves
    open (a failed test) is closed after it, so no page of one test lives on into the next."""
    yield chromium
    for ctx in list(chromium.contexts):
        ctx.close()


def token(db: str, name: str, scope: str) -> str:
    """Make a token with the real CLI; it is printed alone on stdout."""
    out = jobtui("--db", db, "token", "add", name, "--scope", scope, db=None)
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"jt_[A-Za-z0-9_-]{43}\n", out.stdout), out.stdout
    return out.stdout.strip()


__all__ = ["Server", "browser", "chromium", "free_port", "server", "token"]
