"""Fire recurring schedules: each runner checks for due schedules about once a second.

Several runners may look at once; the store's `fire_schedule` lets one of them fire an occurrence
(the database refuses a second row for it). After downtime, a schedule fires once for all the
occurrences it missed (the latest), and records how many it folded in: found directly and counted
off the event loop (recurrence.py), never by walking them where the runner's heartbeat waits. A schedule whose previous job
has not ended records the occurrence as skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from ..errors import UsageError
from ..labels import labels_of
from ..model import Schedule
from ..recurrence import Recurrence
from ..store import NewJob, SchedulerStore
from .definition import Registry
from .waiting import wait_set

log = logging.getLogger("jobtui.schedule")


def recurrence_of(s: Schedule) -> Recurrence:
    """Return when a stored schedule fires."""
    return Recurrence(s.cron, s.tz, s.every_ms, s.anchor_ms)


def job_of(s: Schedule, registry: Registry) -> NewJob:
    """Return the job a schedule submits, validated against the job types of today.

    Raises:
        UsageError: the type is unknown or its params no longer fit.
    """
    jt = registry.get(s.job_type)
    params = jt.validate(s.params)
    stages = jt.stages_for(params)  # a command or pipeline job has the stages its params give
    o = s.options
    max_retries = o.get("max_retries")
    return NewJob(
        jt.name, params, tuple(st.name for st in stages), tuple(st.retry.attempts for st in stages),
        int(o.get("priority", 0)),
        None, None, jt.max_retries if max_retries is None else int(max_retries), (),
        tuple((str(k), str(t)) for k, t in o.get("notify", ())),
        labels=labels_of(o.get("labels"), f"schedule {s.name}: labels"),
        queue=str(o["queue"]) if o.get("queue") else jt.queue,
        timeout_ms=None if o.get("timeout_ms") is None else int(o["timeout_ms"]), needs=tuple(o.get("needs") or ()),
        notify_on=tuple(str(e) for e in o.get("notify_on") or ()),
    )


async def with_template(store: SchedulerStore, s: Schedule) -> Schedule:
    """Return a schedule that names a template as the job it fires: the template as it is now, under the schedule's
    own params and options (UsageError when the template is gone)."""
    name = s.options.get("template")
    if not name:
        return s
    t = await store.get_template(str(name))
    options = {**t.options}
    for key, value in s.options.items():
        if key != "template" and value not in (None, [], {}, 0):
            options[key] = {**options.get("labels", {}), **value} if key == "labels" else value
    return replace(s, job_type=t.job_type, params={**t.params, **s.params}, options=options)


class Scheduler:
    """Fires the due schedules of one database for one runner."""

    def __init__(self, store: SchedulerStore, registry: Registry, runner_id: str, *, poll_s: float = 1.0,
                 on_fire: Callable[[], None] | None = None) -> None:
        self.store = store
        self.registry = registry
        self.runner_id = runner_id
        self.poll_s = poll_s
        self.on_fire = on_fire
        self._wake = asyncio.Event()
        self._stopping = False
        self.fired = 0
        """Occurrences this runner fired (jobs submitted), for tests."""

    def stop(self) -> None:
        """Make run() return at its next turn (it is never cancelled: it may be inside a transaction)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Fire due schedules until stop()."""
        while not self._stopping:
            timeout = self.poll_s
            try:
                timeout = await self.tick()
            except Exception as e:
                log.warning("schedules: %s", e)
            await wait_set(self._wake, timeout)
            self._wake.clear()

    async def tick(self) -> float:
        """Fire what is due now; return how long to sleep before the next look."""
        now = self.store.clock()
        due = await self.store.next_schedule_ms()
        if due is None:
            return self.poll_s
        if due > now:
            return max(0.01, min(self.poll_s, (due - now) / 1000))
        for s in await self.store.due_schedules(now):
            if s.job_type not in self.registry:
                continue  # a runner that knows this type fires it
            rec = recurrence_of(s)
            if rec.cron is None:  # arithmetic: no walk
                occurrence, missed, next_at = rec.catch_up(s.next_at_ms, now)
            else:  # counting may walk a week of occurrences: never on the loop the heartbeat shares
                occurrence, missed, next_at = await asyncio.to_thread(rec.catch_up, s.next_at_ms, now)
            job: NewJob | None = None
            error: str | None = None
            try:
                job = job_of(await with_template(self.store, s), self.registry)
            except UsageError as e:
                error = str(e)
            run = await self.store.fire_schedule(
                s, occurrence_ms=occurrence, missed=missed, next_at_ms=next_at,
                job=job, error=error, runner_id=self.runner_id,
            )
            if run is None:
                continue
            if run.outcome == "fired":
                self.fired += 1
                if self.on_fire is not None:
                    self.on_fire()
            log.debug("schedule %s: %s%s", s.name, run.outcome,
                     f" job {run.job_id}" if run.job_id else f" ({run.detail})" if run.detail else "")
        return 0.01
