"""Client: the one small facade the faces (CLI, TUI, server) read and steer through (never SQL, never engine internals).

Its parts: `core` (reads, submissions, requests, the database), `runners` (this process's runner, the
fleet), `schedules` (recurring schedules), `queues` (queues and their limits), `api` (tokens, events and pages for `jobtui serve`), `listing`
(the TUI's windowed list).
"""

from __future__ import annotations

from ..engine.lease import MAX_LEASE_TTL_S
from .api import ApiControl
from .bulk import BulkControl
from .core import ClientCore, Submission, default_db_path
from .listing import ListingControl
from .meta import MetaControl
from .queues import QueueControl
from .runners import RunnerControl, RunnerState
from .schedules import ScheduleControl


class Client(RunnerControl, ScheduleControl, QueueControl, BulkControl, ApiControl, ListingControl, MetaControl,
             ClientCore):
    """Read jobs and send requests; with an embedded runner, requests take effect at once."""


__all__ = ["MAX_LEASE_TTL_S", "Client", "ClientCore", "RunnerState", "Submission", "default_db_path"]
