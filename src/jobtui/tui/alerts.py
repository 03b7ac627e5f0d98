"""End alerts: which job changes deserve a toast (and a bell), in words; pure, no Textual."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..model import Job, JobId, JobStatus
from .format import clean, status_label

_ENDS = {JobStatus.COMPLETED: "information", JobStatus.FAILED: "error", JobStatus.CANCELLED: "warning"}


@dataclass(frozen=True, slots=True)
class Alert:
    """One toast: a job ended or auto-paused."""

    job_id: JobId
    title: str
    message: str
    severity: str
    """'information', 'warning' or 'error' (Textual's toast severities)."""


def end_alerts(changed: Mapping[JobId, Job | None], jobs: Mapping[JobId, Job], *, new_jobs: bool = True) -> list[Alert]:
    """Return the alerts for jobs seen to complete, fail, be cancelled or auto-pause since the last poll.

    A job seen for the first time (`before` is None) counts only with `new_jobs` (not on the first load:
    those ended before we looked); after that, a new job already at its end ended between two polls.
    """
    out = []
    for job_id, before in changed.items():
        job = jobs.get(job_id)
        if job is None or (before is None and not new_jobs) or (before is not None and before.status is job.status):
            continue
        if job.status in _ENDS:
            severity = _ENDS[job.status]
            detail = f": {clean(job.error_message)}" if job.status is JobStatus.FAILED and job.error_message else ""
        elif job.status is JobStatus.PAUSED and (job.pause_reason or "").startswith("auto-paused"):
            severity = "warning"
            detail = f": {clean(job.pause_reason or '')}"
        else:
            continue
        message = f"{status_label(job.status.value)}{detail}"
        out.append(Alert(job_id, f"Job {job_id} · {clean(job.type)}", message[:300], severity))
    return out
