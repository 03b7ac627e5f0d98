"""Which moments of a job its notification targets are told of (`--notify-on`, issue 21 item 6); pure, no I/O.

* `started`  each time a runner starts (or resumes) the job;
* `progress` as it moves on: at most once per 10 % step, or once a minute while it moves more slowly;
* `retrying` a failed attempt of a stage will be tried again, or the failed job will be (automatic retries);
* `ended`    it completed, failed for good, was cancelled or auto-paused (what is told without `--notify-on`).

Each event is one POST (or command run) per target, with the job detail; a command job's also carries its
exit code and the last lines of its output. Events are told at least once; a receiver drops repeats by the
`Idempotency-Key` header.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import UsageError
from .model import JobStatus

EVENTS: tuple[str, ...] = ("started", "progress", "retrying", "ended")
"""Every event `--notify-on` may name, in the order of a job's life."""
PROGRESS_STEP = 10
"""Percent of progress between two `progress` events (at most one per step)."""
PROGRESS_EVERY_MS = 60_000
"""A job that moves by less than a step is told of at most once in this long."""
EVENT_OF_STATUS: dict[JobStatus, str] = {JobStatus.RUNNING: "started", JobStatus.WAITING_RETRY: "retrying"}
"""The event told when a job moves to a status (a start, or a failure with an automatic retry to come)."""
OUTPUT_LINES = 20
"""Lines of a command job's output a notification carries (the last ones, secrets redacted)."""


def check_notify_on(values: Iterable[str] | None, has_targets: bool) -> tuple[str, ...]:
    """Return the events named (each may be comma-separated), checked, in EVENTS' order; () for none given.

    Raises:
        UsageError: an unknown event, or events named for a job with no --notify-url/--notify-cmd.
    """
    chosen: set[str] = set()
    for value in values or ():
        for part in value.split(","):
            word = part.strip().lower()
            if word not in EVENTS:
                raise UsageError(f"--notify-on: unknown event {part.strip()[:40]!r} (one of: {', '.join(EVENTS)})")
            chosen.add(word)
    if chosen and not has_targets:
        raise UsageError("--notify-on names the events told to this job's --notify-url/--notify-cmd: give one")
    return tuple(e for e in EVENTS if e in chosen)


def progress_due(percent: float, last: tuple[int, int, float] | None, now_ms: int) -> bool:
    """Tell whether a job at `percent` is to be told of, given the last progress told: (step, when, percent)."""
    if percent <= 0 or percent >= 100:
        return False  # `started` and `ended` say these
    if last is None:
        return True
    last_step, last_ms, last_percent = last
    return int(percent // PROGRESS_STEP) > last_step or (now_ms - last_ms >= PROGRESS_EVERY_MS and percent > last_percent)
