"""FakeClock: the one clock tests move by hand (epoch ms), for stores, schedules, leases, retries and retention."""

from __future__ import annotations

from jobtui.model import now_ms


class FakeClock:
    """A clock that stays where it is set, and moves only when the test moves it (epoch ms)."""

    def __init__(self, start: int | None = None) -> None:
        self.now = now_ms() if start is None else start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        """Move the clock `ms` milliseconds on."""
        self.now += ms
