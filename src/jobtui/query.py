"""The filter language of the TUI's list and of bulk actions (`pause --where ...`): parsed text; pure, no I/O.

`status:running,failed type:ocr stage:fetch label:project=42 queue:gpu !word`: each token narrows the jobs
(`stage:` the stage a job is at, by name, case-insensitive); a leading
`!` or `-` negates one; free words must occur in a job's searchable text. `Query.listing()` is what the
store reads (a `jobtui.listing.Listing`, in SQL over indexes).
"""

from __future__ import annotations

from dataclasses import dataclass

from .listing import Listing
from .model import JobStatus

__all__ = ["Query"]

_NAMED = {"queue": "queue", "q": "queue", "stage": "stage", "st": "stage"}
"""Tokens of names (`queue:a,b`, `stage:fetch`) by their keys."""


def _frozen(names: set[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter: `status:`, `type:`, `stage:`, `label:` and `queue:` tokens, free words; `!` or `-` negates."""

    text: str = ""
    statuses: frozenset[str] | None = None
    not_statuses: frozenset[str] = frozenset()
    types: frozenset[str] | None = None
    not_types: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()
    not_words: tuple[str, ...] = ()
    labels: tuple[tuple[str, str | None], ...] = ()
    """`label:k=v` (or `label:k`: any value of k) tokens: each must hold."""
    not_labels: tuple[tuple[str, str | None], ...] = ()
    problems: tuple[str, ...] = ()
    """Tokens that match nothing (e.g. an unknown status), to show beside the filter box."""
    queues: frozenset[str] | None = None
    """`queue:a,b`: only jobs of these queues."""
    not_queues: frozenset[str] = frozenset()
    stages: frozenset[str] | None = None
    """`stage:a,b`: only jobs at one of these stages (lower-case names)."""
    not_stages: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        """Tell whether the query lets every job through."""
        return not (self.statuses is not None or self.not_statuses or self.types is not None or self.not_types
                    or self.words or self.not_words or self.labels or self.not_labels or self.queues is not None
                    or self.not_queues or self.stages is not None or self.not_stages)

    def listing(self) -> Listing:
        """Return the filter as the store's listing (in id order; `dataclasses.replace` sets another)."""
        return Listing(
            statuses=self.statuses, not_statuses=self.not_statuses, types=self.types, not_types=self.not_types,
            words=self.words, not_words=self.not_words, labels=self.labels, not_labels=self.not_labels,
            queues=self.queues, not_queues=self.not_queues, stages=self.stages, not_stages=self.not_stages,
        )

    @classmethod
    def parse(cls, text: str) -> Query:
        """Parse filter text such as `status:running,failed type:demo label:project=42 queue:gpu !uploading`."""
        statuses: set[str] | None = None
        not_statuses: set[str] = set()
        types: set[str] | None = None
        not_types: set[str] = set()
        included: dict[str, set[str]] = {}
        """queue: and stage: tokens: the names a job's must be one of (absent: no such token)."""
        excluded: dict[str, set[str]] = {"queue": set(), "stage": set()}
        words: list[str] = []
        not_words: list[str] = []
        labels: list[tuple[str, str | None]] = []
        not_labels: list[tuple[str, str | None]] = []
        problems: list[str] = []
        all_statuses = [s.value for s in JobStatus]
        for token in text.split():
            negate = token[0] in "!-" and len(token) > 1
            body = token[1:] if negate else token
            key, sep, value = body.partition(":")
            key = key.lower()
            if sep and key in ("status", "s", "state"):
                chosen: set[str] = set()
                for v in filter(None, value.lower().split(",")):
                    hits = [s for s in all_statuses if s == v] or [s for s in all_statuses if s.startswith(v)]
                    if not hits:
                        problems.append(f"no status {v!r}")
                    chosen.update(hits)
                if negate:
                    not_statuses |= chosen
                else:
                    statuses = chosen if statuses is None else statuses & chosen
            elif sep and key in ("type", "t"):
                chosen_types = {v for v in value.split(",") if v}
                if negate:
                    not_types |= chosen_types
                else:
                    types = chosen_types if types is None else types & chosen_types
            elif sep and key in _NAMED:
                which = _NAMED[key]  # queue names as given; stage names in any case
                chosen_names = {v.lower() if which == "stage" else v for v in value.split(",") if v}
                if not chosen_names:
                    problems.append(f"no {which} name in {token!r}")
                elif negate:
                    excluded[which] |= chosen_names
                else:
                    kept = included.get(which)
                    included[which] = chosen_names if kept is None else kept & chosen_names
            elif sep and key in ("label", "l"):
                label_key, has_value, label_value = value.partition("=")
                if not label_key:
                    problems.append(f"no label key in {token!r}")
                    continue
                (not_labels if negate else labels).append((label_key, label_value if has_value else None))
            elif negate:
                not_words.append(body.lower())
            else:
                words.append(body.lower())
        return cls(
            text, None if statuses is None else frozenset(statuses), frozenset(not_statuses),
            None if types is None else frozenset(types), frozenset(not_types), tuple(words), tuple(not_words),
            tuple(labels), tuple(not_labels), tuple(problems), _frozen(included.get("queue")),
            frozenset(excluded["queue"]), _frozen(included.get("stage")), frozenset(excluded["stage"]),
        )
