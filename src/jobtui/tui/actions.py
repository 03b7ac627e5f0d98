"""JobActions: what the keys p r c t R d X n do to jobs, when each applies, and the palette's job commands.

The app keeps the `action_*` methods Textual calls (one line each) and delegates here.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.events import Key

from ..client.bulk import BULK_CONFIRM
from ..errors import JobtuiError
from ..model import DEPENDABLE, Action, Job, JobId, action_applies
from .format import clean
from .host import AppHost, JobCommand
from .keys import STEERING_KEYS, readonly_note
from .screens import ConfirmScreen, RewindScreen
from .template_form import TemplateJobScreen

JOB_ACTIONS: dict[str, Action] = {
    "pause": Action.PAUSE, "resume": Action.RESUME, "cancel": Action.CANCEL, "retry": Action.RETRY,
    "rewind": Action.REWIND, "delete": Action.DELETE, "fail": Action.FAIL,
}
"""The app's action names that steer jobs, with the request each sends."""
_ASK_ABOVE: dict[Action, tuple[str, str]] = {
    Action.PAUSE: ("Pause", "Each stops at its next safe point; r resumes them."),
    Action.RESUME: ("Resume", "Each continues from its last checkpoint."),
    Action.RETRY: ("Retry", "Each runs again now."),
}
"""Actions that need no confirmation on a few jobs, but do on more than BULK_CONFIRM marked ones."""
_PAST = {Action.PAUSE: "pause requested", Action.RESUME: "resumed", Action.CANCEL: "cancel requested",
         Action.RETRY: "retry queued", Action.REWIND: "rewound", Action.DELETE: "deleted",
         Action.FAIL: "failed"}


class JobActions:
    """Steer the highlighted (or the marked) jobs through the client; tell the user what happened."""

    def __init__(self, app: AppHost) -> None:
        self.app = app

    def targets(self) -> list[Job]:
        """Return the marked jobs, else the highlighted one."""
        app = self.app
        jobs = app.feed.jobs
        marked = app.table.marked
        if marked:
            return [jobs[i] for i in sorted(marked) if i in jobs]
        job = app.selected_job
        return [job] if job is not None else []

    def check(self, action: str) -> bool | None:
        """Tell Textual whether an action applies: True shown, False hidden (the footer offers only what applies)."""
        app = self.app
        if action in JOB_ACTIONS:
            if app.readonly:
                return False
            targets = self.targets()
            if action == "rewind" and app.table.marked:
                return False
            if not targets:
                return False
            return any(action_applies(JOB_ACTIONS[action], j.status) for j in targets)
        if action in ("new_job", "clean"):
            return not app.readonly
        if action == "depend":
            job = app.selected_job
            return not app.readonly and not app.table.marked and job is not None and job.status in DEPENDABLE
        return True

    def readonly_key(self, event: Key, *, main: bool) -> None:
        """Read-only: say why a steering key does nothing on the main screen (its binding is hidden)."""
        if self.app.readonly and main and event.key in STEERING_KEYS:
            self.app.notify(readonly_note(event.key), severity="warning", timeout=4)
            event.stop()

    def soon(self, action: Action, ids: Iterable[JobId] | None = None, *, to_stage: str | None = None,
             reason: str | None = None) -> None:
        """Send requests without blocking the keys: a bulk action on many jobs takes many transactions.

        On more than BULK_CONFIRM marked jobs (`A` marks all the filter matches), ask first, as the CLI's `--where`.
        """
        if ids is None and self.app.table.marked and action in _ASK_ABOVE:
            many = [j for j in self.targets() if action_applies(action, j.status)]
            if len(many) > BULK_CONFIRM:
                verb, consequence = _ASK_ABOVE[action]
                self.confirm(action, verb, consequence, yes=f"{verb} {len(many)} jobs", no="Leave them")
                return
        targets = list(ids) if ids is not None else None
        self.app.run_worker(self.act(action, targets, to_stage=to_stage, reason=reason), group="act",
                            name=f"{action.value}")

    def confirm(self, action: Action, verb: str, consequence: str, *, yes: str, no: str) -> None:
        """Ask first (the safe answer has the focus), then act on the jobs to which `action` applies."""
        app = self.app
        targets = [j for j in self.targets() if action_applies(action, j.status)]
        if not targets:
            app.notify(f"Nothing to {verb.lower()} here.", severity="warning")
            return
        if len(targets) == 1:
            j = targets[0]
            message = Text(f"{verb} job {j.job_id} ({clean(j.type)}, {j.status.value})?\n\n{consequence}")
            title = f"{verb} job {j.job_id}?"
        else:
            listed = ", ".join(str(j.job_id) for j in targets[:12]) + (" …" if len(targets) > 12 else "")
            message = Text(f"{verb} {len(targets)} jobs ({listed})?\n\n{consequence}")
            title = f"{verb} {len(targets)} jobs?"
        ids = [j.job_id for j in targets]

        def answered(ok: bool | None) -> None:
            if ok:
                self.soon(action, ids)

        app.push_screen(ConfirmScreen(title, message, yes=yes, no=no), answered)

    def cancel(self) -> None:
        """Cancel, after asking."""
        self.confirm(Action.CANCEL, "Cancel", "It stops at once; its checkpoints are kept and r resumes it.",
                     yes="Cancel it", no="Keep it")

    def delete(self) -> None:
        """Delete, after asking."""
        self.confirm(Action.DELETE, "Delete", "Its items, log and workspace are removed. This cannot be undone.",
                     yes="Delete", no="Keep it")

    async def rewind(self) -> None:
        """Ask for the stage to run the highlighted job again from, then rewind it."""
        app = self.app
        job = app.selected_job
        if job is None or app.readonly or not action_applies(Action.REWIND, job.status):
            return
        try:
            detail = await app.client.detail(job.job_id)
        except JobtuiError as e:
            app.notify(str(e), severity="error", markup=False)
            return

        def chosen(stage: str | None) -> None:
            if stage:
                self.soon(Action.REWIND, [job.job_id], to_stage=stage)

        app.push_screen(RewindScreen(detail), chosen)

    async def act(self, action: Action, ids: Iterable[JobId] | None = None, *, to_stage: str | None = None,
                  reason: str | None = None) -> None:
        """Send one request to each target job, show the outcome as a toast, and update the rows at once."""
        app = self.app
        if app.readonly:
            return
        feed = app.feed
        bulk = bool(app.table.marked)
        targets = [feed.jobs[i] for i in ids if i in feed.jobs] if ids is not None else self.targets()
        applicable = [j for j in targets if action_applies(action, j.status)]
        skipped = len(targets) - len(applicable)
        done: list[str] = []
        failed: list[str] = []
        for job in applicable:
            try:
                r = await app.client.control(job.job_id, action, to_stage=to_stage, reason=reason)
            except JobtuiError as e:
                failed.append(str(e))
                continue
            if not app.ui_ok():
                return
            if r.after is None:
                done.append(f"job {job.job_id}: deleted")
            else:
                extra = f" from {to_stage}" if action is Action.REWIND and to_stage else ""
                done.append(f"job {job.job_id}: {r.before.value} → {r.after.value}{extra}")
        if not app.ui_ok():
            return
        await app.poll(full=True)  # the rows, the detail and the log show the requests' effect at once
        if not app.ui_ok():
            return  # the app closed meanwhile
        if len(done) == 1 and not skipped:
            app.notify(done[0], title=_PAST[action].capitalize(), markup=False)
        elif done:
            note = f"{len(done)} jobs {_PAST[action]}" + (f"; {skipped} skipped (not applicable)" if skipped else "")
            app.notify(note, title=action.value.capitalize(), markup=False)
        elif not failed:
            app.notify(f"Nothing to {action.value}: no selected job allows it.", severity="warning")
        for message in failed[:3]:
            app.notify(message, severity="error", markup=False)
        if bulk and done:
            app.table.clear_marks()
        app.bindings_changed()

    def new_job(self) -> None:
        """Open the new-job form; select the job it queues."""
        app = self.app
        if app.readonly:
            return

        async def submitted(job_id: JobId | None) -> None:
            if job_id is None:
                return
            try:
                job = await app.client.job(job_id)
            except JobtuiError:
                return
            await app.poll(full=True)
            if not app.ui_ok():
                return  # the app closed meanwhile
            app.select_job(job_id)
            app.notify(f"job {job_id} ({clean(job.type)}) queued", title="Submitted", markup=False)

        app.push_screen(TemplateJobScreen(app.client), submitted)

    def edit_job(self) -> None:
        """Open the new-job form filled with the selected job (`E`): save the edit, or submit a copy."""
        from .edit_form import COMMAND_KINDS, EditJobScreen

        app = self.app
        job = app.selected_job
        if app.readonly or job is None:
            return
        if job.type in COMMAND_KINDS or job.type not in app.client.type_names:
            app.notify(f"Edit job {job.job_id} with `jobtui edit {job.job_id}` (a {job.type} job's form cannot hold it).",
                       severity="warning", markup=False)
            return

        async def done(job_id: JobId | None) -> None:
            if job_id is None:
                return
            await app.poll(full=True)
            if not app.ui_ok():
                return
            app.select_job(job_id)
            said = "edited" if job_id == job.job_id else f"copied to job {job_id}"
            app.notify(f"job {job.job_id} {said}", title="Edit", markup=False)

        app.push_screen(EditJobScreen(app.client, job), done)

    def commands(self) -> list[JobCommand]:
        """Return the job commands that apply now, for the palette: (title, help, callback)."""
        app = self.app
        job = app.selected_job
        subject = f"job {job.job_id}" if job is not None else "the job"
        if app.table.marked:
            subject = f"{len(app.table.marked)} marked jobs"
        listed: list[tuple[str, JobCommand]] = [
            ("pause", ("Pause", f"Pause {subject} at its next safe point", lambda: self.soon(Action.PAUSE))),
            ("resume", ("Resume", f"Resume {subject} from its last checkpoint", lambda: self.soon(Action.RESUME))),
            ("cancel", ("Cancel", f"Cancel {subject} (asks first)", self.cancel)),
            ("retry", ("Retry", f"Retry {subject} now", lambda: self.soon(Action.RETRY))),
            ("rewind", ("Rewind", f"Run {subject} again from a stage", self.rewind)),
            ("delete", ("Delete", f"Delete {subject} (asks first)", self.delete)),
            ("new_job", ("New job", "Submit a job: choose its type and params", self.new_job)),
        ]
        return [(f"{title} {subject}" if action in JOB_ACTIONS else title, help_text, callback)
                for action, (title, help_text, callback) in listed if self.check(action)]
