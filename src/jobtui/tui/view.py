"""The job list's view of the jobs: filter query, sort order, visible ids; pure, no Textual.

The view keeps its order between refreshes and rebuilds it only when a change can move a row
(a new or removed job, a row entering or leaving the filter, a change of the sort key).
Progress ticks of thousands of running jobs therefore cost one dict lookup each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Job, JobId, JobStatus
from .format import STATUS_RANK, haystack, haystack_fixed, is_failure


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter: `status:` and `type:` tokens, free words; a leading `!` or `-` negates."""

    text: str = ""
    statuses: frozenset[str] | None = None
    not_statuses: frozenset[str] = frozenset()
    types: frozenset[str] | None = None
    not_types: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()
    not_words: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """Tokens that match nothing (e.g. an unknown status), to show beside the filter box."""

    @property
    def empty(self) -> bool:
        """Tell whether the query lets every job through."""
        return not (self.statuses is not None or self.not_statuses or self.types is not None or self.not_types
                    or self.words or self.not_words)

    @classmethod
    def parse(cls, text: str) -> Query:
        """Parse filter text such as `status:running,failed type:demo !uploading`."""
        statuses: set[str] | None = None
        not_statuses: set[str] = set()
        types: set[str] | None = None
        not_types: set[str] = set()
        words: list[str] = []
        not_words: list[str] = []
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
            elif negate:
                not_words.append(body.lower())
            else:
                words.append(body.lower())
        return cls(
            text, None if statuses is None else frozenset(statuses), frozenset(not_statuses),
            None if types is None else frozenset(types), frozenset(not_types), tuple(words), tuple(not_words),
            tuple(problems),
        )


SortKey = Callable[[Job], Any]

SORTS: dict[str, SortKey] = {
    "id": lambda j: j.job_id,
    "status": lambda j: (STATUS_RANK.get(j.status, 99), j.job_id),
    "updated": lambda j: (-j.updated_at_ms, -j.job_id),
    "progress": lambda j: (-j.progress, j.job_id),
    "priority": lambda j: (-j.priority, j.job_id),
    "type": lambda j: (j.type, j.job_id),
}
"""The sort orders `s` cycles through, each ending in the id so that it is total and stable."""


@dataclass
class JobView:
    """The ids the job list shows, in order, for a filter, a sort and the failures-only switch."""

    query: Query = field(default_factory=Query)
    sort: str = "id"
    reverse: bool = False
    failures_only: bool = False
    order: list[JobId] = field(default_factory=list)
    index: dict[JobId, int] = field(default_factory=dict)
    _hay: dict[JobId, str] = field(default_factory=dict)
    _fixed: dict[JobId, str] = field(default_factory=dict)

    def matches(self, job: Job) -> bool:
        """Tell whether a job passes the filter and the failures-only switch."""
        if self.failures_only and not is_failure(job):
            return False
        q = self.query
        if q.empty:
            return True
        if q.statuses is not None and job.status not in q.statuses:
            return False
        if job.status in q.not_statuses:
            return False
        if q.types is not None and job.type not in q.types:
            return False
        if job.type in q.not_types:
            return False
        if q.words or q.not_words:
            hay = self._hay.get(job.job_id)
            if hay is None:
                fixed = self._fixed.get(job.job_id)
                if fixed is None:
                    fixed = self._fixed[job.job_id] = haystack_fixed(job)
                hay = self._hay[job.job_id] = haystack(job, fixed)
            if any(w not in hay for w in q.words) or any(w in hay for w in q.not_words):
                return False
        return True

    def rebuild(self, jobs: Mapping[JobId, Job]) -> None:
        """Compute the order from scratch."""
        key = SORTS[self.sort]
        chosen = [j for j in jobs.values() if self.matches(j)]
        chosen.sort(key=key, reverse=self.reverse)
        self.order = [j.job_id for j in chosen]
        self.index = {job_id: i for i, job_id in enumerate(self.order)}

    def apply(
        self, jobs: Mapping[JobId, Job], changed: Mapping[JobId, Job | None], removed: Iterable[JobId] = ()
    ) -> bool:
        """Bring the order up to date after jobs changed; return True when it changed.

        Args:
            jobs: every job, already updated.
            changed: the changed or new jobs, each with its previous version (None when new).
            removed: the ids of deleted jobs.
        """
        removed = list(removed)
        for job_id in removed:
            self._hay.pop(job_id, None)
            self._fixed.pop(job_id, None)
        for job_id in changed:
            self._hay.pop(job_id, None)
        rebuild = any(job_id in self.index for job_id in removed)
        if not rebuild:
            key = SORTS[self.sort]
            for job_id, before in changed.items():
                job = jobs[job_id]
                shown = job_id in self.index
                if self.matches(job) != shown:
                    rebuild = True
                    break
                if shown and (before is None or key(before) != key(job)):
                    rebuild = True
                    break
        if rebuild:
            old = self.order
            self.rebuild(jobs)
            return self.order != old
        return False

    def forget(self) -> None:
        """Drop cached search text (after a wholesale reload)."""
        self._hay.clear()
        self._fixed.clear()
