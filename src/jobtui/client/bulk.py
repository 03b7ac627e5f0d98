"""BulkControl: one request to every job a filter matches (`pause --where 'status:failed type:ocr'`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InvalidTransitionError, JobNotFoundError, UsageError
from ..listing import Listing
from ..model import ACTION_FROM, Action, JobId
from ..query import Query
from .core import ClientCore

BULK_CONFIRM = 20
"""More jobs than this at once are acted on only once confirmed (`--yes` or `y` in the CLI, a dialog in the TUI)."""


@dataclass(frozen=True, slots=True)
class BulkPlan:
    """What a filter matches, and which of those jobs the action applies to now."""

    action: Action
    listing: Listing
    """The filter, narrowed to the states the action applies to."""
    matched: int
    """Jobs the filter matches."""
    targets: tuple[JobId, ...]
    """Those in a state the action applies to (what a run would change), by id."""


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk request changed."""

    changed: tuple[JobId, ...]
    skipped: tuple[JobId, ...]
    """Targets whose state changed meanwhile (the action no longer applied), or deleted meanwhile."""


def parse_where(text: str) -> Query:
    """Return a filter for a bulk action; UsageError for a token that matches nothing or a filter that is empty."""
    query = Query.parse(text)
    if query.problems:
        raise UsageError(f"bad --where filter: {'; '.join(query.problems)}")
    if query.empty:
        raise UsageError("--where needs a filter (e.g. 'status:failed type:ocr'); an empty one would match every job")
    return query


class BulkControl(ClientCore):
    """Find the jobs a filter matches and send each the same request."""

    async def bulk_plan(self, action: Action, query: Query) -> BulkPlan:
        """Return the jobs `query` matches and those `action` applies to (nothing is changed)."""
        listing = query.listing()
        matched = await self.store.count_jobs(listing)
        # Only those in the action's states: what a dry run counts is what a real run changes.
        applies = frozenset(s.value for s in ACTION_FROM[action])
        only = replace(listing, statuses=applies if listing.statuses is None else listing.statuses & applies)
        return BulkPlan(action, only, matched, tuple(sorted(await self.store.matching_ids(only))))

    async def bulk_apply(self, plan: BulkPlan, *, reason: str | None = None) -> BulkResult:
        """Send the plan's action to each of its targets that still matches and still allows it."""
        # Each still matched and still allowed it just before: what changed since is left alone.
        still = await self.store.matching_ids(plan.listing, plan.targets) if plan.targets else set()
        changed: list[JobId] = []
        skipped: list[JobId] = []
        for job_id in plan.targets:
            if job_id not in still:
                skipped.append(job_id)
                continue
            try:
                await self.control(job_id, plan.action, reason=reason)
            except (InvalidTransitionError, JobNotFoundError):
                skipped.append(job_id)  # steered, ended or deleted since the plan was made
                continue
            changed.append(job_id)
        return BulkResult(tuple(changed), tuple(skipped))
