"""A real, badly behaved webhook receiver on 127.0.0.1 (issue 14, item 2): raw sockets, one thread per connection.

Modes:
- `endless`: answers `200 OK` at once, then sends body bytes as fast as the client takes them, up to `cap` bytes.
- `trickle`: sends its status line and endless headers one byte every `every_s` seconds (until the client hangs up).
- `slow`: waits `delay_s` seconds, then answers `200 OK` with an empty body.
Every request is recorded: its Idempotency-Key, when it arrived and when its connection ended.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Seen:
    """One request: which notification, and the time it arrived and its connection ended (monotonic)."""

    key: str
    start: float
    end: float | None = None


@dataclass
class HostileReceiver:
    """Serve one hostile mode on 127.0.0.1 on a free port until close()."""

    mode: str
    cap: int = 256 << 20
    every_s: float = 1.0
    delay_s: float = 5.0
    seen: list[Seen] = field(default_factory=list)
    sent_bytes: int = 0

    def __post_init__(self) -> None:
        owner = self
        self._stop = threading.Event()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Return the URL to POST to."""
        return f"http://127.0.0.1:{self.port}/hook"

    def _handle(self, sock: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(65536)
            if not data:
                return
            head += data
        header, _, body = head.partition(b"\r\n\r\n")
        fields = dict(
            line.split(": ", 1) for line in header.decode("latin-1").split("\r\n")[1:] if ": " in line
        )
        fields = {k.lower(): v for k, v in fields.items()}
        need = int(fields.get("content-length", "0")) - len(body)
        while need > 0:
            data = sock.recv(min(need, 65536))
            if not data:
                return
            need -= len(data)
        seen = Seen(fields.get("idempotency-key", ""), time.monotonic())
        self.seen.append(seen)
        try:
            getattr(self, f"_{self.mode}")(sock)
        except OSError:
            pass  # the client hung up: that is what a bounded client does
        finally:
            seen.end = time.monotonic()

    def _endless(self, sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
        chunk = b"x" * 65536
        while self.sent_bytes < self.cap and not self._stop.is_set():
            sock.sendall(chunk)
            self.sent_bytes += len(chunk)

    def _trickle(self, sock: socket.socket) -> None:
        for b in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: 1\r\n" * 10_000:
            sock.sendall(bytes([b]))
            self.sent_bytes += 1
            if self._stop.wait(self.every_s):
                return

    def _slow(self, sock: socket.socket) -> None:
        if self._stop.wait(self.delay_s):
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self) -> None:
        """Stop serving and end every connection's loop."""
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
