"""`jobtui web`: the TUI in a browser through textual-serve, made safe.

textual-serve alone answers anyone who reaches its port and lets any page open its websocket (one TUI process
per connection, with the user's keys). Here every request passes a guard first:

* the Host must be one of this server's names (DNS rebinding), and an Origin, when sent, this server's own;
  the websocket and every POST must carry one (a page of another port of the same host is same-site, so the
  SameSite cookie alone would not stop it from driving the TUI);
* a random token, made at start and printed once as `URL/#token=...` (the fragment never reaches a server):
  the sign-in page posts it and gets an HttpOnly, SameSite=Strict cookie; without it only that page is served;
* no page may frame it (keys typed into a hidden frame), and nothing is fetched from elsewhere.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from textual_serve.server import Server

from .settings import LOOPBACK_NAMES, is_loopback

log = logging.getLogger("jobtui.server.web_tui")

COOKIE = "jobtui_web"
"""The cookie the browser carries the token in."""
_OPEN = ("/static/", "/sign-in.js")
"""Paths served without the token: textual-serve's script, styles and fonts, and the sign-in page's script."""
_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store"}
_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self' ws: wss:; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'")
"""textual-serve's page has inline scripts and styles; still nothing from another site, and no framing."""
_FONTS = '<link\n      rel="stylesheet"\n      href="https://fonts.googleapis.com/css?family=Roboto%20Mono"\n    />'
"""textual-serve's page asks Google for a font it also ships: the link is taken out (nothing from elsewhere)."""
_SIGN_IN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>jobtui web: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><script src="/sign-in.js" defer></script></head>
<body><main><h1>jobtui web</h1><p id="bad" hidden>That token is not this server's.</p>
<form method="post" action="/login"><label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" required maxlength="200">
<button type="submit" id="sign-in">Sign in</button></form>
<p>Open the address <code>jobtui web</code> printed.</p></main></body></html>"""
_SIGN_IN_JS = """// The printed address carries the token in the fragment: take it out of the address bar and sign in with it.
const m = location.hash.match(/^#token=([^&]+)$/);
document.getElementById("bad").hidden = location.hash !== "#bad-token";
if (m) {
  history.replaceState(null, "", location.pathname);
  document.getElementById("token").value = decodeURIComponent(m[1]);
  document.querySelector("form").submit();
}
"""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class WebTui:
    """How `jobtui web` serves: the TUI's command line, where it listens, its token and certificate."""

    command: str
    host: str
    port: int
    token: str
    certfile: str | None = None
    keyfile: str | None = None

    @property
    def tls(self) -> bool:
        """Served over HTTPS."""
        return self.certfile is not None

    @property
    def url(self) -> str:
        """The address to open (without the token)."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{shown}:{self.port}"

    def hosts(self) -> frozenset[str]:
        """Return the values the Host header may have."""
        names = {self.host.lower()}
        if is_loopback(self.host):
            names.update(LOOPBACK_NAMES)
        return frozenset(f"[{n}]:{self.port}" if ":" in n else f"{n}:{self.port}" for n in names)

    def origins(self) -> frozenset[str]:
        """Return the origins the server's own pages have."""
        return frozenset(f"{'https' if self.tls else 'http'}://{h}" for h in self.hosts())


class GuardedServer(Server):
    """textual-serve's server behind the guard (Host, Origin, token) and without anything fetched from elsewhere."""

    def __init__(self, how: WebTui) -> None:
        super().__init__(how.command, host=how.host, port=how.port, title="jobtui", public_url=how.url)
        self.how = how
        self._hosts = how.hosts()
        self._origins = how.origins()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        app.router.add_post("/login", self._login)
        app.router.add_get("/sign-in.js", self._sign_in_js)
        return app

    def _signed_in(self, request: web.Request) -> bool:
        given = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(given.encode(), self.how.token.encode())

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Host", "").lower() not in self._hosts:
            return web.Response(status=421, text="unknown Host (DNS rebinding protection)\n")
        origin = request.headers.get("Origin")
        needs_origin = request.method == "POST" or request.path == "/ws"
        if (origin is None and needs_origin) or (origin is not None and origin.rstrip("/").lower() not in self._origins):
            log.warning("refused %s %s from origin %s", request.method, request.path, origin)
            return web.Response(status=403, text="pages of other sites may not use this server\n")
        if request.path.startswith(_OPEN) or (request.path == "/login" and request.method == "POST"):
            return _secure(await handler(request))
        if not self._signed_in(request):
            if request.path == "/" and request.method == "GET":
                return _secure(web.Response(text=_SIGN_IN, content_type="text/html"))
            return web.Response(status=401, text="sign in first: open the address `jobtui web` printed\n")
        response = await handler(request)
        if request.path == "/" and isinstance(response, web.Response) and not response.prepared and response.text:
            response.text = response.text.replace(_FONTS, "")
        return _secure(response)

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token = str(form.get("token", "")).strip()
        if not hmac.compare_digest(token.encode(), self.how.token.encode()):
            raise web.HTTPSeeOther("/#bad-token")
        response = web.HTTPSeeOther("/")
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=self.how.tls, path="/")
        return response

    async def _sign_in_js(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=_SIGN_IN_JS, content_type="text/javascript")

    async def on_startup(self, app: web.Application) -> None:
        """Say nothing (textual-serve prints a logo): `jobtui web` printed the address already."""

    def initialize_logging(self) -> None:
        """Keep jobtui's logging (textual-serve would install its own handler)."""

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM; each browser tab's TUI process is ended on the way out."""
        context = None
        if self.how.certfile is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.how.certfile, self.how.keyfile)
        runner = web.AppRunner(await self._make_app(), access_log=None, shutdown_timeout=5)
        await runner.setup()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await web.TCPSite(runner, self.how.host, self.how.port, ssl_context=context).start()
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await runner.cleanup()


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    if response.prepared:  # a websocket or a download: its headers are sent already
        return response
    response.headers.update(_HEADERS)
    response.headers["Content-Security-Policy"] = _CSP
    return response


__all__ = ["COOKIE", "GuardedServer", "WebTui"]
