"""The environment a runner gives the processes it starts: its own, without the fleet's secrets.

A runner holds credentials it needs itself and its jobs do not: the database password (`PGPASSWORD`,
or a URL with a password in `JOBTUI_DB`)
and the notification defaults (a webhook URL often carries its token). Command jobs
(`ctx.processes.spawn`) and notify commands start with a copy of the runner's environment minus:

* `PGPASSWORD` always (a job that needs one passes it with `--env PGPASSWORD=...`);
* `JOBTUI_DB`, `JOBTUI_NOTIFY_URL`, `JOBTUI_NOTIFY_CMD` when they hold a credential (a password in a
  URL, a secret-looking query value, as `jobtui.redact` sees them); a plain database path stays, so a
  job may still `jobtui submit` follow-up work to the same SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..redaction import has_secret

ALWAYS_REMOVED = ("PGPASSWORD",)
"""Variables no child process gets."""
REMOVED_IF_SECRET = ("JOBTUI_DB", "JOBTUI_NOTIFY_URL", "JOBTUI_NOTIFY_CMD")
"""Variables a child gets only when they carry no credential."""


_LAST: list[tuple[dict[bytes, bytes], dict[str, str]]] = []
"""This process's environment as last read (its raw bytes) and what `child_env()` made of it: built again only when
the environment changed (a command job asks for it per job; decoding every variable and looking for secrets in
the database URL cost ~40 us each time)."""


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return `base` (default: this process's environment) without the variables a job must not inherit."""
    if base is None:
        raw: dict[bytes, bytes] = getattr(os.environ, "_data", None) or {}
        if raw and _LAST and _LAST[0][0] == raw:
            return dict(_LAST[0][1])
        env = _without_secrets(dict(os.environ))
        if raw:
            _LAST[:] = [(dict(raw), env)]
        return dict(env)
    return _without_secrets(dict(base))


def _without_secrets(env: dict[str, str]) -> dict[str, str]:
    """Drop from `env` (in place) the variables a job must not inherit; return it."""
    for name in ALWAYS_REMOVED:
        env.pop(name, None)
    for name in REMOVED_IF_SECRET:
        if name in env and has_secret(env[name]):
            del env[name]
    return env
