"""ApiControl: what the HTTP API (`jobtui serve`) needs beyond the other faces: tokens, job events, keyset pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Unpack

from ..apimodel import JobEvent, TokenInfo, check_token_name, hash_token, new_token, parse_scope, same_hash
from ..keywords import check_keywords
from ..listing import JobMatch
from ..model import Job, JobId
from .core import ClientCore


class ApiControl(ClientCore):
    """API tokens, the job event stream, pages of jobs by id."""

    async def add_token(self, name: str, scope: str = "read") -> str:
        """Make an API token with a name and scope; return it (only its hash is stored: it is shown once).

        Raises:
            UsageError: a bad name or scope, or a token of this name exists.
        """
        check_token_name(name)
        token = new_token()
        await self.store.add_token(name, parse_scope(scope).value, hash_token(token))
        return token

    async def tokens(self) -> list[TokenInfo]:
        """Return the API tokens (names, scopes, last use; never a token)."""
        return await self.store.tokens()

    async def remove_token(self, name: str) -> None:
        """Delete an API token: every server refuses it from now on."""
        await self.store.remove_token(name)

    async def authenticate(self, token: str) -> TokenInfo | None:
        """Return the stored token this one is (compared in constant time), or None."""
        wanted = hash_token(token)
        found = await self.store.token_by_hash(wanted)
        return found if found is not None and same_hash(found.token_hash, wanted) else None

    async def touch_token(self, token: TokenInfo) -> None:
        """Record that a token was used now."""
        await self.store.touch_token(token.token_id, self.store.clock())

    async def job_events(self, *, after_id: int = 0, limit: int = 1000, job_id: JobId | None = None) -> list[JobEvent]:
        """Return job events (submitted, each status change, deleted) after `after_id`, in commit order."""
        return await self.store.job_events(after_id=after_id, limit=limit, job_id=job_id)

    async def event_bounds(self) -> tuple[int, int]:
        """Return (oldest kept event id - 1, newest event id): a stream's cursor below the first missed some."""
        return await self.store.event_bounds()

    async def prune_events(self, max_age_ms: int, *, keep: int) -> int:
        """Delete job events older than `max_age_ms` beyond the newest `keep`; return how many."""
        return await self.store.prune_events(self.store.clock() - max_age_ms, keep=keep)

    async def page_jobs(
        self, *, after_id: int = 0, limit: int = 100, before_id: int | None = None, newest_first: bool = False,
        since_ms: int | None = None, until_ms: int | None = None, **match: Unpack[JobMatch],
    ) -> list[Job]:
        """Return one keyset page of jobs: up to `limit` with ids after `after_id` (and before `before_id`), in id
        order or newest first, created in [since, until), filtered by `match` (as `list_jobs`)."""
        check_keywords(match, JobMatch, "page_jobs")
        return await self.store.page_jobs(after_id=after_id, limit=limit, before_id=before_id,
                                          newest_first=newest_first, since_ms=since_ms, until_ms=until_ms, **match)

    async def jobs_by_ids(self, job_ids: Iterable[JobId]) -> dict[JobId, Job]:
        """Return the jobs with these ids that exist (one query)."""
        return await self.store.jobs_by_ids(job_ids)

    async def oldest_queued_ms(self) -> int | None:
        """Return when the oldest queued job was created (None when none is queued)."""
        return await self.store.oldest_queued_ms()
