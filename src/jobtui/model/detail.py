"""JobDetail: a job with its stages, files, dependencies, notifications and processes (the detail JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..redaction import Secrets, redact, redact_command
from .jobs import FileRecord, Job, JobRef, StageRun
from .operations import Notification, ProcessRecord
from .states import JobStatus


@dataclass(frozen=True, slots=True)
class JobDetail:
    """A job with its stages and counters: what `show` prints."""

    job: Job
    stages: tuple[StageRun, ...]
    results: int = 0
    files: tuple[FileRecord, ...] = ()
    depends_on: tuple[JobRef, ...] = ()
    """The jobs this one starts after (`--after`)."""
    dependents: tuple[JobRef, ...] = ()
    """The jobs that start after this one."""
    notify: tuple[tuple[str, str], ...] = ()
    """Where this job's ends are told: (kind, target), kind 'url' or 'cmd'."""
    notifications: tuple[Notification, ...] = ()
    """Each event told (or to tell), with its delivery state."""
    needs: tuple[str, ...] = ()
    """The tags a runner must have to run this job (`--needs`), sorted."""

    @property
    def waiting_on(self) -> tuple[JobRef, ...]:
        """Return the dependencies that have not completed."""
        return tuple(r for r in self.depends_on if r.status is not JobStatus.COMPLETED)
    processes: tuple[ProcessRecord, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    """The job's labels, (key, value) sorted by key."""

    @property
    def frozen(self) -> bool:
        """Tell whether a command of this job is frozen (SIGSTOP) while the job is paused."""
        return any(p.frozen and p.alive for p in self.processes)

    def to_dict(self, *, secrets_visible: bool = False) -> dict[str, Any]:
        """Return the job detail object of DESIGN.md."""
        secrets = None if secrets_visible else Secrets.of(self.job.params)
        out = self.job.to_dict(secrets_visible=secrets_visible, secrets=secrets)
        out["stages"] = [s.to_dict() for s in self.stages]
        if secrets is not None:
            for stage in out["stages"]:
                for key in ("error", "output", "traceback"):
                    if stage[key] is not None:
                        stage[key] = redact(stage[key], secrets)
        out["counters"] = {
            "items_done": sum(s.items_done for s in self.stages),
            "items_failed": sum(s.items_failed for s in self.stages),
            "results": self.results,
        }
        out["files"] = [f.to_dict() for f in self.files]
        out["depends_on"] = [r.to_dict() for r in self.depends_on]
        out["dependents"] = [r.to_dict() for r in self.dependents]
        out["waiting_on"] = [r.job_id for r in self.waiting_on]
        out["notify"] = [{"kind": k, "target": redact_command(t)} for k, t in self.notify]
        out["notifications"] = [n.to_dict() for n in self.notifications]
        out["needs"] = list(self.needs)
        out["labels"] = dict(self.labels)
        if self.processes:
            procs = [p.to_dict() for p in self.processes]
            out["processes"] = procs if secrets is None else redact(procs, secrets)
            out["frozen"] = self.frozen
        return out

