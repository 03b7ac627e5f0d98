"""Make the README screenshots (SVG) from the deterministic scenario of tests/tui/scenario.py.

    .venv/bin/python screenshots/make_screenshots.py

Writes main.svg, failed-job.svg, new-job.svg, new-command.svg, help.svg, narrow.svg and light.svg beside this file.
The same data and clock give the same pictures on every run.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "tui"))

from scenario import T0, build, open_client
from textual.pilot import Pilot

from jobtui.tui.app import JobtuiApp, make_app

Step = Callable[[JobtuiApp, Pilot[int]], Awaitable[None]]


async def settle(app: JobtuiApp, pilot: Pilot[int]) -> None:
    """Wait until the selected job's detail and log are shown (the app's readiness hook)."""
    for _ in range(200):
        await pilot.pause(0.05)
        if app.settled:
            break
    await pilot.pause(0.1)


async def select(app: JobtuiApp, pilot: Pilot[int], job_id: int) -> None:
    """Highlight one job and wait for its detail."""
    app.select_job(job_id)
    await settle(app, pilot)


async def shoot(db: Path, name: str, size: tuple[int, int], steps: Step, *, theme: str | None = None) -> None:
    client = await open_client(db)
    try:
        app = make_app(client, clock=lambda: T0, tz=UTC, theme=theme)
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await steps(app, pilot)
            await pilot.pause(0.2)
            svg = app.export_screenshot(title=f"jobtui · {name}")
        (HERE / f"{name}.svg").write_text(svg)
        print(f"wrote {HERE / f'{name}.svg'}")
    finally:
        await client.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "jobs.db"
        ids = await build(db)

        async def main_screen(app: JobtuiApp, pilot: Pilot[int]) -> None:
            await select(app, pilot, ids["embedding"])

        async def failed(app: JobtuiApp, pilot: Pilot[int]) -> None:
            await select(app, pilot, ids["failed"])

        async def new_job(app: JobtuiApp, pilot: Pilot[int]) -> None:
            await pilot.press("n")
            await pilot.pause(0.3)

        async def new_command(app: JobtuiApp, pilot: Pilot[int]) -> None:
            from textual.widgets import Input, Select

            await pilot.press("n")
            await pilot.pause(0.3)
            app.screen.query_one("#type", Select).value = "foreach"
            await pilot.pause(0.3)
            app.screen.query_one("#cmd-items", Input).value = "photos/*.jpg"
            app.screen.query_one("#cmd-run", Input).value = "convert {} -resize 50% small/{name}"
            app.screen.query_one("#cmd-cwd", Input).value = "/home/me"
            app.screen.query_one("#cmd-workers", Input).value = "4"
            app.screen.query_one("#cmd-run", Input).focus()

        async def help_screen(app: JobtuiApp, pilot: Pilot[int]) -> None:
            await pilot.press("question_mark")
            await pilot.pause(0.3)

        await shoot(db, "main", (140, 36), main_screen)
        await shoot(db, "failed-job", (140, 36), failed)
        await shoot(db, "new-job", (140, 36), new_job)
        await shoot(db, "new-command", (80, 24), new_command)
        await shoot(db, "help", (140, 36), help_screen)
        await shoot(db, "narrow", (80, 24), main_screen)
        await shoot(db, "light", (140, 36), failed, theme="jobtui-light")


if __name__ == "__main__":
    asyncio.run(main())
