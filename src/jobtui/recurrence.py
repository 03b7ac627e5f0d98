"""When a schedule fires: a cron expression in a time zone, or a fixed period (pure, no I/O).

Cron expressions are evaluated by cronsim (the parser behind Healthchecks.io; DST-aware with zoneinfo).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from cronsim import CronSim

_EXACT_STEPS = 2_000
"""Cron occurrences counted one by one; beyond, the count is estimated from their weekly pace."""
_WEEK_MS = 7 * 86_400_000


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A cron expression (in `tz`) or a period of `every_ms` counted from `anchor_ms`."""

    cron: str | None = None
    tz: str = "UTC"
    every_ms: int | None = None
    anchor_ms: int = 0

    @classmethod
    def parse(cls, *, cron: str | None, tz: str | None, every_ms: int | None, anchor_ms: int) -> Recurrence:
        """Check and build a recurrence.

        Raises:
            UsageError: neither or both of cron and every, a bad expression, an unknown zone, a period under 1 s.
        """
        if (cron is None) == (every_ms is None):
            raise UsageError("give exactly one of --cron 'EXPR' and --every DURATION")
        if every_ms is not None:
            if tz:
                raise UsageError("--timezone applies to --cron only")
            if every_ms < 1000:
                raise UsageError("--every must be at least 1s")
            return cls(None, "UTC", every_ms, anchor_ms)
        assert cron is not None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # here: a runner with no schedule never loads it

        from cronsim import CronSimError

        zone = tz or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {zone!r} (examples: UTC, Europe/Berlin, America/New_York)") from None
        if len(cron.split()) != 5:  # cronsim also takes a sixth field, of seconds
            raise UsageError(f"bad cron expression {cron!r}: five fields (minute hour day-of-month month day-of-week)")
        try:
            _cron(cron, datetime.now(ZoneInfo(zone)))
        except CronSimError as e:
            raise UsageError(f"bad cron expression {cron!r}: {e}") from None
        return cls(cron, zone, None, anchor_ms)

    def describe(self) -> str:
        """Word it, e.g. 'cron 0 3 * * * (Europe/Berlin)' or 'every 1h'."""
        if self.cron is not None:
            return f"cron {self.cron} ({self.tz})"
        return f"every {_duration(self.every_ms or 0)}"

    def next_after(self, t_ms: int) -> int:
        """Return the first occurrence strictly after `t_ms`."""
        if self.every_ms is not None:
            k = (t_ms - self.anchor_ms) // self.every_ms + 1
            return self.anchor_ms + max(k, 1) * self.every_ms if t_ms >= self.anchor_ms else self.anchor_ms
        return _ms(next(_cron(self.cron or "", _dt(t_ms, self.tz))))

    def latest_at_or_before(self, t_ms: int) -> int | None:
        """Return the last occurrence at or before `t_ms` (None: none yet)."""
        if self.every_ms is not None:
            if t_ms < self.anchor_ms:
                return None
            return self.anchor_ms + (t_ms - self.anchor_ms) // self.every_ms * self.every_ms
        return _ms(next(_cron(self.cron or "", _dt(t_ms + 1, self.tz), reverse=True)))

    def count_between(self, first_ms: int, last_ms: int) -> int:
        """Return how many occurrences lie in [first_ms, last_ms] (both occurrences).

        Exact for a period, and for a cron up to `_EXACT_STEPS` occurrences. Beyond that a cron's count
        is estimated from its pace over the whole weeks walked so far (so at most a week of occurrences is
        walked): walking 100,000 minutes one by one took 1.4 s (issue 14).
        """
        if last_ms < first_ms:
            return 0
        if self.every_ms is not None:
            return (last_ms - first_ms) // self.every_ms + 1
        it = _cron(self.cron or "", _dt(first_ms, self.tz))
        n, t = 1, first_ms  # occurrences in [first_ms, t]
        while True:
            nxt = _ms(next(it))
            if nxt > last_ms:
                return n
            boundary = first_ms + (nxt - first_ms) // _WEEK_MS * _WEEK_MS
            if n >= _EXACT_STEPS and t < boundary:  # n occurrences in exactly (boundary - first_ms) / week weeks
                return n + round((last_ms - boundary) * n / (boundary - first_ms))
            n, t = n + 1, nxt

    def catch_up(self, next_at_ms: int, now_ms: int) -> tuple[int, int, int]:
        """Return (the occurrence to fire, how many earlier ones it folds in, the one after) for a due schedule.

        The occurrence is the latest at or before `now_ms` (not before `next_at_ms`); the next is the
        first after both. Found directly, never by walking the missed ones; a cron's count of them walks
        up to a week of occurrences (see `count_between`): call it off the event loop.
        """
        occurrence = self.latest_at_or_before(now_ms)
        if occurrence is None or occurrence < next_at_ms:
            occurrence = next_at_ms
        missed = max(0, self.count_between(next_at_ms, occurrence) - 1)
        return occurrence, missed, self.next_after(max(now_ms, occurrence))


def _cron(expr: str, start: datetime, *, reverse: bool = False) -> CronSim:
    from cronsim import CronSim  # loaded once a cron is evaluated (start-up, issue 18)

    return CronSim(expr, start, reverse=reverse)


def _dt(ms: int, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(ZoneInfo(tz))


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _duration(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
