"""POST one notification to a receiver, bounded in time and memory whatever the receiver does.

A receiver is someone else's server: it may answer with an endless body, trickle a byte every few
seconds, or never answer. So one try has one wall-clock limit (connect, send, status line, headers and
what is read of the body, all together: httpx's own timeouts are per operation, and a byte every 5 s
satisfies each of them), and at most `REPLY_BYTES` of the reply are read, streamed, before the
connection is closed: the status decides, the body is never kept.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import TransientError

if TYPE_CHECKING:
    import httpx

REPLY_BYTES = 4096
"""At most this much of a receiver's reply is read; the rest is never received."""


class ReceiverTimeoutError(TransientError):
    """A receiver did not give a complete answer within one try's time limit."""


def host_of(url: str) -> str:
    """Return the host and port a URL delivers to (`host:port`, lower case), for fairness between receivers."""
    try:
        parts = urlsplit(url)
        return f"{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    except ValueError:
        return ""


async def post_bounded(client: httpx.AsyncClient, url: str, body: str, headers: dict[str, str],
                       timeout_s: float) -> int:
    """POST `body`; read at most REPLY_BYTES of the reply; return the status; all within `timeout_s`.

    Raises:
        httpx.HTTPStatusError: the receiver answered with a status other than 2xx.
        ReceiverTimeoutError: no status, headers and (bounded) body within `timeout_s`.
        httpx.TransportError: the connection failed.
    """
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                seen = 0
                async for chunk in response.aiter_raw():
                    seen += len(chunk)
                    if seen >= REPLY_BYTES:
                        break  # leaving the block closes the connection: the rest is never read
                response.raise_for_status()
                return response.status_code
    except TimeoutError:
        raise ReceiverTimeoutError(f"no complete answer within {timeout_s:g}s") from None
