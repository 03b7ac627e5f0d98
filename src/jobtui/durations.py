"""Durations as people write them ('90s', '5m', '1h30m', '7d'), shared by the CLI and the TUI's forms."""

from __future__ import annotations

import re

from .errors import UsageError

_DURATION = re.compile(r"([0-9]{1,15}(?:\.[0-9]{1,9})?)\s*(ms|s|m|h|d|w)", re.IGNORECASE | re.ASCII)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}

MAX_DURATION_MS = 1000 * 365 * 86_400_000
"""Durations and times are capped at a thousand years: beyond that is a typo, not a plan."""


def parse_duration_ms(text: str) -> int:
    """Parse '90s', '5m', '1h30m', '7d' into milliseconds (at most a thousand years).

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
    if total > MAX_DURATION_MS:
        raise UsageError(f"duration {text!r} is too long (at most 1000 years)")
    return int(total)


__all__ = ["MAX_DURATION_MS", "parse_duration_ms"]
