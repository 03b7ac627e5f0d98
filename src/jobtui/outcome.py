"""How a job's outcome is told: failed items a completed job tolerated, never shown as a plain success (issue 15)."""

from __future__ import annotations

from .model import Job, JobDetail, JobStatus, StageStatus

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
