"""What a list of jobs asks the store for: a filter, an order and a window of rows; pure, no I/O.

The TUI's list at 100,000 jobs holds only the rows on screen: it sends a `Listing` and the store counts
the matches and reads the rows of a window in order, in SQL, over indexes (store/listing.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from .redaction import redact

SORTS: tuple[str, ...] = ("id", "status", "updated", "progress", "priority", "type")
"""The orders a listing can have; each ends in the job id, so that it is total and stable."""


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Which jobs pass: the filter a `Query` parses and a `Listing` sends to the store (a `!` token: `not_...`)."""

    statuses: frozenset[str] | None = None
    """Only these statuses (None: any)."""
    not_statuses: frozenset[str] = frozenset()
    types: frozenset[str] | None = None
    not_types: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()
    """Lower-case words that must all occur in a job's searchable text (`search_text` and its state)."""
    not_words: tuple[str, ...] = ()
    labels: tuple[tuple[str, str | None], ...] = ()
    """Labels a job must have, each (key, value); a None value: any value of that key."""
    not_labels: tuple[tuple[str, str | None], ...] = ()
    queues: frozenset[str] | None = None
    """Only jobs of these queues (None: any, or none)."""
    not_queues: frozenset[str] = frozenset()
    """Not the jobs of these queues (jobs in no queue are kept)."""
    stages: frozenset[str] | None = None
    """Only jobs at one of these stages (lower-case names; None: any)."""
    not_stages: frozenset[str] = frozenset()
    """Not the jobs at these stages (jobs that ended, at no stage, are kept)."""

    @property
    def empty(self) -> bool:
        """Tell whether the filter lets every job through."""
        return not (self.statuses is not None or self.not_statuses or self.types is not None or self.not_types
                    or self.words or self.not_words or self.labels or self.not_labels or self.queues is not None
                    or self.not_queues or self.stages is not None or self.not_stages)

@dataclass(frozen=True, slots=True)
class Listing(JobFilter):
    """A filter and an order of jobs."""

    failures: frozenset[str] | None = None
    """Only jobs in these statuses or with a failed item (the failures-only view); None: no such limit."""
    sort: str = "id"
    reverse: bool = False
    status_rank: tuple[tuple[str, int], ...] = ()
    """The rank of each status for the `status` order (lower first); unlisted statuses come last."""


class JobMatch(TypedDict, total=False):
    """Which jobs a list or a page of them holds (`list_jobs`, `page_jobs`): each key left out, or None, no limit."""

    statuses: Iterable[str] | None
    types: Iterable[str] | None
    unique_key: str | None
    stage: str | None
    """The name of the stage a job is at."""
    labels: Iterable[tuple[str, str | None]]
    """(key, value) pairs a job has, every one; a None value: any value of that key."""
    queue: str | None


def params_text(params: Mapping[str, Any]) -> str:
    """Return params as compact JSON with secrets redacted (what is shown and searched)."""
    return json.dumps(redact(params), separators=(", ", ": "), default=str, ensure_ascii=False)


def search_text(type_: str, unique_key: str | None, params: Mapping[str, Any]) -> str:
    """Return the lower-case searchable text of a job that never changes: type, unique key, params (redacted).

    The store keeps it beside the job (column `search_text`) so that a filter never reads a secret.
    """
    return f"{type_} {unique_key or ''} {params_text(params)}".lower()
