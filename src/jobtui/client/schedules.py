"""ScheduleControl: recurring schedules: add, list, show, pause, resume, remove."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, Unpack

from ..errors import UsageError
from ..keywords import check_keywords
from ..labels import labels_of
from ..model import Schedule, ScheduleRun, check_queue_name
from ..notify_on import check_notify_on
from ..recurrence import Recurrence
from .core import ClientCore

_SCHEDULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class FiredJobs(TypedDict, total=False):
    """What each job a schedule fires gets, as `add_schedule`'s keywords (each left out: the default)."""

    priority: int
    max_retries: int | None
    """None: the job type's own."""
    notify: Iterable[tuple[str, str]]
    """(kind, target) told of each job's end."""
    labels: Iterable[tuple[str, str]]
    queue: str | None
    notify_on: Iterable[str]
    """The moments told besides the end (`--notify-on`)."""


class ScheduleControl(ClientCore):
    """Recurring schedules of jobs."""

    async def add_schedule(
        self, name: str, type: str, params: Mapping[str, Any] | None = None, *, cron: str | None = None,
        tz: str | None = None, every_ms: int | None = None, **fired: Unpack[FiredJobs],
    ) -> Schedule:
        """Check and store a recurring schedule; return it (with its first run time).

        `type` may be `@TEMPLATE`: each job fired is made of the template as it is then, `params` set over its.
        `fired` (FiredJobs): `priority`, `max_retries`, `notify`, `labels`, `queue`, `notify_on` of each job.

        Raises:
            UsageError: a bad name, expression, zone or period, an unknown type or bad params, a name in use.
        """
        if not _SCHEDULE_NAME.fullmatch(name):
            raise UsageError(f"bad schedule name {name!r} (letters, digits, '.', '_', '-'; at most 64)")
        now = self.store.clock()
        rec = Recurrence.parse(cron=cron, tz=tz, every_ms=every_ms, anchor_ms=now)
        check_keywords(fired, FiredJobs, "add_schedule")
        notify_on, labels, queue = fired.get("notify_on", ()), fired.get("labels", ()), fired.get("queue")
        options: dict[str, Any] = {"priority": fired.get("priority", 0), "max_retries": fired.get("max_retries"),
                                   "notify": [list(t) for t in fired.get("notify", ())]}
        if notify_on:
            options["notify_on"] = list(check_notify_on(notify_on, bool(options["notify"])))
        template = type[1:] if type.startswith("@") else None
        if template is not None:
            # The template as it is when each job fires: only the params given here are kept (checked now).
            t = await self.store.get_template(template)
            jt = self.registry.get(t.job_type)
            jt.validate({**t.params, **(params or {})})
            checked = dict(params or {})
            options["template"] = t.name
        else:
            jt = self.registry.get(type)
            checked = jt.validate(params or {})
        checked_labels = labels_of(dict(labels), "--label")
        if checked_labels:
            options["labels"] = dict(checked_labels)
        if queue is not None:
            options["queue"] = (await self.store.queue(check_queue_name(queue))).name
        schedule = Schedule(name, rec.cron, rec.tz, rec.every_ms, rec.anchor_ms, jt.name, checked, options, False, now,
                            rec.next_after(now), None, None)
        await self.store.add_schedule(schedule)
        return schedule

    async def schedules(self) -> list[Schedule]:
        """Return every schedule, by name."""
        return await self.store.schedules()

    async def schedule(self, name: str) -> tuple[Schedule, list[ScheduleRun]]:
        """Return a schedule and its latest occurrences (newest first)."""
        return await self.store.get_schedule(name), await self.store.schedule_runs(name)

    async def pause_schedule(self, name: str) -> None:
        """Stop a schedule from firing until resumed."""
        await self.store.set_schedule_paused(name, True)

    async def resume_schedule(self, name: str) -> Schedule:
        """Fire a paused schedule again from its next occurrence (the ones while paused are not made up)."""
        s = await self.store.get_schedule(name)
        rec = Recurrence(s.cron, s.tz, s.every_ms, s.anchor_ms)
        await self.store.set_schedule_paused(name, False, rec.next_after(self.store.clock()) if s.paused else None)
        return await self.store.get_schedule(name)

    async def remove_schedule(self, name: str) -> None:
        """Delete a schedule and its history (the jobs it made stay)."""
        await self.store.remove_schedule(name)
