"""Why a job was paused: the words stored in `pause_reason` and shown, spelled once."""

from __future__ import annotations

PAUSED_BY_REQUEST = "paused by request"
"""The pause reason of a job a person (or a request through the client) paused."""
AUTO_PAUSED = "auto-paused"
"""How the pause reason of a job paused after too many consecutive item failures begins."""


def auto_pause_reason(failures: int, key: str, error: str) -> str:
    """Return the pause reason of a job auto-paused after `failures` consecutive item failures, the last of `key`."""
    return f"{AUTO_PAUSED} after {failures} consecutive item failures (last: item {key}: {error})"


def is_auto_paused(reason: str | None) -> bool:
    """Tell whether a pause reason says the job was auto-paused (not paused by a person)."""
    return (reason or "").startswith(AUTO_PAUSED)


def frozen_reason(pid: int) -> str:
    """Return the pause reason of a job whose command was frozen (SIGSTOP) in place on a pause request."""
    return f"{PAUSED_BY_REQUEST}; command frozen (pid {pid}, SIGSTOP)"
