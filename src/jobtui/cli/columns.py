"""The columns of `jobtui ls` (`--columns id,status,command`, pueue-style) and what command jobs run.

A column is a name, a header and a function of one job and what the listing looked up once for every job (waits,
needs, labels). Unknown column names are refused in one line with the name probably meant.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..fleet import needs_text
from ..model import Job, JobId, JobRef, JobStatus, iso, redact, waiting_reason
from ..outcome import items_text
from ..redaction import Secrets
from ..wording import ago, until
from .helptext import did_you_mean


@dataclass(frozen=True, slots=True)
class Seen:
    """What the listing looked up once for all its jobs."""

    now_ms: int
    waiting: Mapping[JobId, Sequence[JobRef]] = field(default_factory=dict)
    unmet: Mapping[JobId, tuple[str, ...]] = field(default_factory=dict)
    labels: Mapping[JobId, Sequence[tuple[str, str]]] = field(default_factory=dict)


def command_specs(params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the command stages of a command, pipeline or foreach job's params (none for other jobs)."""
    stages = params.get("stages")
    if not isinstance(stages, list):
        return []
    return [s for s in stages if isinstance(s, Mapping) and isinstance(s.get("run"), str | list)]


def command_text(params: Mapping[str, Any]) -> str:
    """Return what a command job runs as a person would type it (stages joined by ' → '), secrets redacted."""
    runs = [s["run"] if isinstance(s["run"], str) else shlex.join(str(w) for w in s["run"])
            for s in command_specs(params)]
    return str(redact(" → ".join(runs), Secrets.of(dict(params))))


def _stage(j: Job, seen: Seen) -> str:
    if j.job_id in seen.waiting:
        return waiting_reason(list(seen.waiting[j.job_id]))
    if j.job_id in seen.unmet:
        return needs_text(seen.unmet[j.job_id])
    if j.status is JobStatus.QUEUED and j.run_at_ms is not None and j.run_at_ms > seen.now_ms:
        return f"starts {until(j.run_at_ms, seen.now_ms)}"
    return f"{min(j.current_step_index + 1, j.total_steps)}/{j.total_steps} {j.current_step or ''}".strip()


def _name(j: Job, _seen: Seen) -> str:
    return str(redact(j.name, Secrets.of(j.params)))[:60] if j.name else ""


Cell = Callable[[Job, Seen], str]

COLUMNS: dict[str, tuple[str, Cell]] = {
    "id": ("ID", lambda j, s: str(j.job_id)),
    "type": ("TYPE", lambda j, s: j.type),
    "status": ("STATUS", lambda j, s: j.status.value),
    "stage": ("STAGE", _stage),
    "progress": ("PROGRESS", lambda j, s: f"{j.progress * 100:.0f}%"),
    "items": ("ITEMS", lambda j, s: items_text(j)),
    "updated": ("UPDATED", lambda j, s: ago(j.updated_at_ms, s.now_ms)),
    "created": ("CREATED", lambda j, s: iso(j.created_at_ms) or ""),
    "started": ("STARTED", lambda j, s: iso(j.started_at_ms) or "-"),
    "priority": ("PRIORITY", lambda j, s: str(j.priority)),
    "retries": ("JOB RETRIES", lambda j, s: f"{j.retry_count}/{j.max_retries}"),
    "queue": ("QUEUE", lambda j, s: j.queue or "-"),
    "labels": ("LABELS", lambda j, s: ",".join(f"{k}={v}" for k, v in s.labels.get(j.job_id, ())) or "-"),
    "name": ("NAME", _name),
    "command": ("COMMAND", lambda j, s: command_text(j.params)[:80] or "-"),
}
"""Every column `ls --columns` offers, in the order `ls --help` lists them."""

DEFAULT_COLUMNS = ("id", "type", "status", "stage", "progress", "items", "updated", "name")


def parse_columns(text: str | None) -> list[str]:
    """Return the columns `--columns` names (comma-separated), the default ones without it.

    Raises:
        UsageError: an unknown column (with the one probably meant), or none at all.
    """
    if text is None:
        return list(DEFAULT_COLUMNS)
    names = [c.strip().lower() for c in text.split(",") if c.strip()]
    if not names:
        raise UsageError(f"--columns: name at least one column ({', '.join(COLUMNS)})")
    for name in names:
        if name not in COLUMNS:
            close = did_you_mean(name, COLUMNS)
            hint = f"; did you mean {close!r}?" if close else ""
            raise UsageError(f"--columns: unknown column {name!r}{hint} (columns: {', '.join(COLUMNS)})")
    return list(dict.fromkeys(names))


def rows(jobs: Sequence[Job], columns: Sequence[str], seen: Seen) -> list[list[str]]:
    """Return the table of `jobs`: the headers, then one row a job."""
    cells = [COLUMNS[c][1] for c in columns]
    return [[COLUMNS[c][0] for c in columns], *([cell(j, seen) for cell in cells] for j in jobs)]
