"""The config file: `$XDG_CONFIG_HOME/jobtui/config.toml` (or `--config PATH`, `$JOBTUI_CONFIG`), issue 19.

    db = "~/work/jobs.db"          # default database (flag --db, env JOBTUI_DB)
    apps = ["myjobs"]              # job type modules (--app, JOBTUI_APP)
    concurrency = 8                # jobs a runner runs at once (run, serve, the TUI: --concurrency)
    keep = "30d"                   # how long `jobtui run` keeps finished jobs (--keep)
    theme = "light"                # the TUI's theme (--theme)
    bell = false                   # the TUI's bell (--no-bell, JOBTUI_BELL)
    [notify]
    url = "https://hooks.example/jobs"    # --notify-url, JOBTUI_NOTIFY_URL
    cmd = "notify-send jobtui $JOBTUI_STATUS"  # --notify-cmd, JOBTUI_NOTIFY_CMD
    [tui]
    poll_interval = "1s"           # how often the TUI reads the database
    [keys]
    cancel = "x"                   # any TUI action (see `jobtui config keys`), comma-separated keys
    "log.search" = "ctrl+f"

A value given as a flag wins over the environment, which wins over the file, which wins over the default.
Parsed with tomllib; a bad line is one line naming the file, the line and what is wrong (exit 2). Pure: no
jobtui import but errors and durations, so every face may read it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .durations import parse_duration_ms
from .errors import UsageError

Source = str
"""Where a value came from: 'flag', 'env', 'file', 'default'."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting of the file: its key, the flag and variable that override it, its default."""

    key: str
    """As written in the file (`notify.url` is `url` under `[notify]`)."""
    flag: str | None
    env: str | None
    default: Any
    check: Callable[[Any], Any]
    """Validate a value from the file (raises ValueError saying what it expected) and return it as used."""
    help: str


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("expected a non-empty string")
    return v


def _modules(v: Any) -> list[str]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(m, str) and m.strip() for m in v):
        raise ValueError('expected a list of module names, e.g. ["myjobs"]')
    return [m.strip() for m in v]


def _concurrency(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10_000:
        raise ValueError("expected a whole number from 1 to 10000")
    return v


def _keep(v: Any) -> str:
    if v == 0 or (isinstance(v, str) and v.strip().lower() in ("never", "0", "off")):
        return "never"
    if not isinstance(v, str):
        raise ValueError("expected a duration such as '30d', or 'never'")
    try:
        parse_duration_ms(v)
    except UsageError:
        raise ValueError("expected a duration such as '30d', or 'never'") from None
    return v


def _interval(v: Any) -> float:
    """Seconds between the TUI's reads: a number of seconds or a duration, 0.05 s to 60 s."""
    try:
        s = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else parse_duration_ms(str(v)) / 1000
    except UsageError:
        s = -1.0
    if not 0.05 <= s <= 60:
        raise ValueError("expected a duration from 50ms to 60s, e.g. '1s'")
    return s


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("expected true or false")
    return v


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "--db", "JOBTUI_DB", None, _text, "database file or postgresql:// URL"),
    Setting("apps", "--app", "JOBTUI_APP", [], _modules, "modules with job types"),
    Setting("concurrency", "--concurrency", None, 4, _concurrency, "jobs a runner (run, serve, the TUI) runs at once"),
    Setting("keep", "--keep", None, "90d", _keep, "how long `jobtui run` keeps finished jobs"),
    Setting("theme", "--theme", None, None, _text, "the TUI's theme (default: the last one chosen, else dark)"),
    Setting("bell", "--no-bell", "JOBTUI_BELL", True, _bool, "ring the terminal bell when a job ends in the TUI"),
    Setting("notify.url", "--notify-url", "JOBTUI_NOTIFY_URL", None, _text, "POST every job's outcome here"),
    Setting("notify.cmd", "--notify-cmd", "JOBTUI_NOTIFY_CMD", None, _text, "run this shell command on every outcome"),
    Setting("tui.poll_interval", None, None, 0.5, _interval, "how often the TUI reads the database (seconds)"),
)
"""Every setting of the file but the keymap ([keys])."""

BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class Config:
    """A config file as read: its path (None: no file) and its checked values; `keys` is the TUI keymap."""

    path: Path | None
    values: Mapping[str, Any]
    keys: Mapping[str, str]

    def get(self, key: str) -> Any:
        """Return the file's value of `key`, else the default."""
        return self.values.get(key, BY_KEY[key].default)


def default_path() -> Path:
    """Return `$XDG_CONFIG_HOME/jobtui/config.toml` (`~/.config/jobtui/config.toml` when it is unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "jobtui" / "config.toml"


def config_path(flag: str | None) -> tuple[Path, bool]:
    """Return the file to read and whether it was named (--config, $JOBTUI_CONFIG: it must then exist)."""
    named = flag or os.environ.get("JOBTUI_CONFIG")
    return (Path(named).expanduser(), True) if named else (default_path(), False)


def _line_of(text: str, key: str) -> str:
    """Return 'line N: ' for the line that sets `key` (its last part), or '' when it cannot be found."""
    name = key.rsplit(".", 1)[-1]
    pattern = re.compile(rf"""^\s*(?:["']?{re.escape(key)}["']?|["']?{re.escape(name)}["']?)\s*=""")
    for n, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return f"line {n}: "
    return ""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def load(flag: str | None = None) -> Config:
    """Read and check the config file (none at the default place: an empty config).

    Raises:
        UsageError: a named file is missing, or a line is not TOML, not a setting, or not a good value.
    """
    path, named = config_path(flag)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise UsageError(f"config {path}: no such file") from None
        return Config(None, {}, {})
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"config {path}: cannot read it ({getattr(e, 'strerror', None) or e})") from None
    import tomllib  # here: most commands find no config file (start-up, issue 18)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"config {path}: not TOML: {e}") from None
    keys = data.pop("keys", {})
    if not isinstance(keys, dict):
        raise UsageError(f"config {path}: {_line_of(text, 'keys')}[keys] must be a table of action = \"key\"")
    values: dict[str, Any] = {}
    for key, value in _flatten(data).items():
        setting = BY_KEY.get(key)
        if setting is None:
            import difflib

            close = difflib.get_close_matches(key, list(BY_KEY), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (settings: {', '.join(BY_KEY)}, [keys])"
            raise UsageError(f"config {path}: {_line_of(text, key)}unknown setting {key!r}{hint}")
        try:
            values[key] = setting.check(value)
        except ValueError as e:
            raise UsageError(f"config {path}: {_line_of(text, key)}{key} = {value!r}: {e}") from None
    flat = _flatten(keys)
    for action, value in flat.items():
        if not isinstance(value, str) or not value.strip() or " " in value.strip():
            raise UsageError(f"config {path}: {_line_of(text, action)}keys.{action} = {value!r}: expected keys such"
                             " as \"x\", \"ctrl+f\" or \"x,ctrl+x\"")
    return Config(path, values, {a: v.strip() for a, v in flat.items()})


def resolve(setting: Setting, given: Any, config: Config) -> tuple[Any, Source]:
    """Return a setting's effective value and where it came from: the flag, else the env, else the file."""
    if given is not None:
        return given, "flag"
    if setting.env and os.environ.get(setting.env):
        return os.environ[setting.env], "env"
    if setting.key in config.values:
        return config.values[setting.key], "file"
    return setting.default, "default"


__all__ = ["BY_KEY", "SETTINGS", "Config", "Setting", "config_path", "default_path", "load", "resolve"]
