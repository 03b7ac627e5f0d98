"""Queues: named groups of jobs with limits that hold across every runner of a database (pure records)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..durations import parse_duration_ms
from ..errors import UsageError
from .jobs import iso

QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""What a queue may be called: letters, digits, '.', '_', '-' (up to 64, not starting with a sign)."""



def check_queue_name(name: str) -> str:
    """Return `name` if it may name a queue, else raise UsageError."""
    if not isinstance(name, str) or not QUEUE_NAME.match(name):
        raise UsageError(f"bad queue name {name!r}: use letters, digits, '.', '_', '-' (at most 64, first a letter"
                         " or digit)")
    return name


QUEUE_PAUSED_REASON = "queue {name} paused"
"""The pause reason of the running jobs `queue pause --now` paused (`queue resume` resumes those only)."""


@dataclass(frozen=True, slots=True)
class QueueLimits:
    """What a queue allows; None: no such limit."""

    concurrency: int | None = None
    """Jobs of the queue running at once, across every runner."""
    per_runner: int | None = None
    """Jobs of the queue running at once on one runner."""
    rate_count: int | None = None
    """Starts allowed in any window of `rate_window_ms` (with it: `--rate N/DURATION`)."""
    rate_window_ms: int | None = None
    slots: bool = False
    """Give each running job a slot number ($JOBTUI_SLOT, ctx.slot): 0..per_runner-1 on each runner when
    `per_runner` is set, else 0..concurrency-1 across the database."""

    @property
    def slot_count(self) -> int | None:
        """Return how many slot numbers there are (None: the queue gives none)."""
        if not self.slots:
            return None
        return self.per_runner if self.per_runner is not None else self.concurrency

    @property
    def limited(self) -> bool:
        """Tell whether any limit applies (an unlimited, unpaused queue costs a claim nothing)."""
        return (self.concurrency is not None or self.per_runner is not None or self.rate_count is not None
                or self.slots)

    def rate_text(self) -> str | None:
        """Return the rate as `N/DURATION` (None: no rate)."""
        if self.rate_count is None or self.rate_window_ms is None:
            return None
        ms = self.rate_window_ms
        for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
            if ms % size == 0:
                return f"{self.rate_count}/{ms // size}{unit}"
        return f"{self.rate_count}/{ms}ms"


@dataclass(frozen=True, slots=True)
class Queue:
    """A queue as stored, with the counts of its jobs."""

    name: str
    limits: QueueLimits
    paused: bool = False
    created_at_ms: int = 0
    updated_at_ms: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    """Its jobs by status (only statuses it has)."""
    started_in_window: int = 0
    """Starts within the rate window now (0 without a rate)."""

    @property
    def running(self) -> int:
        """Return how many of its jobs a runner holds now (running, pausing, cancelling)."""
        return sum(self.counts.get(s, 0) for s in ("running", "pausing", "cancelling"))

    @property
    def waiting(self) -> int:
        """Return how many of its jobs wait to be claimed (queued, waiting to retry)."""
        return self.counts.get("queued", 0) + self.counts.get("waiting_retry", 0)

    def to_dict(self) -> dict[str, Any]:
        """Return the queue as in `queue ls --json`."""
        lim = self.limits
        return {
            "name": self.name, "paused": self.paused, "concurrency": lim.concurrency, "per_runner": lim.per_runner,
            "rate": lim.rate_text(), "slots": lim.slots, "running": self.running, "waiting": self.waiting,
            "counts": dict(sorted(self.counts.items())), "started_in_window": self.started_in_window,
            "created_at": iso(self.created_at_ms), "updated_at": iso(self.updated_at_ms),
        }


MAX_LIMIT = 1_000_000
"""The largest concurrency, per-runner limit or rate count a queue may have."""


def parse_rate(text: str) -> tuple[int, int]:
    """Parse `N/DURATION` (e.g. `5/10s`, `100/1h`) into (count, window in ms); UsageError if it is not one."""
    count_text, sep, window_text = text.strip().partition("/")
    count_text = count_text.strip()
    if not sep or not count_text.isascii() or not count_text.isdigit() or len(count_text) > 7:
        raise UsageError(f"bad rate {text!r}: give N/DURATION, e.g. 5/10s or 100/1h")
    count = int(count_text)
    if not 1 <= count <= MAX_LIMIT:
        raise UsageError(f"bad rate {text!r}: N must be 1 to {MAX_LIMIT}")
    window = parse_duration_ms(window_text)
    if window < 1:
        raise UsageError(f"bad rate {text!r}: the duration must be at least 1ms")
    return count, window
