"""Store: the one place that holds SQL. One aiosqlite connection per Store, WAL, group commit.

Writes from the engine (stage ends, item results, progress, logs) are queued and committed together
by one writer task: many concurrent jobs share one transaction and one fsync. A caller that needs
durability awaits `commit_point()`. Control requests, claims and recovery run in their own
`BEGIN IMMEDIATE`. The class is split by aggregate: base.py (connection, group commit), jobs.py
(submission, reads, control), runs.py (leases, claims, recovery, checkpoints),
detail.py (the job detail in one statement).
"""

from __future__ import annotations

from .api import ApiQueries
from .control import ControlQueries
from .deps import DependencyQueries
from .detail import DetailQueries
from .fleet import FleetQueries
from .jobs import JobQueries
from .listing import ListingQueries
from .meta import MetaQueries
from .notify import NotifyQueries
from .processes import ProcessRecords
from .queues import QueueQueries
from .retention import RetentionQueries
from .runs import RunnerWrites
from .schedules import ScheduleQueries


class Store(DetailQueries, JobQueries, ControlQueries, RunnerWrites, DependencyQueries, NotifyQueries, ProcessRecords, ScheduleQueries,
            RetentionQueries, FleetQueries, ApiQueries, ListingQueries, MetaQueries, QueueQueries):
    """All reads and writes of one SQLite database file."""

    claims_ride = True
