"""Checks on every request before any handler: the Host (DNS rebinding), the Origin (other sites' pages), body size."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .problems import PROBLEM, TYPE_BASE, BodyTooLargeError
from .settings import Settings

Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]


async def _refuse(send: Send, status: int, slug: str, title: str, detail: str) -> None:
    body = json.dumps({"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Refuse a request whose Host is not one of the server's names, whose Origin is another site's, or whose
    body is larger than allowed (multipart uploads have their own, larger limit)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = settings.host_names()
        self.origins = settings.origins()
        self.max_json = settings.max_json_bytes
        self.max_upload = settings.max_upload_bytes

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            await _refuse(send, 421, "unknown-host", "Unknown Host",
                          "this server does not answer to that Host name (DNS rebinding protection)")
            return
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in self.origins:
            await _refuse(send, 403, "cross-origin", "Cross-origin request refused",
                          "pages of other sites may not call this API")
            return
        if scope.get("path", "") == "/healthz":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if headers.get("content-type", "").startswith("multipart/") else self.max_json
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _refuse(send, 413, "too-large", "Request body too large", f"at most {limit} bytes")
            return
        seen = 0
        started = False

        async def counted() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError
            return message

        async def tracked(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLargeError:
            if not started:
                await _refuse(send, 413, "too-large", "Request body too large", f"at most {limit} bytes")
