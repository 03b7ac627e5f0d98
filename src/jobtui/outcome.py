"""How a job's outcome is told: failed items a completed job tolerated, never shown as a plain success (issue 15)."""

from __future__ import annotations

from typing import Any

from .model import ACTIVE, Job, JobDetail, JobStatus, StageStatus

TOLERATED = "tolerated: "
"""How the note a stage keeps of the failed items it accepted begins (`allow_failures`)."""


def tolerated(detail: JobDetail) -> str | None:
    """Return what a completed job accepted as failed ('each: 2 of 4 items failed (allowed: 50%)'), or None."""
    if detail.job.status is not JobStatus.COMPLETED:
        return None
    notes = [f"{s.name}: {s.error.removeprefix(TOLERATED)}" for s in detail.stages
             if s.status is StageStatus.COMPLETED and s.error and s.error.startswith(TOLERATED)]
    if not notes and detail.job.items_failed:
        return f"{detail.job.items_failed} failed item(s)"
    return "; ".join(notes) or None


def items_text(job: Job) -> str:
    """Return a job's item count as the lists show it: '12', '10 (2 failed)', '10 (2 failed, tolerated)'."""
    if not job.items_failed:
        return f"{job.items_done}"
    tolerated = ", tolerated" if job.status is JobStatus.COMPLETED else ""
    return f"{job.items_done} ({job.items_failed} failed{tolerated})"


def process_state(proc: dict[str, Any], job: Job) -> str:
    """Word a command's process (a `processes` row of `show --json`) as it is now, for a person (issue 15, item 13).

    A process is frozen only while its job is held paused; one whose runner is gone is not running, and one
    jobtui ended has no exit code of its own (never a Python `None`).
    """
    if proc.get("ended_at") is None:
        if proc.get("frozen") and job.held:
            return "frozen (SIGSTOP)"
        if job.status in ACTIVE:
            return "running"
        return "not watched: its runner stopped; ended before the stage runs again"
    code = proc.get("exit_code")
    if code is None:
        return "ended (by jobtui: no exit code)"
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"
