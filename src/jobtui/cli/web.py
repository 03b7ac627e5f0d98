"""`jobtui web`: the TUI in a browser (textual-serve), on this machine only unless asked, behind a token."""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import shlex
import sys

from ..errors import UsageError
from .commands import Command, register
from .parse import int_arg
from .runner import log_to_stderr

EXTRA = "pip install 'jobtui[web]'"


def _web_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sp.add_argument("--port", type=int_arg("--port", 1, 65535), default=8766, help="port (default 8766)")
    sp.add_argument("--allow-steer", action="store_true",
                    help="let the browser's TUI pause, resume, cancel... (default: --readonly, it only shows)")
    sp.add_argument("--allow-remote", action="store_true",
                    help="allow a --host other machines reach (needs --certfile/--keyfile: the token crosses the network)")
    sp.add_argument("--certfile", metavar="PEM", help="serve HTTPS with this certificate (with --keyfile)")
    sp.add_argument("--keyfile", metavar="PEM", help="the certificate's private key")


def tui_command(a: argparse.Namespace) -> str:
    """Return the shell command each browser tab runs: this jobtui's TUI on the same database, attached."""
    argv = [sys.executable, "-m", "jobtui"]
    if a.db:
        argv += ["--db", a.db if "://" in a.db else os.path.abspath(a.db)]
    for app in a.app or ():
        argv += ["--app", app]
    if getattr(a, "workspace_root", None):
        argv += ["--workspace-root", a.workspace_root]
    argv += ["tui", "--attach"]  # the jobs run in `jobtui run` or `jobtui serve`, not in each tab's process
    if not a.allow_steer:
        argv.append("--readonly")
    return shlex.join(argv)


async def cmd_web(a: argparse.Namespace) -> int:
    """Serve the TUI to browsers until SIGINT/SIGTERM."""
    from ..server.settings import is_loopback

    if importlib.util.find_spec("textual_serve") is None:
        raise UsageError(f"`jobtui web` needs the web extra: {EXTRA}")
    if bool(a.certfile) != bool(a.keyfile):
        raise UsageError("--certfile and --keyfile go together")
    if not is_loopback(a.host):
        if not a.allow_remote:
            raise UsageError(f"--host {a.host} is reachable from other machines: say --allow-remote (with HTTPS)")
        if not a.certfile:
            raise UsageError(f"--host {a.host} with --allow-remote needs --certfile/--keyfile (HTTPS)")
    from ..server.tui_web import GuardedServer, WebTui

    how = WebTui(tui_command(a), a.host, a.port, secrets.token_urlsafe(32), a.certfile, a.keyfile)
    log_to_stderr()
    print(f"jobtui web: open {how.url}/#token={how.token} (the token is made anew each start)", flush=True)
    mode = "steering allowed" if a.allow_steer else "read-only (--allow-steer to steer)"
    print(f"jobtui web: each browser tab runs `{how.command}`; {mode}", file=sys.stderr, flush=True)
    await GuardedServer(how).run()
    print("jobtui web: stopped", file=sys.stderr, flush=True)
    return 0


register(Command("web", "serve the TUI to a browser (this machine only, behind a token)", raw=cmd_web, args=_web_args,
                 order=13, source="web"))
