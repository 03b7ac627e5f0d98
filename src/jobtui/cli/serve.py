"""`jobtui serve` (the HTTP API) and `jobtui token add|ls|rm` (its Bearer tokens, stored hashed)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

from ..client import Client
from ..errors import UsageError
from ..jobs.command_params import parse_size
from ..model import iso
from .commands import Access, add_global_options, command, table
from .parse import MAX_CONCURRENCY, int_arg, seconds_arg
from .runner import log_to_stderr

EXTRA = "pip install 'jobtui[server]'"
_NEEDED = ("fastapi", "uvicorn", "sse_starlette", "multipart", "prometheus_client")


def _serve_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sp.add_argument("--port", type=int_arg("--port", 1, 65535), default=8765, metavar="PORT", help="port (default 8765)")
    sp.add_argument("--attach", action="store_true",
                    help="serve only: `jobtui run` processes run the jobs (default: a runner in this process)")
    sp.add_argument("--concurrency", type=int_arg("--concurrency", 1, MAX_CONCURRENCY), default=None,
                    help="jobs the in-process runner runs at once (default 4)")
    sp.add_argument("--certfile", metavar="PEM", help="serve HTTPS with this certificate (with --keyfile)")
    sp.add_argument("--keyfile", metavar="PEM", help="the certificate's private key")
    sp.add_argument("--insecure-http", action="store_true",
                    help="allow plain HTTP on a non-loopback --host (tokens then cross the network in clear)")
    sp.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                    help="another name clients reach this server by, e.g. behind a proxy (repeatable)")
    sp.add_argument("--allowed-origin", action="append", default=[], metavar="URL",
                    help="another origin whose pages may call the API, e.g. https://ops.example.com (repeatable)")
    sp.add_argument("--metrics-public", action="store_true", help="serve /metrics without a token")
    sp.add_argument("--max-upload", default="100M", metavar="SIZE",
                    help="the largest multipart upload accepted, e.g. 20M (default 100M); larger: 413")
    sp.add_argument("--keepalive", type=seconds_arg("--keepalive", 0.05, 3600), default=15.0, metavar="DURATION",
                    help="time between keep-alive comments on an idle event stream (default 15s)")


def missing_extra() -> str | None:
    """Return the first module of the server extra that is not installed, or None."""
    for name in _NEEDED:
        if importlib.util.find_spec(name) is None:
            return name
    return None


@command("serve", "serve the HTTP API (with a runner in this process unless --attach)", args=_serve_args, order=12,
         source="api")
async def cmd_serve(client: Client, a: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT."""
    if missing_extra() is not None:
        raise UsageError(f"`jobtui serve` needs the server extra: {EXTRA}")
    from ..server.serve import Serving, serve
    from ..server.settings import Settings, is_loopback

    tls = bool(a.certfile or a.keyfile)
    if tls and not (a.certfile and a.keyfile):
        raise UsageError("--certfile and --keyfile go together")
    if not is_loopback(a.host) and not tls and not a.insecure_http:
        raise UsageError(f"--host {a.host} is reachable from other machines: give --certfile/--keyfile for HTTPS,"
                         " or say --insecure-http")
    max_upload = parse_size(a.max_upload)
    if max_upload < 1024:
        raise UsageError(f"--max-upload must be at least 1K, not {a.max_upload!r}")
    settings = Settings(host=a.host, port=a.port, tls=tls, allowed_hosts=tuple(a.allowed_host),
                        allowed_origins=tuple(a.allowed_origin), metrics_public=a.metrics_public,
                        sse_ping_s=a.keepalive, max_upload_bytes=max_upload)
    log_to_stderr()
    scheme = "https" if tls else "http"
    shown_host = f"[{a.host}]" if ":" in a.host else a.host
    base = f"{scheme}://{shown_host}:{a.port}"
    if not await client.tokens():
        try:
            token = await client.add_token("admin", "admin")
        except UsageError:
            token = None  # another server of the fleet, starting at the same time, made it first
        if token is not None:
            print(f"jobtui serve: no token yet; made admin token 'admin' (shown once): {base}/#token={token}",
                  flush=True)
    mode = "attached (jobtui run processes run the jobs)" if a.attach else f"with a runner (concurrency {a.concurrency})"
    print(f"jobtui serve: {base}/api/v1 on {client.location}, {mode}", file=sys.stderr, flush=True)
    code = await serve(client, Serving(settings, attach=a.attach, concurrency=a.concurrency,
                                       certfile=a.certfile, keyfile=a.keyfile))
    print("jobtui serve: stopped", file=sys.stderr, flush=True)
    return code


def _token_args(sp: argparse.ArgumentParser) -> None:
    sub = sp.add_subparsers(dest="token_command", metavar="add|ls|rm", required=True)
    add = sub.add_parser("add", help="make a token and print it once, alone on stdout")
    add.add_argument("name")
    add.add_argument("--scope", default="read", choices=["read", "steer", "submit", "admin"],
                     help="read: read only; steer: + pause/resume/cancel/retry; submit: + new jobs; admin: all")
    ls = sub.add_parser("ls", help="list tokens: name, scope, made, last used (never the token)")
    ls.add_argument("--json", action="store_true")
    rm = sub.add_parser("rm", help="remove a token: every server refuses it within seconds")
    rm.add_argument("name")
    for p in (add, ls, rm):
        add_global_options(p)


def _token_access(a: argparse.Namespace) -> Access:
    """`token add` may create the database; `ls` only reads it, `rm` needs it (neither leaves an empty one)."""
    access: dict[str, Access] = {"add": "create", "ls": "read"}
    return access.get(a.token_command, "write")


@command("token", "API tokens for `jobtui serve`: add NAME [--scope S], ls, rm NAME", args=_token_args, order=13,
         access=_token_access)
async def cmd_token(client: Client, a: argparse.Namespace) -> int:
    """Add, list or remove API tokens."""
    if a.token_command == "add":
        print(await client.add_token(a.name, a.scope))
        return 0
    if a.token_command == "rm":
        await client.remove_token(a.name)
        print(f"removed token {a.name}", file=sys.stderr)
        return 0
    tokens = await client.tokens()
    if a.json:
        print(json.dumps([t.to_dict() for t in tokens], indent=2))
    elif tokens:
        rows = [["NAME", "SCOPE", "MADE", "LAST USED"]]
        rows += [[t.name, t.scope.value, iso(t.created_at_ms) or "", iso(t.last_used_at_ms) or "never"] for t in tokens]
        print(table(rows))
    else:
        print("no tokens (make one: jobtui token add NAME --scope read)", file=sys.stderr)
    return 0
