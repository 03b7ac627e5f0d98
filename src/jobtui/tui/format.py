"""How the TUI words things: status glyphs, times, durations, bars; pure functions, no Textual."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..model import ACTIVE, Job, JobStatus, StageRun, StageStatus, redact
from ..wording import absolute as absolute, ago as ago, duration as duration  # re-exported for the TUI
from ..wording import short_duration as short_duration, until as until

Clock = Callable[[], int]
"""Returns epoch milliseconds; injected so that screenshots and tests are stable."""

STATUS_GLYPH: dict[str, str] = {
    JobStatus.QUEUED: "○",
    JobStatus.BLOCKED: "⧗",
    JobStatus.RUNNING: "●",
    JobStatus.PAUSING: "◐",
    JobStatus.PAUSED: "‖",
    JobStatus.CANCELLING: "◌",
    JobStatus.CANCELLED: "⊘",
    JobStatus.WAITING_RETRY: "↻",
    JobStatus.FAILED: "✗",
    JobStatus.COMPLETED: "✓",
}
"""One cell-wide glyph per job status (no emoji: their width varies between terminals)."""

STAGE_GLYPH: dict[str, str] = {
    StageStatus.PENDING: "·",
    StageStatus.RUNNING: "●",
    StageStatus.RETRYING: "↻",
    StageStatus.INTERRUPTED: "‖",
    StageStatus.FAILED: "✗",
    StageStatus.COMPLETED: "✓",
}

STATUS_RANK: dict[str, int] = {
    JobStatus.FAILED: 0,
    JobStatus.WAITING_RETRY: 1,
    JobStatus.PAUSING: 2,
    JobStatus.CANCELLING: 3,
    JobStatus.RUNNING: 4,
    JobStatus.PAUSED: 5,
    JobStatus.QUEUED: 6,
    JobStatus.BLOCKED: 6,
    JobStatus.CANCELLED: 7,
    JobStatus.COMPLETED: 8,
}
"""Sort order by status: what needs a person first."""

FAILURE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.WAITING_RETRY})

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def status_label(status: str) -> str:
    """Return glyph and word, e.g. '● running' (readable without colour)."""
    return f"{STATUS_GLYPH.get(status, '?')} {status}"


def is_failure(job: Job) -> bool:
    """Tell whether a job belongs in the failures-only view."""
    return job.status in FAILURE_STATUSES or job.items_failed > 0


def clean(text: str) -> str:
    """Return job-provided text safe to draw: tabs expanded, control characters shown as '�'."""
    return _CONTROL.sub("\ufffd", text.expandtabs(4))


def one_line(text: str | None, limit: int = 200) -> str:
    """Return the first line of `text`, cleaned and shortened."""
    if not text:
        return ""
    first = clean(text.strip().splitlines()[0] if text.strip() else "")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def elapsed_ms(job: Job, now: int) -> int | None:
    """Return the time since the job first started, until it ended (Job.elapsed_ms with an injected clock)."""
    if job.started_at_ms is None:
        return None
    end = job.completed_at_ms or job.cancelled_at_ms
    if end is None and job.status not in ACTIVE and job.status is not JobStatus.QUEUED:
        end = job.updated_at_ms
    return max(0, (end or now) - job.started_at_ms)


def eta_ms(job: Job, now: int) -> int | None:
    """Estimate the time left of a running job from its progress so far (None when unknown)."""
    if job.status not in ACTIVE:
        return None
    spent = elapsed_ms(job, now)
    p = job.progress
    if spent is None or p < 0.02 or p >= 1.0:
        return None
    return int(spent * (1 - p) / p)


def elapsed_eta(job: Job, now: int) -> str:
    """Format 'elapsed' or 'elapsed/~eta' for the job list."""
    spent = elapsed_ms(job, now)
    if spent is None:
        return ""
    eta = eta_ms(job, now)
    return short_duration(spent) + (f"/~{short_duration(eta)}" if eta is not None else "")


def stage_fraction(job: Job) -> str:
    """Return 'n/N': the stage the job is at, counted from 1."""
    total = job.total_steps
    return f"{min(job.current_step_index + 1, total)}/{total}" if total else "-"


def bar(fraction: float, width: int) -> tuple[str, str]:
    """Return the done and the to-do part of a progress bar of `width` cells (eighth-block precision)."""
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    done = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return done, "░" * max(0, width - len(done))


def stage_duration_ms(stage: StageRun, now: int) -> int | None:
    """Return how long a stage ran (so far, if it runs), with an injected clock."""
    if stage.started_at_ms is None:
        return None
    running = stage.status in (StageStatus.RUNNING, StageStatus.RETRYING)
    end = stage.finished_at_ms if stage.finished_at_ms is not None else (now if running else None)
    if end is None:
        return None
    return max(0, end - stage.started_at_ms)


def params_text(params: dict[str, Any]) -> str:
    """Return params as compact JSON with secrets redacted."""
    return json.dumps(redact(params), separators=(", ", ": "), default=str, ensure_ascii=False)


def haystack_fixed(job: Job) -> str:
    """Return the searchable text of a job that never changes: id, type, unique key, params (redacted)."""
    return f"{job.job_id} #{job.job_id} {job.type} {job.unique_key or ''} {params_text(job.params)}".lower()


def haystack(job: Job, fixed: str | None = None) -> str:
    """Return the lower-case text that free-text filtering searches for a job."""
    parts = [
        fixed if fixed is not None else haystack_fixed(job), job.status.value, job.current_step or "",
        job.progress_message or "", job.error_message or "", job.pause_reason or "", job.failed_step or "",
    ]
    return " ".join(parts).lower()
