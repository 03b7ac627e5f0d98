"""The browser page at `/`: static files shipped in the wheel (no build step, nothing fetched from elsewhere),
a strict Content-Security-Policy, and a POST-only login that turns a token into an HttpOnly cookie.

No GET ever logs in: a link (`/?token=` of an older `jobtui serve`, or any page's) could otherwise sign a browser in
as someone else's token (login CSRF). The address `serve` prints carries the token in the fragment (`/#token=`),
which no request sends; the page fills its sign-in form from it and the person presses Sign in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..apimodel import Scope, TokenInfo
from ..model import Action, JobStatus
from ..model.states import ACTION_FROM
from .auth import COOKIE, ClientDep, TokenCache, bearer
from .problems import Problem

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).with_name("static")
FILES = {"app.js": "text/javascript", "api.js": "text/javascript", "view.js": "text/javascript",
         "fleet.js": "text/javascript", "newjob.js": "text/javascript", "app.css": "text/css"}
"""The only files served under /static/ (an allow-list: no path ever reaches the file system)."""
# Referrer-Policy same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the login form.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
NEEDS: dict[str, Scope] = {
    Action.PAUSE.value: Scope.STEER, Action.RESUME.value: Scope.STEER, Action.CANCEL.value: Scope.STEER,
    Action.RETRY.value: Scope.STEER, Action.FAIL.value: Scope.ADMIN, Action.REWIND.value: Scope.ADMIN,
    Action.DELETE.value: Scope.ADMIN, "submit": Scope.SUBMIT, "command": Scope.ADMIN,
    "schedule": Scope.STEER,
}
"""The scope each of the page's buttons needs (the API's own checks stay the guard; this only hides them)."""
GLYPHS: dict[str, str] = {
    "failed": "✗", "waiting_retry": "↻", "pausing": "◐", "cancelling": "◌", "running": "●", "paused": "‖",
    "queued": "○", "blocked": "⧗", "cancelled": "⊘", "completed": "✓",
}
"""The TUI's status glyphs (tui.format.STATUS_LOOK; faces do not import each other, a test keeps them equal)."""


def _boot(info: TokenInfo | None, head: int, secure: bool) -> str:
    """Return what the page starts from: the statuses' looks, where each action applies, what this token may do."""
    data = {
        "me": None if info is None else {"name": info.name, "scope": info.scope.value},
        "can": {} if info is None else {k: info.scope.allows(v) for k, v in NEEDS.items()},
        "glyphs": GLYPHS,
        "order": [s.value for s in JobStatus],
        "actions": {a.value: sorted(s.value for s in ACTION_FROM[a]) for a in Action if a in ACTION_FROM},
        "head": head,
        "secure": secure,
    }
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace("&", "\\u0026")


async def _who(request: Request, client: ClientDep) -> TokenInfo | None:
    token = bearer(request)
    if not token:
        return None
    cache: TokenCache = request.app.state.tokens
    return await cache.check(client, token)


def _login(request: Request, token: str) -> Response:
    out = RedirectResponse("/", status_code=303, headers=HEADERS)
    out.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.app.state.settings.tls,
                   path="/", max_age=30 * 86_400)
    return out


@router.get("/")
async def page(request: Request, client: ClientDep) -> Response:
    """Serve the page (a `?token=` in the address is ignored: only the sign-in form's POST logs in)."""
    info = await _who(request, client)
    _oldest, head = await client.event_bounds()
    html = (STATIC / "index.html").read_text("utf-8").replace("{{BOOT}}", _boot(info, head, request.app.state.settings.tls))
    return HTMLResponse(html, headers=HEADERS)


@router.post("/login")
async def login(request: Request, client: ClientDep, token: Annotated[str, Form(max_length=200)]) -> Response:
    """The page's token form: a valid token becomes the cookie (only the page's own form can log a browser in)."""
    # The Guard refuses another origin's form; one with no Origin at all (browsers always send it on a POST) is
    # refused here, so a login cannot be forged from a context that hides its origin.
    if request.headers.get("origin") is None:
        raise Problem(403, "cross-origin", "Sign-in refused", "sign in from the page's own form")
    if await request.app.state.tokens.check(client, token.strip()) is None:
        return RedirectResponse("/#bad-token", status_code=303, headers=HEADERS)
    return _login(request, token.strip())


@router.post("/logout")
async def logout() -> Response:
    """Forget the cookie."""
    out = RedirectResponse("/", status_code=303, headers=HEADERS)
    out.delete_cookie(COOKIE, path="/")
    return out


@router.get("/static/{name}")
async def static(name: str) -> Response:
    """Serve one of the page's files."""
    kind = FILES.get(name)
    if kind is None:
        raise Problem(404, "not-found", "No such file", "not one of the page's files")
    body = (STATIC / name).read_bytes()
    return Response(body, media_type=kind, headers={**HEADERS, "Cache-Control": "no-cache"})
