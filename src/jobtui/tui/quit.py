"""QuitFlow: quitting while the embedded runner holds jobs: keep them running elsewhere, pause them, or stop them."""

from __future__ import annotations

from ..errors import JobtuiError
from ..model import JobId
from .background import spawn_runner
from .host import AppHost
from .lifecycle import RunnerLifecycle
from .screens import QuitScreen


class QuitFlow:
    """Ask what to do with the running jobs (only when there are some), then do it and exit."""

    def __init__(self, app: AppHost, lifecycle: RunnerLifecycle) -> None:
        self.app = app
        self.lifecycle = lifecycle

    def running_here(self) -> list[JobId]:
        """Return the jobs the embedded runner holds."""
        if not self.lifecycle.alive:
            return []
        return self.app.client.running_job_ids()

    async def start(self) -> None:
        """Quit at once without running jobs; else ask (the runner claims nothing new meanwhile)."""
        app = self.app
        if self.lifecycle.alive:
            # Without this, jobs claimed while the dialog is open would be missed by its count and its choice.
            await app.client.hold_claims()
        running = self.running_here()
        if not running:
            await app.stop_runner()
            app.exit(0)
            return

        def chosen(choice: str | None) -> None:
            if choice is None:
                app.client.release_claims()
            else:
                app.run_worker(self.finish(choice), name="quit", exclusive=True)

        app.push_screen(QuitScreen(len(running)), chosen)

    async def finish(self, choice: str) -> None:
        """Quit, doing `choice` with the running jobs: 'keep' (background runner), 'pause' or 'stop'."""
        app = self.app
        client = app.client
        if choice == "pause":
            for job_id in self.running_here():
                try:
                    await client.pause(job_id)
                except JobtuiError:
                    pass  # it finished meanwhile
        app.notify("Bringing running jobs to a safe point…", timeout=30)
        state = client.runner_state()
        await app.stop_runner()
        if choice == "keep":
            try:
                target = client.db_path if client.is_file_db else client.target
                app.background = spawn_runner(target, app.apps, state.concurrency if state else 4,
                                              log_dir=client.workspace_root,
                                              workspace_root=client.workspace_root)
            except OSError as e:
                app.notify(f"Could not start a background runner: {e}", severity="error", markup=False)
                self.lifecycle.stopping = False
                return
        app.exit(0)
