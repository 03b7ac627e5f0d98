"""The config file on the command line: applied under the flags and the environment; `jobtui config show|path|keys`."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..config import SETTINGS, Setting, config_path, load, resolve
from ..redaction import redact_command
from .commands import Command, add_global_options, register, table

_DEST = {"db": "db", "apps": "app", "concurrency": "concurrency", "keep": "keep", "theme": "theme",
         "bell": "no_bell", "notify.url": "notify_url", "notify.cmd": "notify_cmd"}
"""The namespace attribute of each setting's flag (tui.poll_interval has none)."""
_FILLED = {"concurrency": ("run", "serve", "tui", "demo"), "keep": ("run",), "theme": ("tui", "demo")}
"""The commands whose flag a setting fills (`queue add --concurrency` is a queue's limit, not this setting)."""
_SECRET = ("db", "notify.url", "notify.cmd")
"""Settings shown redacted (a URL or a command may carry a password)."""


def _given(setting: Setting, a: argparse.Namespace) -> Any:
    """Return the flag's value if this command line gave it (None: not given, or this command has no such flag)."""
    dest = _DEST.get(setting.key)
    if setting.key in _FILLED and (a.command or "tui") not in _FILLED[setting.key]:
        return None
    value = getattr(a, dest, None) if dest else None
    if setting.key == "bell":
        return False if value else None
    return value or None


def apply_config(a: argparse.Namespace) -> None:
    """Fill what the command line left unset from the environment, then the config file, then the defaults.

    The file's database, apps and notification targets are handed on as the environment variables that carry
    them ($JOBTUI_DB, ...) when those are unset, so a background runner or a command job sees the same.
    `a.settings` keeps each setting's (value, source) for `config show`; `a.keymap` and `a.poll_s` go to the TUI.

    Raises:
        UsageError: a bad config file (one line).
    """
    config = load(getattr(a, "config", None))
    sources: dict[str, tuple[Any, str]] = {}
    for setting in SETTINGS:
        value, source = resolve(setting, _given(setting, a), config)
        sources[setting.key] = (value, source)
        if source != "file":
            continue
        if setting.key == "db":
            a.db = value if "://" in value else str(Path(value).expanduser())
        elif setting.key == "apps":
            a.app = list(value)
        elif setting.key == "bell":
            a.no_bell = not value
        elif setting.env:
            os.environ[setting.env] = value  # notify.*: the runner reads them there (and passes them on)
    command = a.command or "tui"
    for key, commands in _FILLED.items():
        if command in commands and getattr(a, key, "absent") is None:
            setattr(a, key, sources[key][0])
    a.settings = sources
    a.config_file = config.path
    a.keymap = dict(config.keys)
    a.poll_s = sources["tui.poll_interval"][0]


def _shown(key: str, value: Any) -> str:
    """Return a setting's value as `config show` prints it (secrets redacted)."""
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return redact_command(str(value)) if key in _SECRET else str(value)


def _args(sp: argparse.ArgumentParser) -> None:
    sub = sp.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="the effective settings and where each came from (flag, env, file, default)")
    show.add_argument("--json", action="store_true", help="a JSON object: setting -> {value, source}")
    path = sub.add_parser("path", help="the config file read (or the one that would be: it need not exist)")
    keys = sub.add_parser("keys", help="every TUI action [keys] can rebind, with its keys")
    for p in (show, path, keys):
        add_global_options(p)


async def cmd_config(a: argparse.Namespace) -> int:
    """Print the effective settings, the file's path, or the TUI's rebindable actions."""
    where = a.config_file or config_path(getattr(a, "config", None))[0]
    if a.config_command == "path":
        print(where)
        return 0
    if a.config_command == "keys":
        from ..tui.launch import key_actions  # the TUI's entry point; Textual loads only here

        rows = [["ACTION", "KEYS", "WHAT"]]
        rows += [[action, a.keymap.get(action, default), what] for action, (default, what) in key_actions().items()]
        print(table(rows))
        return 0
    settings: dict[str, tuple[Any, str]] = a.settings
    shown = {k: {"value": _shown(k, v) if k in _SECRET else v, "source": s} for k, (v, s) in settings.items()}
    shown |= {f"keys.{action}": {"value": keys, "source": "file"} for action, keys in a.keymap.items()}
    if a.json:
        print(json.dumps({"file": str(a.config_file) if a.config_file else None, "settings": shown}, indent=2))
        return 0
    print(f"config file: {a.config_file or f'none ({where} does not exist)'}")
    rows = [["SETTING", "VALUE", "SOURCE"]]
    rows += [[k, _shown(k, v["value"]), str(v["source"])] for k, v in shown.items()]
    print(table(rows))
    return 0


register(Command("config", "the config file: config show (each setting and where it came from), path, keys",
                 raw=cmd_config, args=_args, order=69))
