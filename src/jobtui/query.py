"""The filter language of the TUI's list and of bulk actions (`pause --where ...`): parsed text; pure, no I/O.

`status:running,failed type:ocr stage:fetch label:project=42 queue:gpu !word`: each token narrows the jobs
(`stage:` the stage a job is at, by name, case-insensitive); a leading
`!` or `-` negates one; free words must occur in a job's searchable text. `Query.listing()` is what the
store reads (a `jobtui.listing.Listing`, in SQL over indexes).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .listing import JobFilter, Listing
from .model import JobStatus

__all__ = ["Query"]

_NAMED = {"queue": "queue", "q": "queue", "stage": "stage", "st": "stage"}
"""Tokens of names (`queue:a,b`, `stage:fetch`) by their keys."""


def _frozen(names: set[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


@dataclass(frozen=True, slots=True)
class Query(JobFilter):
    """A parsed filter: `status:`, `type:`, `stage:`, `label:` and `queue:` tokens, free words; `!` or `-` negates."""

    text: str = ""
    problems: tuple[str, ...] = ()
    """Tokens that match nothing (e.g. an unknown status), to show beside the filter box."""

    def listing(self) -> Listing:
        """Return the filter as the store's listing (in id order; `dataclasses.replace` sets another)."""
        return Listing(**{f.name: getattr(self, f.name) for f in fields(JobFilter)})

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
            statuses=_frozen(statuses), not_statuses=frozenset(not_statuses), types=_frozen(types),
            not_types=frozenset(not_types), words=tuple(words), not_words=tuple(not_words), labels=tuple(labels),
            not_labels=tuple(not_labels), queues=_frozen(included.get("queue")), not_queues=frozenset(excluded["queue"]),
            stages=_frozen(included.get("stage")), not_stages=frozenset(excluded["stage"]), text=text,
            problems=tuple(problems),
        )
