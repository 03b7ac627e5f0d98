"""AdminActions: the CLI's `fail --reason`, `clean` and `depend` in the TUI (keys X, D, a; issue 19, item 8).

Each asks first (the reason, the count, the job ids) and tells the user what happened in a toast.
"""

from __future__ import annotations

from rich.text import Text

from ..errors import JobtuiError
from ..model import TERMINAL, Action, JobId, JobStatus, action_applies, waiting_reason
from .actions import JobActions
from .ask import AskScreen
from .format import clean
from .host import AppHost, JobCommand
from .screens import ConfirmScreen

FINISHED = tuple(sorted(s.value for s in TERMINAL))
"""What D deletes, as `jobtui clean --older-than 0` does: completed, cancelled and failed jobs."""
_MAX_ID = 2**63 - 1


def reason_problem(text: str) -> str | None:
    """Say what is wrong with a force-fail reason (it must say why, as `jobtui fail --reason`)."""
    return None if text.strip() else "Say why: the reason is kept as the job's error message."


def parse_ids(text: str) -> list[JobId]:
    """Parse job ids separated by spaces or commas ('#12, 13'); raise ValueError naming a bad one."""
    out: list[JobId] = []
    for part in text.replace(",", " ").split():
        t = part.removeprefix("#")
        if not (t.isascii() and t.isdigit()) or len(t) > 19 or not 0 < int(t) <= _MAX_ID:
            raise ValueError(f"bad job id {part!r} (job ids are positive whole numbers)")
        if int(t) not in out:
            out.append(int(t))
    if not out:
        raise ValueError("Give the ids of the jobs it should wait for, e.g. 12 13.")
    return out


def _ids_problem(text: str) -> str | None:
    try:
        parse_ids(text)
    except ValueError as e:
        return str(e)
    return None


class AdminActions:
    """Force-fail with a reason, clean finished jobs, add a dependency: each asks first."""

    def __init__(self, app: AppHost, actions: JobActions) -> None:
        self.app = app
        self.actions = actions

    def fail(self) -> None:
        """Ask why, then force the highlighted (or marked) jobs that may fail to fail with that reason."""
        app = self.app
        targets = [j for j in self.actions.targets() if action_applies(Action.FAIL, j.status)]
        if app.readonly or not targets:
            if not app.readonly:
                app.notify("Nothing to fail here (only jobs not ended can be failed).", severity="warning")
            return
        ids = [j.job_id for j in targets]
        what = f"job {ids[0]} ({clean(targets[0].type)}, {targets[0].status.value})" if len(ids) == 1 \
            else f"{len(ids)} jobs"
        message = (f"Force {what} to fail. A running job is stopped at once; the reason is kept as its error "
                   "message (t retries it, r resumes it from its last checkpoint).")

        def answered(reason: str | None) -> None:
            if reason:
                self.actions.soon(Action.FAIL, ids, reason=reason)

        app.push_screen(AskScreen(f"Fail {what}?", message, placeholder="why (required)", ok="Fail",
                                  check=reason_problem), answered)

    async def clean(self) -> None:
        """Count the finished jobs, ask, then delete them with their items, logs and workspaces."""
        app = self.app
        if app.readonly:
            return
        try:
            counts = await app.client.status_counts()
        except JobtuiError as e:
            app.notify(str(e), severity="error", markup=False)
            return
        by_status = {s: counts.get(s, 0) for s in FINISHED if counts.get(s, 0)}
        total = sum(by_status.values())
        if not total:
            app.notify("No finished jobs to clean (completed, cancelled or failed).", severity="warning")
            return
        listed = ", ".join(f"{n} {s}" for s, n in by_status.items())
        message = Text(f"Delete {total} finished job{'s' if total != 1 else ''} ({listed}) with their items, "
                       "logs and workspaces? This cannot be undone.\n\n(`jobtui clean --older-than 7d` keeps "
                       "the recent ones.)")

        def answered(ok: bool | None) -> None:
            if ok:
                app.run_worker(self._clean(), group="act", name="clean")

        app.push_screen(ConfirmScreen(f"Clean {total} finished jobs?", message, yes="Delete them", no="Keep them"),
                        answered)

    async def _clean(self) -> None:
        app = self.app
        try:
            ids = await app.client.clean(0, FINISHED)
        except JobtuiError as e:
            app.notify(str(e), severity="error", markup=False)
            return
        if not app.ui_ok():
            return
        app.table.clear_marks()
        await app.poll(full=True)
        app.notify(f"deleted {len(ids)} finished job(s)", title="Clean", markup=False)

    def depend(self) -> None:
        """Ask for the jobs the highlighted job should also wait for, then add them (as `jobtui depend`)."""
        app = self.app
        job = app.selected_job
        if app.readonly or job is None:
            return
        if not self.actions.check("depend"):
            app.notify(f"job {job.job_id} is {job.status.value}: only a job not started (queued, blocked, paused) "
                       "takes new dependencies.", severity="warning", markup=False)
            return
        job_id = job.job_id

        def answered(text: str | None) -> None:
            if text:
                app.run_worker(self._depend(job_id, parse_ids(text)), group="act", name="depend")

        app.push_screen(AskScreen(f"Job {job_id} waits for…", f"Job {job_id} ({clean(job.type)}) starts only once "
                                  "every job given here has completed (it waits as blocked until then).",
                                  placeholder="job ids, e.g. 12 13", ok="Add", check=_ids_problem), answered)

    async def _depend(self, job_id: JobId, after: list[JobId]) -> None:
        app = self.app
        try:
            status = await app.client.depend(job_id, after)
            waiting = (await app.client.waiting_on([job_id])).get(job_id, ())
        except JobtuiError as e:
            app.notify(str(e), severity="error", markup=False)
            return
        if not app.ui_ok():
            return
        await app.poll(full=True)
        said = f"job {job_id}: {status.value}" + (f" ({waiting_reason(waiting)})" if waiting else "")
        if status is not JobStatus.BLOCKED and not waiting:
            said += " (those jobs have completed already)"
        app.notify(said, title="Dependency added", markup=False)

    def commands(self) -> list[JobCommand]:
        """Return the palette's entries for what applies now: fail, clean, depend."""
        check = self.actions.check
        job = self.app.selected_job
        subject = f"job {job.job_id}" if job is not None else "the job"
        listed = [("fail", (f"Fail {subject}", "Force it to fail with a reason (asks why)", self.fail)),
                  ("depend", (f"Add a dependency to {subject}", "Make it wait for other jobs (asks which)",
                              self.depend)),
                  ("clean", ("Clean finished jobs", "Delete completed, cancelled and failed jobs (asks first)",
                             lambda: self.app.run_worker(self.clean(), group="act", name="clean")))]
        return [command for action, command in listed if check(action)]
