"""Notification targets as people give them: check a URL or a command, read the runner-wide defaults (pure)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlsplit

from .errors import UsageError
from .model import scrub_urls

ENV_URL = "JOBTUI_NOTIFY_URL"
"""A runner's default URL for jobs that name no target of their own."""
ENV_CMD = "JOBTUI_NOTIFY_CMD"
"""A runner's default command for jobs that name no target of their own."""


def check_url(url: str) -> str:
    """Return `url` if it is an http(s) URL with a host; an unreachable one is fine.

    Raises:
        UsageError: another scheme, or not a URL.
    """
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url.strip()):
        # urlsplit drops tabs and line breaks silently, but the URL would be stored and used with them.
        raise UsageError(f"bad notify URL {scrub_urls(url)!r}: it contains a space or a control character")
    try:
        parsed = urlsplit(url.strip())
        host = parsed.hostname
        _ = parsed.port  # a bad port raises here
    except ValueError as e:
        raise UsageError(f"bad notify URL {scrub_urls(url)!r} ({e})") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise UsageError(f"bad notify URL {scrub_urls(url)!r}: only http:// and https:// URLs with a host")
    return url


def check_cmd(cmd: str) -> str:
    """Return `cmd` if it is a non-empty shell command.

    Raises:
        UsageError: empty.
    """
    if not cmd.strip():
        raise UsageError("--notify-cmd: empty command")
    return cmd


def targets(urls: Sequence[str] = (), cmds: Sequence[str] = ()) -> tuple[tuple[str, str], ...]:
    """Return checked (kind, target) pairs for URLs and commands.

    Raises:
        UsageError: a bad URL scheme or an empty command.
    """
    return tuple([("url", check_url(u)) for u in urls] + [("cmd", check_cmd(c)) for c in cmds])


def defaults_from_env(env: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """Return the runner-wide default targets from $JOBTUI_NOTIFY_URL and $JOBTUI_NOTIFY_CMD."""
    env = dict(os.environ) if env is None else env
    urls = [env[ENV_URL]] if env.get(ENV_URL) else []
    cmds = [env[ENV_CMD]] if env.get(ENV_CMD) else []
    return targets(urls, cmds)
