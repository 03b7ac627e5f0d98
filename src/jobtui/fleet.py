"""Several hosts: the syntax of runner names and tags, and how a runner's health is judged.

A runner has a name (`jobtui run --name`, default `<host>-<pid>`) and tags (`--tag gpu`); a job may
need tags (`submit --needs gpu`) and is claimed only by a runner that has all of them. Tags are
folded to lower case, so `GPU` and `gpu` are one tag. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import UsageError
from .model import JobId, RunnerInfo
from .wording import short_duration

_TAG = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}")

DEFAULT_TTL_MS = 30_000
"""The lease a runner that registered none is judged by (as `stats` always did)."""


def check_tag(text: str, option: str = "tag") -> str:
    """Return a tag in its stored form (lower case).

    Raises:
        UsageError: not 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit.
    """
    tag = text.strip().lower()
    if not _TAG.fullmatch(tag):
        raise UsageError(
            f"{option}: bad tag {text!r} (1-64 letters, digits, '.', '_', '-'; starting with a letter or digit)")
    return tag


def check_tags(values: Iterable[str] | None, option: str = "tag") -> tuple[str, ...]:
    """Return the tags given (each may also be comma-separated), checked, once each, sorted.

    Raises:
        UsageError: a bad tag.
    """
    out: set[str] = set()
    for value in values or ():
        parts = value.split(",")
        for part in parts:
            if part.strip() or len(parts) == 1:
                out.add(check_tag(part, option))
    return tuple(sorted(out))


def check_name(text: str) -> str:
    """Return a runner name as given.

    Raises:
        UsageError: not 1-100 letters, digits, '.', '_', '-', '@' or ':' starting with a letter or digit.
    """
    if not _NAME.fullmatch(text):
        raise UsageError(f"--name: bad runner name {text!r} (1-100 letters, digits, '.', '_', '-', '@', ':';"
                         " starting with a letter or digit)")
    return text


class RunnerHealth(StrEnum):
    """How a registered runner looks from the database."""

    ALIVE = "alive"
    """Its heartbeat is fresh (within its own lease TTL)."""
    STALE = "stale"
    """Its heartbeat is older than its lease: the next recovery of any runner takes its jobs."""
    GONE = "gone"
    """Its process is certainly gone (same host, no such pid); recovery takes its jobs."""


@dataclass(frozen=True, slots=True)
class FleetRunner:
    """One registered runner as `stats`, `runners` and the TUI's fleet view show it."""

    info: RunnerInfo
    health: RunnerHealth
    jobs: tuple[JobId, ...] = ()
    """The jobs it holds (running, or paused with its stage held)."""
    heartbeat_age_ms: int = 0
    """How long ago its last heartbeat was."""

    @property
    def heartbeat_text(self) -> str:
        """Say how long ago its last heartbeat was: 'now', '4s ago', '5m ago'."""
        age = self.heartbeat_age_ms
        return "now" if age < 1000 else f"{short_duration(age)} ago"

    def to_dict(self) -> dict[str, object]:
        """Return the runner as JSON-ready values."""
        i = self.info
        return {"name": i.label, "runner_id": i.runner_id, "host": i.hostname, "pid": i.pid, "tags": list(i.tags),
                "state": self.health.value, "jobs": list(self.jobs), "concurrency": i.concurrency,
                "started_at_ms": i.started_at_ms, "heartbeat_at_ms": i.heartbeat_at_ms,
                "heartbeat_age_s": round(self.heartbeat_age_ms / 1000, 1), "lease_ttl_ms": i.lease_ttl_ms}


def health(info: RunnerInfo, now_ms: int, *, gone: bool, ttl_ms: int = DEFAULT_TTL_MS) -> RunnerHealth:
    """Judge a runner: gone (its process is certainly gone), stale (heartbeat past its lease) or alive."""
    if gone:
        return RunnerHealth.GONE
    return RunnerHealth.ALIVE if info.alive(now_ms, ttl_ms) else RunnerHealth.STALE


def missing_runner(needs: Sequence[str], runners: Iterable[RunnerInfo]) -> bool:
    """Tell whether no runner of `runners` has every tag in `needs` (False when nothing is needed)."""
    if not needs:
        return False
    wanted = set(needs)
    return not any(wanted <= set(r.tags) for r in runners)


def needs_text(needs: Sequence[str]) -> str:
    """Word why a job nobody can run waits, e.g. 'waiting for a runner with tags: gpu, big-disk'."""
    return "waiting for a runner with tags: " + ", ".join(needs)
