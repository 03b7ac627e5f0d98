"""Editing a job that is not running (issue 21 item 3): which jobs, which fields, and the params rule; pure, no I/O.

A job may be edited while no runner runs it: queued or blocked (not started, or queued again), paused,
failed (or waiting to retry), cancelled. Never while running, pausing or cancelling, nor once completed.

**The params rule.** Each stage reads the params when it runs, so a params edit reaches every stage that
has not completed; completed stages never run again (their outputs stay, made with the old params: rewind
to redo them). So a params edit is refused, and nothing is changed, when it could not be seen whole:

* a stage that has not completed kept progress made with the old params (items done, or saved state):
  half its work would follow the old params, half the new (rewind it first: `jobtui rewind ID --to STAGE`);
* the new params rename or remove a stage that has completed (a command or pipeline job whose stages come
  from its params);
* a runner holds the job's stage in place (a paused, frozen command): the process runs with the old params.

`--queue` moves a job to another queue (one that exists) unless a runner holds its stage (it keeps its slot).
`--at` applies to a job waiting to start (queued or blocked): resuming a job starts it at once.
`--after` applies to a job that has not started (as `jobtui depend`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from .errors import UsageError
from .labels import Labels, labels_text
from .model import JobId, JobStatus, is_secret_name, iso

EDITABLE: frozenset[JobStatus] = frozenset({
    JobStatus.QUEUED, JobStatus.BLOCKED, JobStatus.PAUSED, JobStatus.FAILED, JobStatus.WAITING_RETRY,
    JobStatus.CANCELLED,
})
"""States in which a job may be edited: no runner runs it, and it has not completed."""
WAITING_TO_START: frozenset[JobStatus] = frozenset({JobStatus.QUEUED, JobStatus.BLOCKED})
"""States in which `--at` (not before a time) applies."""

_SHOWN = 60
"""Characters of a param's value shown in the history."""


class EditRefusedError(UsageError):
    """An edit does not apply to the job as it is (its state, its stages' progress): nothing was changed."""

    def __init__(self, job_id: JobId, reason: str) -> None:
        self.job_id = job_id
        self.reason = reason
        super().__init__(f"job {job_id}: cannot edit: {reason}")


class JobChanges(TypedDict, total=False):
    """What `Client.edit` changes in a job, as keywords (each left out or None: unchanged)."""

    params: Mapping[str, Any] | None
    """Changes over the job's params (a key set to None is removed)."""
    priority: int | None
    run_at_ms: int | None
    timeout_ms: int | None
    max_retries: int | None
    needs: Iterable[str] | None
    """The whole new set of tags a runner must have."""
    after: Iterable[JobId]
    """More jobs to wait for."""
    labels: Mapping[str, str] | None
    unlabel: Iterable[str]
    queue: str | None
    no_queue: bool
    """Take the job out of its queue."""


@dataclass(frozen=True, slots=True)
class JobEdit:
    """What to change in one job; None (or empty) leaves a field as it is."""

    params: dict[str, Any] | None = None
    """The whole new params (validated by the job type)."""
    base_params: dict[str, Any] | None = None
    """The params the new ones were made from: the edit is refused if the job's changed meanwhile."""
    stage_names: tuple[str, ...] | None = None
    """The stage list of the new params."""
    max_attempts: tuple[int, ...] | None = None
    priority: int | None = None
    run_at_ms: int | None = None
    timeout_ms: int | None = None
    max_retries: int | None = None
    needs: tuple[str, ...] | None = None
    """The whole new set of tags (an empty tuple: needs none)."""
    after: tuple[JobId, ...] = ()
    """More jobs to wait for."""
    labels: Labels = ()
    """Labels to set (a key's value replaced)."""
    unlabel: tuple[str, ...] = ()
    """Label keys to remove."""
    queue: str | None = None
    """The queue to run under (a queue that exists)."""
    no_queue: bool = False
    """Run under no queue."""

    @property
    def empty(self) -> bool:
        """Tell whether the edit changes nothing."""
        return (self.params is None and self.priority is None and self.run_at_ms is None and self.timeout_ms is None
                and self.max_retries is None and self.needs is None and not self.after and not self.labels
                and not self.unlabel and self.queue is None and not self.no_queue)


@dataclass(frozen=True, slots=True)
class EditResult:
    """What an edit did: the job's status before and after (`--after` may block it), and each change in words."""

    job_id: JobId
    before: JobStatus
    after: JobStatus
    changes: tuple[str, ...]


def _shown(name: str, value: Any) -> str:
    text = str(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


def params_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Return each param that changed, in words: `delay 1 → 2`, `+seed=3`, `-seed`; a secret's value never shown."""
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key in old and key in new and old[key] == new[key]:
            continue
        if is_secret_name(key):
            out.append(f"{key} changed" if key in old and key in new else f"{'+' if key in new else '-'}{key}")
        elif key not in old:
            out.append(f"+{key}={_shown(key, new[key])}")
        elif key not in new:
            out.append(f"-{key}")
        else:
            out.append(f"{key} {_shown(key, old[key])} → {_shown(key, new[key])}")
    return out


@dataclass(frozen=True, slots=True)
class StageState:
    """What the params rule needs of one stored stage."""

    index: int
    name: str
    completed: bool
    kept_progress: bool
    """Items done (or failed) or saved state: work made with the params as they were."""


def check_params_edit(job_id: JobId, stages: Sequence[StageState], new_names: Sequence[str], held: bool) -> int:
    """Apply the params rule; return the index of the first stage the new stage list may replace.

    Raises:
        EditRefusedError: the rule refuses the edit (see the module's docstring).
    """
    if held:
        raise EditRefusedError(job_id, "a runner holds its stage in place (a paused command): the process runs with"
                                       " the params as they were; cancel or retry the job first")
    first_open = 0
    for s in stages:
        if s.completed:
            if s.index >= len(new_names) or new_names[s.index] != s.name:
                raise EditRefusedError(job_id, f"the new params change stage {s.index + 1} ({s.name!r}), which has"
                                               " completed; rewind the job to redo it")
            first_open = max(first_open, s.index + 1)
        elif s.kept_progress:
            raise EditRefusedError(job_id, f"stage {s.name!r} kept progress made with the old params; rewind it first"
                                           f" (jobtui rewind {job_id} --to {s.name})")
    return first_open


def change_texts(edit: JobEdit, old: Mapping[str, Any]) -> list[str]:
    """Return the words of each field an edit changes (the history's detail), given the job's old fields."""
    out: list[str] = []
    if edit.params is not None and edit.params != old["params"]:
        out.append("params " + ", ".join(params_changes(old["params"], edit.params)))
    for name, value in (("priority", edit.priority), ("max_retries", edit.max_retries)):
        if value is not None and value != old[name]:
            out.append(f"{name} {old[name]} → {value}")
    if edit.timeout_ms is not None and edit.timeout_ms != old["timeout_ms"]:
        was = "the type's" if old["timeout_ms"] is None else f"{old['timeout_ms'] / 1000:g}s"
        out.append(f"timeout {was} → {edit.timeout_ms / 1000:g}s")
    if edit.run_at_ms is not None and edit.run_at_ms != old["run_at_ms"]:
        out.append(f"at {_when(old['run_at_ms'])} → {_when(edit.run_at_ms)}")
    if edit.needs is not None and tuple(edit.needs) != tuple(old["needs"]):
        out.append(f"needs {', '.join(old['needs']) or 'none'} → {', '.join(edit.needs) or 'none'}")
    if edit.after:
        out.append("after " + ", ".join(f"#{d}" for d in sorted(set(edit.after))))
    queue = None if edit.no_queue else edit.queue
    if (edit.queue is not None or edit.no_queue) and queue != old["queue"]:
        out.append(f"queue {old['queue'] or 'none'} → {queue or 'none'}")
    return out


def labels_change(old: Labels, new: Labels) -> str | None:
    """Return the words of a change of labels (None when they are the same)."""
    if old == new:
        return None
    return f"labels {labels_text(old) or 'none'} → {labels_text(new) or 'none'}"


def _when(ms: int | None) -> str:
    return iso(ms) or "now"
