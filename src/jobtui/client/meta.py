"""MetaControl: what a person adds to jobs beyond running them: edits of jobs no runner runs (and templates)."""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..editing import EditResult, JobEdit
from ..errors import UsageError
from ..fleet import check_tags
from ..labels import check_key, labels_of
from ..model import JobId
from ..model.queues import check_queue_name
from .core import ClientCore


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container)
        return "?"


class MetaControl(ClientCore):
    """Edit jobs that are not running."""

    @property
    def who(self) -> str:
        """Return who acts, as the history records it: the face and, for a person's terminal, their user name."""
        return f"{self.source}:{_user()}" if self.source in ("cli", "tui") else self.source

    async def edit(
        self, job_id: JobId, *, params: Mapping[str, Any] | None = None, priority: int | None = None,
        run_at_ms: int | None = None, timeout_ms: int | None = None, max_retries: int | None = None,
        needs: Iterable[str] | None = None, after: Iterable[JobId] = (), labels: Mapping[str, str] | None = None,
        unlabel: Iterable[str] = (), queue: str | None = None, no_queue: bool = False,
    ) -> EditResult:
        """Edit a job that no runner runs (see `jobtui.editing` for which jobs and the params rule).

        `params` are changes over the job's params (a key set to None is removed); `needs` the whole new set.

        Raises:
            UsageError: nothing to change, a bad value, or the job is running or completed (EditRefusedError).
        """
        edit = JobEdit(priority=priority, run_at_ms=run_at_ms, timeout_ms=timeout_ms, max_retries=max_retries,
                       needs=None if needs is None else check_tags(list(needs), "--needs"), after=tuple(after),
                       labels=labels_of(labels, "--label"), unlabel=tuple(check_key(k, "--unlabel") for k in unlabel),
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
