"""What a command stage may say: its spec checked and completed (`normalize_spec`), and foreach's placeholders."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from jobtui import KILL_GRACE_S, check_allow_failures
from jobtui.errors import ParamError

MAX_RETRIES = 1_000
"""The most retries of a stage or item (`--retries`, `retries =`): beyond that is a typo, not a plan."""
MAX_WORKERS = 1_000
"""The most items a foreach runs at once (`--workers`): each is a process."""
_MAX_S = {"timeout": 1000 * 365 * 86_400.0, "retry_base_s": 86_400.0, "kill_grace_s": 3_600.0}
"""The longest value of each duration field in seconds (a thousand years, a day, an hour)."""
PAUSE_MODES = ("freeze", "restart")
PLACEHOLDERS = ("", "name", "stem", "ext", "dir", "index")
"""`{}` the item, `{name}` its base name, `{stem}` without extension, `{ext}` the extension (with
its dot), `{dir}` its folder, `{index}` its position from 0."""
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def placeholders_in(argv: Sequence[str]) -> list[str]:
    """Return the placeholder names used in a command template ('' for `{}`)."""
    return [m.group(1) for a in argv for m in _PLACEHOLDER.finditer(a) if m.group(1) is not None]


def check_template(argv: Sequence[str]) -> None:
    """Refuse unknown placeholders.

    Raises:
        ParamError: a placeholder is not one of {} {name} {stem} {ext} {dir} {index}.
    """
    for name in placeholders_in(argv):
        if name not in PLACEHOLDERS:
            known = " ".join("{" + p + "}" for p in PLACEHOLDERS)
            brace = "{{"
            raise ParamError(f"unknown placeholder {{{name}}} in the command (known: {known}; write {brace} for a brace)")


def substitute(argv: Sequence[str], item: str, index: int) -> list[str]:
    """Return the command for one item: each placeholder replaced inside its own argument, never split.

    The item never passes through a shell: a file named `a; rm -rf x` is one argument.
    """
    return substituter(argv)(item, index)


_PATH_PARTS = frozenset({"name", "stem", "ext", "dir"})


def substituter(argv: Sequence[str]) -> Callable[[str, int], list[str]]:
    """Return `substitute` for one template, its placeholders found once: a foreach stage fills it per item (a
    regular expression and a path per item were ~60 us of the runner's CPU per command, issue 18)."""
    compiled: list[list[str | tuple[str]]] = []
    for arg in argv:
        parts: list[str | tuple[str]] = []
        at = 0
        for m in _PLACEHOLDER.finditer(arg):
            literal = arg[at:m.start()] + (m.group(0)[0] if m.group(1) is None else "")  # {{ is {, }} is }
            if parts and isinstance(parts[-1], str):
                parts[-1] += literal
            elif literal:
                parts.append(literal)
            if m.group(1) is not None:
                parts.append((m.group(1),))
            at = m.end()
        if parts and isinstance(parts[-1], str):
            parts[-1] += arg[at:]
        elif arg[at:] or not parts:
            parts.append(arg[at:])
        compiled.append(parts)
    names = {p[0] for parts in compiled for p in parts if isinstance(p, tuple)}
    by_path = bool(names & _PATH_PARTS)

    def fill(item: str, index: int) -> list[str]:
        values = {"": item, "index": str(index)}
        if by_path:
            p = PurePath(item)
            values.update(name=p.name, stem=p.stem, ext=p.suffix, dir=str(p.parent))
        out = [parts[0] if len(parts) == 1 and isinstance(parts[0], str) else
               "".join(x if isinstance(x, str) else values[x[0]] for x in parts) for parts in compiled]
        if not names:
            out.append(item)  # like xargs and parallel: the item comes last
        return out

    return fill


def _num(spec: Mapping[str, Any], key: str, kind: type, where: str, *, minimum: float = 0,
         maximum: float | None = None) -> Any:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float) and (
            not math.isfinite(value) or (kind is int and not value.is_integer()))):
        raise ParamError(f"{where}: {key} must be a {'whole ' if kind is int else 'finite '}number, got {value!r}")
    if value < minimum:
        raise ParamError(f"{where}: {key} must be at least {minimum:g}, got {value!r}")
    top = _MAX_S[key] if maximum is None else maximum
    if value > top:
        raise ParamError(f"{where}: {key} must be at most {top:g}, got {value!r}")
    return kind(value)


def _no_nul(value: Any, what: str, where: str) -> None:
    """Refuse a NUL character in any text of `value` (no program can be given one; exec fails later)."""
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else [
        t for kv in value.items() for t in kv] if isinstance(value, Mapping) else []
    if any(isinstance(t, str) and "\x00" in t for t in texts):
        raise ParamError(f"{where}: {what} contains a NUL character (\\x00), which no command can be given")


def normalize_spec(raw: Any, where: str, *, foreach: bool = False) -> dict[str, Any]:
    """Return a stage spec checked and with defaults filled in.

    Raises:
        ParamError: a field is missing or of the wrong kind.
    """
    if not isinstance(raw, Mapping):
        raise ParamError(f"{where}: a stage must be a table of name, run, ...")
    known = {"name", "run", "cwd", "env", "timeout_s", "timeout", "retries", "pause", "retry_base_s", "kill_grace_s",
             "items", "workers", "output_limit", "allow_failures"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ParamError(f"{where}: unknown field {unknown[0]!r} (fields: name, run, cwd, env, timeout, retries, pause)")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ParamError(f"{where}: needs a name")
    run = raw.get("run")
    if isinstance(run, str):
        if not run.strip():
            raise ParamError(f"{where}: run is empty")
        if foreach:
            raise ParamError(f"{where}: foreach runs an argv, not a shell line (use: sh -c '...' sh {{}})")
    elif isinstance(run, list) and run and all(isinstance(a, str) for a in run) and run[0]:
        if foreach:
            check_template(run)
    else:
        raise ParamError(f"{where}: run must be a non-empty argv list or a shell string")
    cwd = raw.get("cwd")
    if cwd is not None and (not isinstance(cwd, str) or not cwd):
        raise ParamError(f"{where}: cwd must be a folder path")
    env = raw.get("env") or {}
    if not isinstance(env, Mapping) or not all(isinstance(k, str) and k and "=" not in k for k in env):
        raise ParamError(f"{where}: env must be a table of NAME = \"value\"")
    env = {k: str(v) for k, v in env.items()}
    for value, what in ((name, "name"), (run, "run"), (cwd, "cwd"), (env, "env")):
        _no_nul(value, what, where)
    pause = raw.get("pause", "freeze")
    if pause not in PAUSE_MODES:
        raise ParamError(f"{where}: pause must be \"freeze\" or \"restart\", got {pause!r}")
    timeout = raw.get("timeout_s", raw.get("timeout"))
    spec: dict[str, Any] = {
        "name": name.strip(), "run": run, "cwd": cwd, "env": env,
        "timeout_s": _num({"timeout": timeout}, "timeout", float, where, minimum=0.001),
        "retries": _num(raw, "retries", int, where, maximum=MAX_RETRIES),
        "pause": pause,
        "retry_base_s": _num(raw, "retry_base_s", float, where) or 2.0,
        "kill_grace_s": _num(raw, "kill_grace_s", float, where) if raw.get("kill_grace_s") is not None else KILL_GRACE_S,
    }
    if foreach:
        items = raw.get("items")
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ParamError(f"{where}: items must be a list of strings")
        _no_nul(items, "an item", where)
        spec["items"] = list(dict.fromkeys(items))
        spec["workers"] = _num(raw, "workers", int, where, minimum=1, maximum=MAX_WORKERS) or 1
        try:
            spec["allow_failures"] = check_allow_failures(raw.get("allow_failures"))
        except ValueError as e:
            raise ParamError(f"{where}: {e}") from None
    return spec
