"""What a server is told when it starts: where it listens, which names it answers to, its limits."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..apimodel import EVENTS_KEEP_MS

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
"""Names and addresses of this machine only."""


def is_loopback(host: str) -> bool:
    """Tell whether a bind address or name reaches this machine only."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Settings:
    """A server's options (built by `jobtui serve`, and by tests the same way)."""

    host: str = "127.0.0.1"
    port: int = 8765
    tls: bool = False
    """Served over HTTPS (--certfile/--keyfile)."""
    allowed_hosts: tuple[str, ...] = ()
    """More names the Host header may carry (a proxy's public name); the bound host is always allowed."""
    allowed_origins: tuple[str, ...] = ()
    """More origins browsers may call from (the server's own origins always may)."""
    metrics_public: bool = False
    """Serve /metrics without a token (for a scraper on a private network)."""
    max_json_bytes: int = 1 << 20
    """The largest JSON body accepted (413 beyond)."""
    max_upload_bytes: int = 100 << 20
    """The largest multipart upload accepted (413 beyond)."""
    token_cache_s: float = 2.0
    """How long a checked token is trusted without asking the database again (a removed one stops working within this)."""
    sse_ping_s: float = 15.0
    """Seconds between keep-alive comments on an idle stream."""
    sse_poll_s: float = 0.1
    """How often the event feed reads new events from the database."""
    sse_max_behind: int = 10_000
    """Events a stream may lag behind before it gets a 'reset' event (re-read the list) instead of the backlog."""
    events_keep_s: float = EVENTS_KEEP_MS / 1000
    """Job events older than this are pruned (beyond the newest EVENTS_KEEP)."""

    def host_names(self) -> frozenset[str]:
        """Return the values the Host header may have (lowercase, with and without the port)."""
        names = {self.host.lower(), *(h.lower() for h in self.allowed_hosts)}
        if is_loopback(self.host) or self.host in ("0.0.0.0", "::"):
            names.update(LOOPBACK_NAMES)
        out: set[str] = set()
        for name in names:
            bare = name.strip("[]")
            shown = f"[{bare}]" if ":" in bare else bare
            out.add(f"{shown}:{self.port}")
            if self.port == (443 if self.tls else 80):
                out.add(shown)
        return frozenset(out)

    def origins(self) -> frozenset[str]:
        """Return the origins whose pages may call this server (its own, and the allowed ones)."""
        scheme = "https" if self.tls else "http"
        own = {f"{scheme}://{h}" for h in self.host_names()}
        return frozenset(own | {o.rstrip("/").lower() for o in self.allowed_origins})
