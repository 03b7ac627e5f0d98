"""Who is asking: a Bearer token (or the page's cookie) checked against the database's hashed tokens, and scopes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from ..apimodel import Scope, TokenInfo, hash_token
from ..client import Client
from .problems import Problem

COOKIE = "jobtui_token"
"""The cookie a browser page carries its token in (HttpOnly, SameSite=Strict; set by the page's login)."""
_TOUCH_EVERY_MS = 60_000
"""A token's last use is written at most this often (not on every request)."""


async def get_client(request: Request) -> Client:
    """Return the server's client (one per process, made by `serve` or a test); async: no thread hop per request."""
    client: Client = request.app.state.client
    return client


ClientDep = Annotated[Client, Depends(get_client)]


class TokenCache:
    """Tokens checked lately, by hash, for a few seconds: the database stays the truth (a removed token stops
    working everywhere within `ttl_s`), the cache only spares a query per request."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._seen: dict[str, tuple[float, TokenInfo | None]] = {}
        self._touched: dict[int, int] = {}

    async def check(self, client: Client, token: str) -> TokenInfo | None:
        """Return the stored token `token` is, or None."""
        key = hash_token(token)
        now = time.monotonic()
        hit = self._seen.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        info = await client.authenticate(token)
        if len(self._seen) > 10_000:
            self._seen.clear()  # bounded: wrong tokens sent in bulk must not grow it
        self._seen[key] = (now, info)
        if info is not None:
            at = client.now_ms()
            if at - self._touched.get(info.token_id, 0) >= _TOUCH_EVERY_MS:
                self._touched[info.token_id] = at
                await client.touch_token(info)
        return info


def bearer(request: Request) -> str | None:
    """Return the token a request carries (Authorization: Bearer, else the page's cookie)."""
    header = request.headers.get("authorization")
    if header is not None:
        kind, _, value = header.partition(" ")
        return value.strip() if kind.lower() == "bearer" and value.strip() else None
    return request.cookies.get(COOKIE)


async def current_token(request: Request, client: Client | None = None) -> TokenInfo:
    """Return the request's token, or refuse it (401)."""
    client = client or request.app.state.client
    token = bearer(request)
    challenge = {"WWW-Authenticate": 'Bearer realm="jobtui"'}
    if not token:
        raise Problem(401, "unauthorized", "Authentication required", "send Authorization: Bearer TOKEN",
                      headers=challenge)
    cache: TokenCache = request.app.state.tokens
    info = await cache.check(client, token)
    if info is None:
        raise Problem(401, "unauthorized", "Unknown token", "the token is not valid (removed, or never made)",
                      headers={"WWW-Authenticate": 'Bearer realm="jobtui", error="invalid_token"'})
    request.state.token_name = info.name
    return info


def require(scope: Scope) -> Callable[..., Awaitable[TokenInfo]]:
    """Return a dependency that lets through tokens whose scope includes `scope` (403 otherwise)."""

    async def check(request: Request) -> TokenInfo:
        # One flat dependency (not one on current_token on get_client): each level costs FastAPI a solve per request.
        token = await current_token(request)
        if not token.scope.allows(scope):
            raise Problem(403, "insufficient-scope", "Not allowed for this token",
                          f"this needs a token with scope {scope.value} or more (this one has {token.scope.value})",
                          needed=scope.value)
        return token

    return check


Reader = Annotated[TokenInfo, Depends(require(Scope.READ))]
Steerer = Annotated[TokenInfo, Depends(require(Scope.STEER))]
Submitter = Annotated[TokenInfo, Depends(require(Scope.SUBMIT))]
Admin = Annotated[TokenInfo, Depends(require(Scope.ADMIN))]
