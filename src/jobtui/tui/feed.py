"""JobFeed: the job list's window of rows, the counts by status and what changed, read through the Client.

The feed holds what is on screen, not what exists (issue 18): the rows of a window of the list (a
filter and an order, `jobtui.listing.Listing`, read in SQL over indexes), the jobs pinned by the user
(the highlighted and the marked ones) and the counts by status. Its memory follows the screen, not the
jobs nor their history.

A poll first reads the store's change token (`PRAGMA data_version` on SQLite, the next transaction id
on PostgreSQL): when nothing was committed, it reads nothing else. Otherwise it reads the job events
committed since the last one taken in (submissions, status changes and deletions, numbered in commit
order by the database: a change that commits late is still read, whatever its stamp) and moves the
counts by them; then (id, status, stamp) of the jobs updated since the newest change seen, minus an
overlap (other processes stamp `updated_at_ms` with their own clocks): the progress ticks, which make
no event; and the window again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..apimodel import JobEvent
from ..client import Client
from ..listing import Listing
from ..model import TERMINAL, Job, JobId, JobStatus

OVERLAP_MS = 2_000
"""How far behind the newest change seen each poll reads again."""
SETTLE_S = 2.0
"""Once the newest change seen is this old (by our monotonic clock), late commits have landed: stop re-reading."""
REMATCH_S = 30.0
"""How often a filter's matches are found again from scratch (a safety net: each poll updates them)."""
EVENTS_PAGE = 2_000
"""Job events read at once; a poll reads at most EVENTS_MAX, beyond which it counts again from scratch."""
EVENTS_MAX = 20_000
_TERMINAL = frozenset(s.value for s in TERMINAL)
_NOTABLE = _TERMINAL | {JobStatus.PAUSED.value}
"""Statuses a change to which may deserve a toast (tui/alerts.py): the job's row is read for it."""


@dataclass(slots=True)
class Delta:
    """What one poll found: the jobs that changed (with their status before: None when new or not known),
    the fresh rows of those whose status changed, and the ids of jobs known to be deleted."""

    changed: dict[JobId, JobStatus | None] = field(default_factory=dict)
    rows: dict[JobId, Job] = field(default_factory=dict)
    removed: set[JobId] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed)

    def merge(self, other: Delta) -> None:
        """Fold a later delta into this one."""
        for job_id, before in other.changed.items():
            self.changed.setdefault(job_id, before)
        self.rows.update(other.rows)
        for job_id in other.removed:
            self.changed.pop(job_id, None)
            self.rows.pop(job_id, None)
        self.removed |= other.removed


@dataclass(slots=True)
class Window:
    """A window of the list as read: its first row's position, its ids in order, the matches, the rows held."""

    top: int
    order: list[JobId]
    matches: int
    jobs: dict[JobId, Job]


class JobFeed:
    """The list's window of jobs, the pinned jobs and the counts by status."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.jobs: dict[JobId, Job] = {}
        """The rows held: the window's, the pinned jobs', and those of the last status changes."""
        self.order: list[JobId] = []
        """The ids of the window, in the listing's order."""
        self.top = 0
        """The position in the listing of the window's first row."""
        self.matches = 0
        """How many jobs the listing matches."""
        self.total = 0
        """How many jobs exist."""
        self.counts: Counter[str] = Counter()
        self.listing = Listing()
        self.pinned: Callable[[], Iterable[JobId]] = lambda: ()
        """The jobs to hold wherever they are in the list (the highlighted and the marked ones)."""
        self.watermark: int | None = None
        """The newest `updated_at_ms` seen."""
        self._moved_at = 0.0
        """When (time.monotonic) the watermark last moved."""
        self._token: tuple[int, int] | None = None
        self._seq: int | None = None
        """The newest change number taken in (SQLite numbers in commit order each write of a job that keeps its
        status: a status change has its job event); None: read the changes by stamp, with an overlap (PostgreSQL)."""
        self._head = 0
        """The newest job event taken in (the counts are as of it)."""
        self._recent: dict[JobId, tuple[int, str]] = {}
        """The stamp and status of each change seen within the overlap (to tell a re-read from a change)."""
        self._matched: set[JobId] | None = None
        """The ids a filter matches (only while one is on): a poll tests the changed jobs, not every job."""
        self._matched_for: tuple[Listing, float] | None = None
        self._max_id = 0
        self.moved = False
        """Whether the last poll found anything committed since the one before (a job row, a log line...)."""
        self.rows_moved = False
        """Whether the last poll found a job row changed, added or deleted (else the list's window stands)."""
        self.polls = 0
        self.rows_read = 0
        """Rows the last poll read (changes and window; for the benchmark and the tests)."""

    @property
    def token(self) -> tuple[int, int] | None:
        """Return the store's change token as of the last poll."""
        return self._token

    @property
    def max_id(self) -> JobId:
        """Return the highest job id seen."""
        return self._max_id

    @property
    def filtered(self) -> bool:
        """Tell whether the listing leaves jobs out."""
        return not self.listing.empty or self.listing.failures is not None

    async def load(self) -> Delta:
        """Read the counts (the first time, or to start over) and the newest job event they are as of."""
        client = self.client
        self._token = await client.change_token()
        self._seq = await client.change_seq()  # first: whatever commits from here on is numbered above it
        await self._count()
        newest = await client.window_jobs(Listing(sort="updated"), 0, 1)
        last = await client.window_jobs(Listing(reverse=True), 0, 1)
        self._max_id = last[0].job_id if last else 0
        self.watermark = newest[0].updated_at_ms if newest else 0
        self._moved_at = time.monotonic()
        if self._seq is None:
            # What changed within the overlap is seen already: a re-read of it is no change.
            self._recent = {job_id: (stamp, status)
                            for job_id, status, stamp in await client.job_changes(self.watermark - OVERLAP_MS)}
        self.moved = True
        return Delta()

    async def _count(self) -> None:
        """Read the counts by status and the newest event id they are as of (again if an event came between)."""
        client = self.client
        head = (await client.event_bounds())[1]
        for _ in range(5):
            counts = await client.status_counts()
            again = (await client.event_bounds())[1]
            if again == head:
                break
            head = again
        self._head = head
        self.counts = Counter(counts)
        self.total = sum(counts.values())

    async def poll(self, *, force: bool = False) -> Delta:
        """Read what changed since the last poll (nothing at all when nothing was committed)."""
        if self.watermark is None:
            return await self.load()
        self.polls += 1
        token = await self.client.change_token()
        self.moved = token != self._token
        self.rows_moved = False
        if not self.moved and not force:
            self.rows_read = 0
            return Delta()
        self._token = token
        delta = Delta()
        now: dict[JobId, str] = {}
        await self._take_events(delta, now)
        if self._seq is not None:
            got = await self.client.job_changes_after(self._seq)
            if got is not None:
                changes, self._seq, whole = got
                self.rows_read += len(changes)
                self._note_numbered(changes, delta, now)
                if not whole:
                    self._lost_writes(delta)
                return await self._after_changes(delta, now)
        # Re-read the overlap only while a late commit could still land; the newest millisecond always (a
        # second commit can carry the same stamp as one already read).
        settled = time.monotonic() - self._moved_at >= SETTLE_S
        since = self.watermark - (1 if settled else OVERLAP_MS)
        changes = await self.client.job_changes(since)
        self.rows_read += len(changes)
        self._note(changes, since, delta, now)
        return await self._after_changes(delta, now)

    async def _after_changes(self, delta: Delta, now: dict[JobId, str]) -> Delta:
        """Update a filter's matches by the jobs that changed, and read the rows of those that ended or paused."""
        self.rows_moved = self.rows_moved or bool(delta)
        if self._matched is not None and (delta.changed or delta.removed):
            hits = await self.client.matching_ids(self.listing, among=delta.changed)
            for job_id in delta.changed:
                if job_id in hits:
                    self._matched.add(job_id)
                else:
                    self._matched.discard(job_id)
            self._matched -= delta.removed
        # The rows of the jobs that ended or paused, for the toasts (a progress tick reads none).
        ended = [job_id for job_id, before in delta.changed.items()
                 if now.get(job_id) in _NOTABLE and (before is None or before.value != now[job_id])]
        if ended:
            delta.rows = await self.client.jobs_by_ids(ended)
            self.jobs.update(delta.rows)
        return delta

    async def _take_events(self, delta: Delta, now: dict[JobId, str]) -> None:
        """Take the job events since the last one in: the counts, the new, changed and deleted jobs."""
        client = self.client
        events: list[JobEvent] = []
        while len(events) < EVENTS_MAX:
            page = await client.job_events(after_id=events[-1].event_id if events else self._head,
                                           limit=EVENTS_PAGE)
            events += page
            if len(page) < EVENTS_PAGE:
                break
        self.rows_read = len(events)
        gap = bool(events) and events[0].event_id != self._head + 1
        if len(events) >= EVENTS_MAX or (gap and (await client.event_bounds())[0] > self._head):
            # A bulk change, or events pruned before we read them: count again from scratch.
            await self._count()
            self._matched = None
            self.rows_moved = True
            delta.removed |= {e.job_id for e in events if e.kind == "deleted"}
            return
        counts = self.counts
        for e in events:
            self._head = e.event_id
            if e.kind == "submitted" and e.to_status is not None:
                counts[e.to_status] += 1
                self.total += 1
                self._max_id = max(self._max_id, e.job_id)
                delta.changed.setdefault(e.job_id, None)
                now[e.job_id] = e.to_status
            elif e.kind == "transition" and e.from_status is not None and e.to_status is not None:
                counts[e.from_status] -= 1
                counts[e.to_status] += 1
                delta.changed.setdefault(e.job_id, JobStatus(e.from_status))
                now[e.job_id] = e.to_status
            elif e.kind == "deleted" and e.from_status is not None:
                counts[e.from_status] -= 1
                self.total -= 1
                delta.changed.pop(e.job_id, None)
                now.pop(e.job_id, None)
                delta.removed.add(e.job_id)

    def _lost_writes(self, delta: Delta) -> None:
        """Some writes since the last poll are no longer logged (a feed that slept through WRITE_LOG_KEEP writes):
        the window, the filter's matches and the pinned jobs are read again."""
        self._matched = None
        self.rows_moved = True
        for job_id in self.pinned():
            held = self.jobs.get(job_id)
            delta.changed.setdefault(job_id, held.status if held else None)

    @staticmethod
    def _note_numbered(changes: list[tuple[JobId, str, int]], delta: Delta, now: dict[JobId, str]) -> None:
        """Take (id, status, stamp) rows written since the last change number in: each is a change."""
        for job_id, status, _stamp in changes:
            if job_id in delta.changed or job_id in delta.removed:
                continue  # a status change is told by its event
            delta.changed[job_id] = JobStatus(status)
            now[job_id] = status

    def _note(self, changes: list[tuple[JobId, str, int]], since: int, delta: Delta, now: dict[JobId, str]) -> None:
        """Take (id, status, stamp) rows in: the jobs that changed without an event (progress), the watermark."""
        recent = self._recent
        mark = self.watermark or 0
        for job_id, status, stamp in changes:
            mark = max(mark, stamp)
            if recent.get(job_id) == (stamp, status):
                continue  # read again within the overlap, unchanged
            recent[job_id] = (stamp, status)
            if job_id in delta.changed or job_id in delta.removed:
                continue
            # A status change is told by its event (this one's, if any, comes with the next poll).
            delta.changed[job_id] = JobStatus(status)
            now[job_id] = status
        for job_id in [j for j, (s, _) in recent.items() if s <= since]:
            del recent[job_id]
        if mark != self.watermark:
            self.watermark = mark
            self._moved_at = time.monotonic()

    async def position(self, job_id: JobId) -> int | None:
        """Return where a job is in the listing (None when the filter leaves it out, or it is gone)."""
        return await self.client.job_position(self.listing, job_id)

    async def read_window(self, top: int, span: int) -> None:
        """Count the listing's matches and read its rows [top, top + span), and the pinned jobs; hold them."""
        self.take(await self.fetch_window(top, span))

    async def fetch_window(self, top: int, span: int) -> Window:
        """Count the listing's matches and read its rows [top, top + span), and the pinned jobs (held once taken)."""
        client = self.client
        listing = self.listing
        if not self.filtered:
            self._matched = None
            matches = self.total
        else:
            mono = time.monotonic()
            if (self._matched is None or self._matched_for is None or self._matched_for[0] != listing
                    or mono - self._matched_for[1] >= REMATCH_S):
                self._matched = await client.matching_ids(listing)
                self._matched_for = (listing, mono)
            matches = len(self._matched)
        top = max(0, min(top, matches - span))
        rows = await client.window_jobs(self.listing, top, span) if matches else []
        held = {j.job_id: j for j in rows}
        wanted = [i for i in self.pinned() if i not in held]
        if wanted:
            held.update(await client.jobs_by_ids(wanted))
        self.rows_read += len(held)
        return Window(top, [j.job_id for j in rows], matches, held)

    def take(self, window: Window) -> None:
        """Hold a window read by `fetch_window` (what the list then draws)."""
        self.top = window.top
        self.order = window.order
        self.matches = window.matches
        self.jobs.clear()
        self.jobs.update(window.jobs)  # in place: widgets hold a reference to this mapping

    def update(self, job: Job) -> bool:
        """Take a newer version of a held job (a detail read); return whether it was newer."""
        held = self.jobs.get(job.job_id)
        if held is None or held.updated_at_ms > job.updated_at_ms or held == job:
            return False
        self.jobs[job.job_id] = job
        return True
