"""The job list's view: the filter query, the sort order and the failures-only switch; pure, no Textual.

The view says what the list shows; the store finds it (`JobView.listing()`, a `jobtui.listing.Listing`
read in SQL over indexes), so that no refresh filters or sorts every job in Python (issue 18).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..listing import SORTS, Listing
from ..query import Query
from .format import FAILURE_STATUSES, STATUS_RANK

__all__ = ["SORTS", "JobView", "Query"]


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
        return replace(
            self.query.listing(),
            failures=frozenset(str(s) for s in FAILURE_STATUSES) if self.failures_only else None,
            sort=self.sort if self.sort in SORTS else "id", reverse=self.reverse, status_rank=_RANK,
        )
