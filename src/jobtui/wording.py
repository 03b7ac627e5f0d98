"""How jobtui words times and durations for people: pure functions shared by the CLI and the TUI (no I/O)."""

from __future__ import annotations

from datetime import datetime, tzinfo


def duration(ms: int | None) -> str:
    """Format a duration compactly: 850ms, 12s, 3m05s, 2h14m, 3d04h."""
    if ms is None:
        return "-"
    ms = max(0, int(ms))
    if ms < 1000:
        return f"{ms}ms"
    s = ms // 1000
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


def short_duration(ms: int | None) -> str:
    """Format a duration in at most 4 cells: 12s, 3m, 2h, 3d."""
    if ms is None:
        return "-"
    s = max(0, int(ms)) // 1000
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def ago(ms: int | None, now: int) -> str:
    """Format a past moment relative to now: 'now', '12s ago', '3m ago'."""
    if ms is None:
        return "-"
    delta = now - ms
    if delta < 1000:
        return "now"
    return f"{short_duration(delta)} ago"


def until(ms: int | None, now: int) -> str:
    """Format a future moment relative to now: 'in 12s', 'due'."""
    if ms is None:
        return "-"
    delta = ms - now
    if delta <= 0:
        return "due"
    return f"in {duration(delta)}"


def absolute(ms: int | None, tz: tzinfo | None = None, *, date: bool = True) -> str:
    """Format epoch ms as local (or `tz`) wall-clock time: '2025-11-25 14:03:22'."""
    if ms is None:
        return "-"
    dt = datetime.fromtimestamp(ms / 1000, tz=tz) if tz is not None else datetime.fromtimestamp(ms / 1000)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
