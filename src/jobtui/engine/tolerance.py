"""How many failed items a stage accepts (`ctx.items(..., allow_failures=...)`, `foreach --allow-failures`).

A stage whose items fail for good beyond what it accepts fails with `ItemsFailedError` ("2 of 4 items
failed"), so that its job never reads as a success; within the limit it completes and says what it
tolerated.
"""

from __future__ import annotations

import math
import re

from ..errors import ItemsFailedError

AllowFailures = int | str | None
"""None or 0: no failure is accepted; N: up to N items; "P%": up to P percent of the items (rounded down)."""

_SPEC = re.compile(r"(\d{1,18})(\.\d{1,6})?(%?)", re.ASCII)


def check_allow_failures(spec: object) -> AllowFailures:
    """Return `spec` as an accepted limit (an int, or a string 'N' / 'P%'); raise ValueError if it is not one."""
    if spec is None:
        return None
    if isinstance(spec, bool):
        raise ValueError("allow_failures must be a whole number of items or a percentage such as '10%'")
    if isinstance(spec, int):
        if spec < 0:
            raise ValueError(f"allow_failures must be 0 or more, not {spec}")
        return spec
    if isinstance(spec, str):
        m = _SPEC.fullmatch(spec.strip())
        if m is not None and (m.group(3) or not m.group(2)):
            if not m.group(3):
                return int(m.group(1))
            if float(m.group(1) + (m.group(2) or "")) <= 100:
                return spec.strip()
    raise ValueError(f"allow_failures must be a whole number of items or a percentage from 0% to 100%, not {spec!r}")


def allowed(spec: AllowFailures, total: int) -> int:
    """Return how many of `total` items may fail for good under `spec`."""
    if spec is None:
        return 0
    if isinstance(spec, int):
        return spec
    if spec.endswith("%"):
        return math.floor(total * float(spec[:-1]) / 100 + 1e-9)
    return int(spec)


def describe_limit(spec: AllowFailures) -> str:
    """Return the limit as a person wrote it: '50%' or '2'."""
    return "0" if spec is None else str(spec)


def verdict(failed: int, total: int, spec: AllowFailures, first_error: str | None) -> str | None:
    """Raise ItemsFailedError when more than `spec` allows failed; return a note of what was tolerated, or None."""
    if failed == 0:
        return None
    if failed > allowed(spec, total):
        detail = f"first: {first_error}" if first_error else ""
        if spec:
            detail = f"allowed: {describe_limit(spec)}" + (f"; {detail}" if detail else "")
        raise ItemsFailedError(failed, total, detail)
    return f"tolerated: {failed} of {total} items failed (allowed: {describe_limit(spec)})"
