"""Parse what people type: durations, times, job ids, key=value params, status lists (pure, no I/O but files)."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..durations import parse_duration_ms as parse_duration_ms  # re-exported: the CLI parses every duration here
from ..errors import UsageError
from ..model import JobId, JobStatus, now_ms
from ..wording import ago

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)

MAX_INT = 2**63 - 1
"""The largest integer SQLite stores (and so the largest id, count or limit jobtui takes)."""
MAX_TIME_MS = 253402300799999
"""9999-12-31T23:59:59.999Z, the last moment ISO 8601 dates (and `show`) can write."""
MAX_CONCURRENCY = 10_000
"""The most jobs one runner runs at once."""
MAX_WAIT_S = 1e9
"""The longest `--timeout` in seconds (about 31 years); nan and inf are refused."""
MAX_JSON_DEPTH = 64
"""Params nested deeper than this are refused (a stack overflow is not an error message)."""


def parse_int(text: str, *, what: str, lo: int = -MAX_INT, hi: int = MAX_INT) -> int:
    """Parse a whole number in ASCII digits (`int()` also takes '٣'), within lo..hi.

    Raises:
        UsageError: not a whole number, or out of range.
    """
    t = text.strip()
    if not _INT.fullmatch(t):
        raise UsageError(f"bad {what} {text!r} (expected a whole number from {lo} to {hi})")
    digits = t.lstrip("+-").lstrip("0")
    # int() of thousands of digits is slow or refused (sys.int_max_str_digits): compare lengths first.
    n = int(t) if len(digits) <= 19 else (hi + 1 if not t.startswith("-") else lo - 1)
    if n < lo:
        raise UsageError(f"{what} must be 0 or more (got {t})" if lo == 0 else f"{what} must be at least {lo} (got {t})")
    if n > hi:
        raise UsageError(f"{what} must be at most {hi} (got {t})")
    return n


def parse_float(text: str, *, what: str, lo: float, hi: float) -> float:
    """Parse a finite number (no nan, no inf) within lo..hi.

    Raises:
        UsageError: not a number, or out of range.
    """
    t = text.strip()
    try:
        if not t.isascii():
            raise ValueError(t)
        x = float(t)
    except ValueError:
        raise UsageError(f"bad {what} {text!r} (expected a number from {lo:g} to {hi:g})") from None
    if not math.isfinite(x):
        raise UsageError(f"{what} must be a finite number (got {t})")
    if x < lo:
        raise UsageError(f"{what} must be 0 or more (got {t})" if lo == 0 else f"{what} must be at least {lo:g} (got {t})")
    if x > hi:
        raise UsageError(f"{what} must be at most {hi:g} (got {t})")
    return x


def int_arg(what: str, lo: int = -MAX_INT, hi: int = MAX_INT) -> Callable[[str], int]:
    """Return an argparse `type=` for a bounded whole number (its errors are one line, exit 2)."""

    def convert(text: str) -> int:
        try:
            return parse_int(text, what=what, lo=lo, hi=hi)
        except UsageError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = what  # argparse names the type in its message
    convert.metavar = "N"  # type: ignore[attr-defined]  # the help's name for a whole number (see helptext.py)
    return convert


_UNIT = re.compile(r"[0-9.]\s*(ms|s|m|h|d|w)\s*$", re.IGNORECASE | re.ASCII)


def parse_seconds(text: str, *, what: str, lo: float, hi: float) -> float:
    """Parse a duration in seconds: a plain number (`90`, `0.5`) or a duration (`90s`, `5m`, `1h30m`), within lo..hi.

    Raises:
        UsageError: neither, or out of range.
    """
    if not _UNIT.search(text):
        return parse_float(text, what=what, lo=lo, hi=hi)
    x = parse_duration_ms(text) / 1000
    if x < lo:
        raise UsageError(f"{what} must be at least {lo:g}s (got {text.strip()})")
    if x > hi:
        raise UsageError(f"{what} must be at most {hi:g}s (got {text.strip()})")
    return x


def seconds_arg(what: str, lo: float, hi: float) -> Callable[[str], float]:
    """Return an argparse `type=` for a DURATION given as seconds or as 90s, 5m, 2h (in seconds)."""

    def convert(text: str) -> float:
        try:
            return parse_seconds(text, what=what, lo=lo, hi=hi)
        except UsageError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = what
    convert.metavar = "DURATION"  # type: ignore[attr-defined]
    return convert


def float_arg(what: str, lo: float, hi: float) -> Callable[[str], float]:
    """Return an argparse `type=` for a bounded finite number."""

    def convert(text: str) -> float:
        try:
            return parse_float(text, what=what, lo=lo, hi=hi)
        except UsageError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = what
    return convert


def parse_time_ms(text: str, now: int | None = None) -> int:
    """Parse 'now', '+10m', 'in 2h' or an ISO 8601 date/time (local time unless it says otherwise).

    Raises:
        UsageError: not a time, or before 1970 or after 9999.
    """
    now = now_ms() if now is None else now
    t = text.strip()
    if t.lower() == "now":
        return now
    if t.startswith("+") or t.lower().startswith("in "):
        ms = now + parse_duration_ms(t[3:] if t.lower().startswith("in ") else t[1:])
    else:
        try:
            if not t.isascii():
                raise ValueError(t)
            try:
                dt = datetime.fromisoformat(t)
            except ValueError:
                # A bare HH:MM is the next such time: '08:00' at 09:14 is tomorrow's (issue 15, item 12).
                today = datetime.fromtimestamp(now / 1000)
                dt = datetime.combine(today.date(), datetime.strptime(t, "%H:%M").time())
                if dt.timestamp() * 1000 <= now:
                    dt += timedelta(days=1)
        except ValueError:
            raise UsageError(f"bad time {text!r} (examples: +10m, 'in 2h', 2026-12-01T09:00, 14:30)") from None
        try:
            if dt.tzinfo is None:
                dt = dt.astimezone()
            ms = int(dt.timestamp() * 1000)
        except (ValueError, OverflowError, OSError):
            ms = -1  # before the epoch or past what the platform's time functions take
    if not 0 <= ms <= MAX_TIME_MS:
        raise UsageError(f"time {text!r} is out of range (1970 to 9999)")
    return ms


def parse_run_at(text: str | None, now: int | None = None) -> int | None:
    """Parse `--at` of submit, add and foreach: None when not given; a time in the past warns on stderr and means now.

    Refusing would break scripts that compute times; say it instead (README, "The command line").
    """
    if not text:
        return None
    now = now_ms() if now is None else now
    run_at = parse_time_ms(text, now)
    if run_at < now - 1000:
        print(f"jobtui: warning: --at {text} is in the past ({ago(run_at, now)}): the job runs now", file=sys.stderr)
        return None
    return run_at


def parse_id(text: str) -> JobId:
    """Parse a job id (ASCII digits, optionally after '#').

    Raises:
        UsageError: not a positive whole number that fits a job id.
    """
    t = text.strip().removeprefix("#")
    if not (t.isascii() and t.isdigit()) or len(t.lstrip("0")) > 19 or not 0 < int(t) <= MAX_INT:
        raise UsageError(f"bad job id {text!r} (job ids are positive whole numbers, as `jobtui ls` shows)")
    return int(t)


def load_json(text: str, what: str) -> Any:
    """Parse JSON from a person, refusing what cannot be stored: NaN, nesting past MAX_JSON_DEPTH.

    Raises:
        UsageError: not valid JSON, or nested too deeply.
    """
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise UsageError(f"{what} is not valid JSON ({e.msg} at char {e.pos})") from None
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels)") from None
    except ValueError as e:
        raise UsageError(f"{what}: {e}") from None
    check_depth(value, what)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_depth(value: Any, what: str) -> None:
    """Raise UsageError when lists/objects nest deeper than MAX_JSON_DEPTH (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise UsageError(f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels)")
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))


def params_of(a: argparse.Namespace) -> dict[str, Any]:
    """Return a job's params from `--params-json` and then `-p k=v` (which win), checked as load_json checks.

    Raises:
        UsageError: bad JSON, not an object, or a bad `-p`.
    """
    out: dict[str, Any] = {}
    if a.params_json:
        loaded = load_json(a.params_json, "--params-json")
        if not isinstance(loaded, dict):
            raise UsageError("--params-json must be a JSON object")
        out.update(loaded)
    out.update(parse_kv(a.param or []))
    return out


def parse_kv(pairs: Sequence[str]) -> dict[str, Any]:
    """Parse `key=value` params (values stay text; the job type's params convert them)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad param {pair!r} (expected key=value)")
        out[key.strip()] = value
    return out


def parse_statuses(values: Sequence[str] | None) -> list[str] | None:
    """Parse repeated or comma-separated job statuses (None: no filter)."""
    if not values:
        return None
    out = []
    for v in values:
        for s in v.split(","):
            s = s.strip().lower()
            if s not in JobStatus.__members__.values():
                raise UsageError(f"bad status {s!r} (one of: {', '.join(x.value for x in JobStatus)})")
            out.append(s)
    return out


def read_text(path: str) -> str:
    """Return a text file's contents, or raise UsageError with the reason."""
    try:
        return Path(path).read_text()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a UTF-8 text file") from None
