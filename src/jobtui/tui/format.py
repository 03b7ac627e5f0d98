"""How the TUI words things: status glyphs, times, durations, bars; pure functions, no Textual."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, chop_cells

from ..model import ACTIVE, TERMINAL, Job, JobStatus, StageRun, StageStatus, redact
from ..wording import absolute as absolute  # re-exported for the TUI
from ..wording import ago as ago
from ..wording import duration as duration
from ..wording import short_duration as short_duration
from ..wording import until as until

Clock = Callable[[], int]
"""Returns epoch milliseconds; injected so that screenshots and tests are stable."""

@dataclass(frozen=True, slots=True)
class StatusLook:
    """How the TUI shows one job status (its colour is the TCSS class `<widget>--<status>`)."""

    glyph: str
    """One cell wide, no emoji (their width varies between terminals)."""
    rank: int
    """Sort order by status: what needs a person first."""
    help: str
    """What it means, for the help screen's legend."""
    word: str = ""
    """A shorter word for the status line (default: the status itself)."""
    failure: bool = False
    """Shown by the failures-only view."""


S = JobStatus
STATUS_LOOK: dict[JobStatus, StatusLook] = {
    S.FAILED: StatusLook("✗", 0, "a stage failed for good; t retries, R rewinds", failure=True),
    S.WAITING_RETRY: StatusLook("↻", 1, "failed; retried automatically later", "retry", failure=True),
    S.PAUSING: StatusLook("◐", 2, "stops at its next safe point"),
    S.CANCELLING: StatusLook("◌", 3, "being interrupted"),
    S.RUNNING: StatusLook("●", 4, "a runner holds it and runs its stages"),
    S.PAUSED: StatusLook("‖", 5, "stopped at a checkpoint; r resumes it"),
    S.QUEUED: StatusLook("○", 6, "waiting for a runner (or for its start time)"),
    S.BLOCKED: StatusLook("⧗", 6, "waiting for the jobs it runs after (--after) to complete"),
    S.CANCELLED: StatusLook("⊘", 7, "stopped for good; r resumes it anyway"),
    S.COMPLETED: StatusLook("✓", 8, "every stage is done", "done"),
}
"""The one table of how each status looks; a test checks that every status has an entry and a colour."""

STATUS_GLYPH: dict[str, str] = {s: look.glyph for s, look in STATUS_LOOK.items()}
"""One cell-wide glyph per job status."""
STATUS_RANK: dict[str, int] = {s: look.rank for s, look in STATUS_LOOK.items()}
"""Sort order by status: what needs a person first."""
FAILURE_STATUSES = frozenset(s for s, look in STATUS_LOOK.items() if look.failure)
STATUS_ORDER: tuple[JobStatus, ...] = tuple(
    sorted(JobStatus, key=lambda s: (0 if s in ACTIVE else 2 if s in TERMINAL else 1, STATUS_LOOK[s].rank))
)
"""Statuses by the model's life cycle (held by a runner, waiting, settled), then by rank within each."""

STAGE_GLYPH: dict[str, str] = {
    StageStatus.PENDING: "·",
    StageStatus.RUNNING: "●",
    StageStatus.RETRYING: "↻",
    StageStatus.INTERRUPTED: "‖",
    StageStatus.FAILED: "✗",
    StageStatus.COMPLETED: "✓",
}
STAGE_COLOUR: dict[StageStatus, JobStatus] = {
    StageStatus.PENDING: JobStatus.QUEUED,
    StageStatus.RUNNING: JobStatus.RUNNING,
    StageStatus.RETRYING: JobStatus.WAITING_RETRY,
    StageStatus.INTERRUPTED: JobStatus.PAUSED,
    StageStatus.FAILED: JobStatus.FAILED,
    StageStatus.COMPLETED: JobStatus.COMPLETED,
}
"""A stage is drawn in the colour of the job status it resembles."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def status_label(status: str) -> str:
    """Return glyph and word, e.g. '● running' (readable without colour)."""
    return f"{STATUS_GLYPH.get(status, '?')} {status}"


def job_status_label(job: Job) -> str:
    """Return a job's status as the list shows it: '✓ completed 2✗' for a completed job with tolerated failed items."""
    label = status_label(job.status.value)
    if job.status is JobStatus.COMPLETED and job.items_failed:
        label += f" {job.items_failed}✗"
    return label


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


def elapsed_ms(job: Job, now: int, paused: int = 0) -> int | None:
    """Return the time since the job first started, until it ended or paused, less `paused` (the ms of the
    pauses behind it, `paused.paused_ms`): Job.elapsed_ms with an injected clock, paused time left out."""
    if job.started_at_ms is None:
        return None
    end = job.completed_at_ms or job.cancelled_at_ms
    if end is None and job.status is JobStatus.PAUSED and job.paused_at_ms is not None:
        end = job.paused_at_ms
    elif end is None and job.status not in ACTIVE and job.status is not JobStatus.QUEUED:
        end = job.updated_at_ms
    return max(0, (end or now) - job.started_at_ms - paused)


def eta_ms(job: Job, now: int, paused: int = 0) -> int | None:
    """Estimate the time left of a running job from its progress so far (None when unknown)."""
    if job.status not in ACTIVE:
        return None
    spent = elapsed_ms(job, now, paused)
    p = job.progress
    if spent is None or p < 0.02 or p >= 1.0:
        return None
    return int(spent * (1 - p) / p)


def elapsed_eta(job: Job, now: int, paused: int = 0) -> str:
    """Format 'elapsed' or 'elapsed/~eta' for the job list (`paused`: ms of pauses left out)."""
    spent = elapsed_ms(job, now, paused)
    if spent is None:
        return ""
    eta = eta_ms(job, now, paused)
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


def progress_note(message: str | None, stage: str | None) -> str:
    """Return a progress message without a leading stage name the line already shows ('extract 3/10' -> '3/10')."""
    if not message:
        return ""
    text = message.strip()
    if stage and text.startswith(stage):
        rest = text[len(stage):].lstrip(" :·-")
        if rest:
            return rest
    return text


def wrap_words(text: str, width: int) -> list[str]:
    """Wrap a line at word boundaries to at most `width` cells; a word longer than a line is cut.

    Linear in the length of the line: a long word is chopped once (chopping it again for each row was
    quadratic: a 1 MiB line took minutes, issue 14 item 3).
    """
    if cell_len(text) <= width:
        return [text]
    lines: list[str] = []
    line, used = "", 0
    for word in re.split(r"(?<=\s)(?=\S)", text):  # each word keeps the spaces after it
        stripped = word.rstrip()
        cells = cell_len(stripped)
        if used + cells <= width:
            line += word
            used += cells + cell_len(word) - cells
            continue
        if line:
            lines.append(line.rstrip())
        if cells > width:
            *full, last = chop_cells(stripped, width)
            lines.extend(full)
            word = last + word[len(stripped):]
        line, used = word, cell_len(word)
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def when(job: Job, now: int) -> str:
    """Return the list's time for a job: 'in 1h' when it waits for its start (or retry) time, else '3m ago'."""
    due = job.run_at_ms if job.status is JobStatus.QUEUED else (
        job.next_retry_at_ms if job.status is JobStatus.WAITING_RETRY else None)
    if due is not None and due > now:
        return f"in {short_duration(due - now)}"
    return ago(job.updated_at_ms, now)


def output_text(value: Any, limit: int = 240) -> str:
    """Return a stage's output as compact JSON on one line, cut at `limit` characters."""
    try:
        text = json.dumps(value, separators=(", ", ": "), default=str, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    text = clean(text.replace("\n", " "))
    return text if len(text) <= limit else text[: limit - 1] + "…"
