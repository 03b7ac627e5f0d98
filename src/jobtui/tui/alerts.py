"""End alerts: which job changes deserve a toast (and a bell), in words; pure, no Textual.

Failures and auto-pauses call for the user: they are toasted at once. Completions and cancellations
are news: the app shows them at most every few seconds, folded into one short toast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model import Job, JobId, JobStatus, is_auto_paused
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


def end_alerts(changed: Mapping[JobId, JobStatus | None], jobs: Mapping[JobId, Job], *, new_jobs: bool = True,
               since_ms: int | None = None) -> list[Alert]:
    """Return the alerts for jobs seen to complete, fail, be cancelled or auto-pause since the last poll.

    `changed` gives each changed job's status before. A job seen for the first time (None) counts only
    with `new_jobs` (not on the first load: those ended before we looked); after that, a new job already
    at its end ended between two polls. `jobs` holds the changed jobs' rows now (those without are skipped).
    A job last changed before `since_ms` (it ended before the app opened) is not news.
    """
    out = []
    for job_id, before in changed.items():
        job = jobs.get(job_id)
        if job is None or (before is None and not new_jobs) or before is job.status:
            continue
        if since_ms is not None and job.updated_at_ms < since_ms:
            continue
        if job.status in _ENDS:
            severity = _ENDS[job.status]
            detail = f": {clean(job.error_message)}" if job.status is JobStatus.FAILED and job.error_message else ""
        elif job.status is JobStatus.PAUSED and is_auto_paused(job.pause_reason):
            severity = "warning"
            detail = f": {clean(job.pause_reason or '')}"
        else:
            continue
        message = f"{status_label(job.status.value)}{detail}"
        out.append(Alert(job_id, f"Job {job_id} · {clean(job.type)}", message[:300], severity))
    return out


def is_quiet(alert: Alert) -> bool:
    """Tell whether an alert is news rather than a call for attention (a job completed or was cancelled)."""
    return alert.severity != "error" and not alert.message.startswith(status_label(JobStatus.PAUSED.value))


def coalesce(alerts: Sequence[Alert], *, limit: int = 2) -> list[Alert]:
    """Fold the alerts of each kind (completed, failed...) into one toast when there are more than `limit`.

    Twenty jobs ending in one refresh give one toast that names them, not a stack over the panes.
    """
    kinds: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        kinds.setdefault((alert.message.split(":", 1)[0], alert.severity), []).append(alert)
    out: list[Alert] = []
    for (label, severity), group in kinds.items():
        if len(group) <= limit:
            out += group
            continue
        ids = [a.job_id for a in group]
        shown = " ".join(f"#{i}" for i in ids[:MAX_IDS]) + (f" … (+{len(ids) - MAX_IDS} more)" if len(ids) > MAX_IDS
                                                              else "")
        word = label.partition(" ")[2]
        out.append(Alert(ids[0], f"{len(ids)} jobs {word}", f"{label}: {shown}", severity))
    return out


MAX_IDS = 8
"""Job ids named in a folded toast."""


def summarise(alerts: Sequence[Alert]) -> list[Alert]:
    """Fold the alerts of one refresh into one toast when there are several: one toast, not a stack over the panes."""
    folded = coalesce(alerts)
    if len(folded) <= 1:
        return folded
    severity = "error" if any(a.severity == "error" for a in folded) else "warning"
    lines = [f"#{a.job_id} {a.message}" if a.title.startswith("Job ") else a.message for a in folded]
    more = f"\n… (+{len(lines) - MAX_LINES} more)" if len(lines) > MAX_LINES else ""
    count = sum(int(a.title.split()[0]) if not a.title.startswith("Job ") else 1 for a in folded)
    return [Alert(folded[0].job_id, f"{count} jobs need you", "\n".join(lines[:MAX_LINES]) + more, severity)]


MAX_LINES = 4
"""Lines of a summary toast."""
