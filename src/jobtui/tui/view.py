"""The job list's view: the filter query, the sort order and the failures-only switch; pure, no Textual.

The view says what the list shows; the store finds it (`JobView.listing()`, a `jobtui.listing.Listing`
read in SQL over indexes), so that no refresh filters or sorts every job in Python (issue 18).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..listing import SORTS, Listing
from ..model import JobStatus
from .format import FAILURE_STATUSES, STATUS_RANK

__all__ = ["SORTS", "JobView", "Query"]


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter: `status:`, `type:` and `label:` tokens, free words; a leading `!` or `-` negates."""

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

    @property
    def empty(self) -> bool:
        """Tell whether the query lets every job through."""
        return not (self.statuses is not None or self.not_statuses or self.types is not None or self.not_types
                    or self.words or self.not_words or self.labels or self.not_labels)

    @classmethod
    def parse(cls, text: str) -> Query:
        """Parse filter text such as `status:running,failed type:demo label:project=42 !uploading`."""
        statuses: set[str] | None = None
        not_statuses: set[str] = set()
        types: set[str] | None = None
        not_types: set[str] = set()
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
            tuple(labels), tuple(not_labels), tuple(problems),
        )


_RANK = tuple((str(s), rank) for s, rank in STATUS_RANK.items())


@dataclass
class JobView:
    """What the job list shows: a filter, a sort and the failures-only switch."""

    query: Query = field(default_factory=Query)
    sort: str = "id"
    reverse: bool = False
    failures_only: bool = False

    def listing(self) -> Listing:
        """Return the view as the store's listing (what to count and read, in which order)."""
        q = self.query
        return Listing(
            statuses=q.statuses, not_statuses=q.not_statuses, types=q.types, not_types=q.not_types,
            words=q.words, not_words=q.not_words, labels=q.labels, not_labels=q.not_labels,
            failures=frozenset(str(s) for s in FAILURE_STATUSES) if self.failures_only else None,
            sort=self.sort if self.sort in SORTS else "id", reverse=self.reverse, status_rank=_RANK,
        )
