"""Records of the HTTP API kept in the database: tokens and their scopes, job events: pure, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import UsageError
from .model import JobId, iso

EVENTS_KEEP_MS = 7 * 86_400_000
"""Job events (the API's stream cursor) older than this are pruned, beyond the newest EVENTS_KEEP."""
EVENTS_KEEP = 100_000
"""Job events kept whatever their age: a stream away for a while resumes without a reset."""

TOKEN_PREFIX = "jt_"
"""Every token starts so (a secret scanner, and a person, can tell one)."""

_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class Scope(StrEnum):
    """What a token may do; each scope includes the ones before it."""

    READ = "read"
    """Read jobs, logs, files, events, stats."""
    STEER = "steer"
    """Also pause, resume, cancel, retry (and schedules' pause/resume)."""
    SUBMIT = "submit"
    """Also create jobs of registered types."""
    ADMIN = "admin"
    """Everything: command jobs, fail, rewind, delete, schedules."""

    def allows(self, needed: Scope) -> bool:
        """Tell whether this scope includes `needed`."""
        order = list(Scope)
        return order.index(self) >= order.index(needed)


def check_token_name(name: str) -> str:
    """Return a token's name, or raise UsageError for one that is not letters, digits, '.', '_', '@', '-'."""
    if not isinstance(name, str) or not _TOKEN_NAME.fullmatch(name):
        raise UsageError(f"bad token name {name!r} (letters, digits, '.', '_', '@', '-'; at most 64)")
    return name


def parse_scope(text: str) -> Scope:
    """Return the Scope named `text` (UsageError for another word)."""
    try:
        return Scope(text)
    except ValueError:
        raise UsageError(f"unknown scope {text!r} (read, steer, submit, admin)") from None


def new_token() -> str:
    """Return a fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the hash a token is stored as (SHA-256: tokens are random, so no slow hash is needed)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Compare two token hashes in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as stored: never the token itself, only its hash."""

    token_id: int
    name: str
    scope: Scope
    token_hash: str
    created_at_ms: int
    last_used_at_ms: int | None

    def to_dict(self) -> dict[str, Any]:
        """Return the token as `token ls --json` prints it (no hash)."""
        return {"name": self.name, "scope": self.scope.value, "created_at": iso(self.created_at_ms),
                "last_used_at": iso(self.last_used_at_ms)}


class EventKind(StrEnum):
    """What a job event records."""

    SUBMITTED = "submitted"
    """The job was stored."""
    TRANSITION = "transition"
    """Its status changed."""
    DELETED = "deleted"
    """It was deleted (by a person or by retention)."""
    NOTIFICATION = "notification"
    """One of its notifications was queued, sent or given up (schema migration 22)."""


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One change of a job, numbered in commit order by the database (a stream's cursor)."""

    event_id: int
    job_id: JobId
    ts_ms: int
    kind: str
    from_status: str | None
    """A notification's event (started, progress, retrying, completed, ...) for kind `notification`."""
    to_status: str | None
    """A notification's state (pending, sent, failed) for kind `notification`."""
    ref_id: int | None = None
    """The notification's id for kind `notification`."""

    def to_dict(self) -> dict[str, Any]:
        """Return the event as the API's event stream sends it (without the job)."""
        head = {"event_id": self.event_id, "job_id": self.job_id, "at": iso(self.ts_ms), "kind": self.kind}
        if self.kind == EventKind.NOTIFICATION:
            return {**head, "notification": {"notification_id": self.ref_id, "event": self.from_status,
                                             "state": self.to_status}}
        return {**head, "from": self.from_status, "to": self.to_status}
