"""A real HTTP server on 127.0.0.1 that records every POST (for the notification tests)."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as the server saw it, and what it answered."""

    body: dict[str, Any]
    headers: dict[str, str]
    answered: int


@dataclass
class NotifyServer:
    """Answer `fail_first` requests with 503, then 200; keep every request."""

    port: int = 0
    fail_first: int = 0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                code = 503 if owner.fail_first > 0 else 200
                owner.fail_first -= 1
                owner.received.append(Received(body, dict(self.headers.items()), code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Return the URL to POST to (with a secret in its query, which must never be shown)."""
        return f"http://127.0.0.1:{self.port}/hook?token=s3cret-token"

    def ok(self) -> list[Received]:
        """Return the requests answered 200."""
        return [r for r in self.received if r.answered == 200]

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    """Return a port on 127.0.0.1 nothing listens on (for now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
