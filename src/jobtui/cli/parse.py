"""Parse what people type: durations, times, job ids, key=value params, status lists (pure, no I/O but files)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model import JobId, JobStatus, now_ms

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration_ms(text: str) -> int:
    """Parse '90s', '5m', '1h30m', '7d' into milliseconds.

    Raises:
        UsageError: not a duration.
    """
    t = text.strip().lower().replace(" ", "")
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    if not t or pos != len(t):
        raise UsageError(f"bad duration {text!r} (examples: 90s, 5m, 1h30m, 7d)")
    return int(total)


def parse_time_ms(text: str, now: int | None = None) -> int:
    """Parse 'now', '+10m', 'in 2h' or an ISO 8601 date/time (local time unless it says otherwise).

    Raises:
        UsageError: not a time.
    """
    now = now_ms() if now is None else now
    t = text.strip()
    if t.lower() == "now":
        return now
    if t.startswith("+") or t.lower().startswith("in "):
        return now + parse_duration_ms(t.lstrip("+")[3:] if t.lower().startswith("in ") else t[1:])
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        try:
            dt = datetime.combine(datetime.now().date(), datetime.strptime(t, "%H:%M").time())
        except ValueError:
            raise UsageError(f"bad time {text!r} (examples: +10m, 'in 2h', 2026-12-01T09:00, 14:30)") from None
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return int(dt.timestamp() * 1000)


def parse_id(text: str) -> JobId:
    """Parse a job id.

    Raises:
        UsageError: not a positive whole number.
    """
    t = text.strip().lstrip("#")
    if not t.isdigit() or int(t) <= 0:
        raise UsageError(f"bad job id {text!r} (job ids are positive whole numbers, as `jobtui ls` shows)")
    return int(t)


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
