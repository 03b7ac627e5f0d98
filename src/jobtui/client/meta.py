"""MetaControl: what a person adds to jobs beyond running them: edits of jobs no runner runs (and templates)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, Unpack

from ..editing import EditResult, JobChanges, JobEdit
from ..errors import UsageError
from ..fleet import check_tags
from ..keywords import check_keywords
from ..labels import check_key, labels_of
from ..model import JobId
from ..model.queues import check_queue_name
from ..notify_on import check_notify_on
from ..templates import OPTION_KEYS, Template, check_template_name, submission_options
from .core import ClientCore

_ACTING_AS: ContextVar[str | None] = ContextVar("jobtui_acting_as", default=None)
"""Who acts in the current task when a face serves several people (`MetaControl.acting_as`)."""


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container)
        return "?"


class MetaControl(ClientCore):
    """Edit jobs that are not running."""

    @property
    def who(self) -> str:
        """Return who acts, as the history records it: the one `acting_as` names, else the face and, for a person's
        terminal, their user name."""
        acting = _ACTING_AS.get()
        if acting is not None:
            return acting
        return f"{self.source}:{_user()}" if self.source in ("cli", "tui") else self.source

    @contextmanager
    def acting_as(self, who: str) -> Iterator[None]:
        """Record `who` (e.g. `api:TOKEN_NAME`) as the one who acts, in this task only (a server serves many at once)."""
        reset = _ACTING_AS.set(who)
        try:
            yield
        finally:
            _ACTING_AS.reset(reset)

    async def edit(self, job_id: JobId, **changes: Unpack[JobChanges]) -> EditResult:
        """Edit a job that no runner runs (see `jobtui.editing` for which jobs and the params rule).

        `changes` (`jobtui.editing.JobChanges`): `params` are changes over the job's params (a key set to None is
        removed); `needs` the whole new set; `priority`, `run_at_ms`, `timeout_ms`, `max_retries`, `after`,
        `labels`, `unlabel`, `queue`, `no_queue`.

        Raises:
            UsageError: nothing to change, a bad value, or the job is running or completed (EditRefusedError).
        """
        check_keywords(changes, JobChanges, "edit")
        c = changes
        needs, queue, no_queue, params = c.get("needs"), c.get("queue"), c.get("no_queue", False), c.get("params")
        edit = JobEdit(priority=c.get("priority"), run_at_ms=c.get("run_at_ms"), timeout_ms=c.get("timeout_ms"),
                       max_retries=c.get("max_retries"),
                       needs=None if needs is None else check_tags(list(needs), "--needs"), after=tuple(c.get("after", ())),
                       labels=labels_of(c.get("labels"), "--label"),
                       unlabel=tuple(check_key(k, "--unlabel") for k in c.get("unlabel", ())),
                       queue=None if queue is None else check_queue_name(queue), no_queue=no_queue)
        if queue is not None and no_queue:
            raise UsageError("give --queue or --no-queue, not both")
        if params:
            job = await self.store.get_job(job_id)
            new = {k: v for k, v in {**job.params, **params}.items() if v is not None}
            jt = self.registry.get(job.type)
            checked = jt.validate(new)
            stages = jt.stages_for(checked)
            edit = replace(edit, params=checked, base_params=job.params, stage_names=tuple(s.name for s in stages),
                           max_attempts=tuple(s.retry.attempts for s in stages))
        if edit.empty:
            raise UsageError("nothing to edit: give -p KEY=VALUE, --priority, --at, --timeout, --max-retries, --needs,"
                             " --after, --label, --unlabel or --queue")
        result = await self.store.edit_job(job_id, edit, source=self.who)
        self._wake()
        return result

    # ------------------------------------------------------------------------------------ templates
    async def save_template(
        self, name: str, type: str | None = None, params: Mapping[str, Any] | None = None, *,
        from_job: JobId | None = None, replace: bool = False, **options: Any,
    ) -> Template:
        """Save a template: TYPE with params and options, or a copy of a job's (`from_job`) with `params` set over.

        `options` are any of `jobtui.templates.OPTION_KEYS` (None or empty: not set).

        Raises:
            UsageError: a bad name, an unknown type, bad params or options, the name in use (unless `replace`).
        """
        check_template_name(name)
        base: dict[str, Any] = {}
        saved: dict[str, Any] = {}
        if from_job is not None:
            if type is not None:
                raise UsageError("give a job TYPE or --from-job ID, not both")
            d = await self.store.get_detail(from_job)
            type, base = d.job.type, dict(d.job.params)
            saved = {"priority": d.job.priority, "max_retries": d.job.max_retries, "timeout_ms": d.job.timeout_ms,
                     "needs": list(d.needs), "labels": dict(d.labels), "queue": d.job.queue,
                     "notify": [list(t) for t in d.notify], "notify_on": list(await self.store.notify_on(from_job))}
        elif type is None:
            raise UsageError("template save needs a job TYPE or --from-job ID")
        jt = self.registry.get(type)
        checked = jt.validate({**base, **(params or {})})
        for key, value in options.items():
            if key not in OPTION_KEYS:
                raise UsageError(f"a template has no option {key!r}")
            if value is not None and value != () and value != [] and value != {}:
                saved[key] = value
        saved["needs"] = list(check_tags(saved.get("needs") or (), "--needs"))
        saved["labels"] = dict(labels_of(dict(saved.get("labels") or {}), "--label"))
        if saved.get("queue") is not None:
            saved["queue"] = (await self.store.queue(check_queue_name(saved["queue"]))).name
        saved["notify"] = [list(t) for t in saved.get("notify") or ()]
        saved["notify_on"] = list(check_notify_on(saved.get("notify_on") or (), bool(saved["notify"])))
        clean = {k: v for k, v in saved.items() if v is not None and v != [] and v != {}}
        return await self.store.save_template(Template(name, jt.name, checked, clean), replace=replace)

    async def templates(self) -> list[Template]:
        """Return every template, by name."""
        return await self.store.templates()

    async def template(self, name: str) -> Template:
        """Return one template (UsageError when none has this name)."""
        return await self.store.get_template(check_template_name(name))

    async def remove_template(self, name: str) -> None:
        """Delete a template; the jobs made of it stay."""
        await self.store.remove_template(check_template_name(name))

    async def submit_template(self, name: str, params: Mapping[str, Any] | None = None, **given: Any) -> JobId:
        """Queue a job of a template: `params` set over its params, each option given over its (labels merged)."""
        t = await self.template(name)
        return await self.submit(t.job_type, {**t.params, **(params or {})}, **submission_options(t, given))
