"""FleetScreen (key H): every runner of the database (its name, host, pid, tags, jobs, heartbeat and
state), and the jobs no live runner has the tags for; read again every second, like the job list."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..client import Client
from ..errors import JobtuiError
from ..fleet import FleetRunner, RunnerHealth, needs_text
from ..model import Job, JobId
from .format import clean

REFRESH_S = 1.0
"""How often the fleet view reads the runners again."""

_HEALTH_STYLE = {RunnerHealth.ALIVE: "green", RunnerHealth.STALE: "yellow", RunnerHealth.GONE: "red"}
_GLYPH = {RunnerHealth.ALIVE: "●", RunnerHealth.STALE: "◌", RunnerHealth.GONE: "✗"}


def fleet_table(runners: Sequence[FleetRunner], *, here: str | None = None, narrow: bool = False) -> Table | Text:
    """Return the runners as a table: name, host, pid, tags, state, jobs, heartbeat (`here`: this process's).

    `narrow` (under 100 columns) leaves out the pid (`jobtui runners` has it) and shows fewer job ids.
    """
    if not runners:
        return Text("No runner works on this database. Start one on any host:  jobtui run --tag TAG")
    table = Table(box=None, padding=(0, 1), expand=False, header_style="bold")
    columns = ["name", "host", "tags", "state", "jobs", "heartbeat"] if narrow else \
        ["name", "host", "pid", "tags", "state", "jobs", "heartbeat"]
    for column in columns:
        wraps = column in ("name", "tags")
        table.add_column(Text(column), no_wrap=not wraps, overflow="fold" if wraps else "ellipsis",
                         max_width=22 if column == "name" else None)
    shown_ids = 2 if narrow else 4
    for r in runners:
        i = r.info
        name = Text(clean(i.label))
        if i.runner_id == here:
            name.append(" (here)", style="dim")
        jobs = Text(f"{len(r.jobs)}/{i.concurrency}")
        if r.jobs:
            more = " …" if len(r.jobs) > shown_ids else ""
            jobs.append(" " + " ".join(f"#{j}" for j in r.jobs[:shown_ids]) + more, style="dim")
        state = Text(f"{_GLYPH[r.health]} {r.health.value}", style=_HEALTH_STYLE[r.health])
        cells = [name, Text(clean(i.hostname)), Text(str(i.pid)), Text(clean(",".join(i.tags)) or "-"), state, jobs,
                 Text(r.heartbeat_text)]
        if narrow:
            del cells[2]
        table.add_row(*cells)
    return table


def unmet_text(unmet: dict[JobId, tuple[str, ...]]) -> Text | None:
    """Say which jobs no live runner can take, grouped by the tags they need."""
    if not unmet:
        return None
    by_needs: dict[tuple[str, ...], list[JobId]] = {}
    for job_id, needs in sorted(unmet.items()):
        by_needs.setdefault(needs, []).append(job_id)
    out = Text()
    for needs, ids in by_needs.items():
        shown = " ".join(f"#{j}" for j in ids[:6]) + (" …" if len(ids) > 6 else "")
        out.append(f"⚠ {len(ids)} job(s) {needs_text(needs)}: {shown}\n", style="yellow")
    out.rstrip()
    return out


class FleetScreen(ModalScreen[None]):
    """Every runner working on this database, from any host."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,H", "dismiss(None)", "Close")]

    def __init__(self, client: Client, jobs: Callable[[], Iterable[Job]]) -> None:
        super().__init__(classes="dialog-screen")
        self.client = client
        self.jobs = jobs
        """The jobs the app holds now (to tell which wait for tags no live runner has)."""
        self.runners: list[FleetRunner] = []
        self.unmet: dict[JobId, tuple[str, ...]] = {}
        self.loaded = False
        """Whether the first read is shown."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help-dialog fleet-dialog"):
            yield Static(Text("Runners"), classes="dialog-title", id="fleet-title")
            yield Static(Text("Loading…"), id="fleet")
            yield Static(Text("esc, q or H closes · alive: heartbeat within its lease · stale: past it, its jobs go"
                              " back at the next recovery · gone: its process has ended · jobtui runners prints this"),
                         classes="help")

    async def on_mount(self) -> None:
        await self.reload()
        self.set_interval(REFRESH_S, self.reload)

    async def reload(self) -> None:
        """Read the runners (and which waiting jobs none of them can take) again and show them."""
        try:
            self.runners = await self.client.fleet()
            self.unmet = await self.client.unmet_needs(self.jobs())
        except JobtuiError as e:
            self.query_one("#fleet", Static).update(Text(str(e)))
            return
        alive = sum(r.health is RunnerHealth.ALIVE for r in self.runners)
        title = f"Runners · {len(self.runners)} registered, {alive} alive"
        self.query_one("#fleet-title", Static).update(Text(title))
        here = self.client.runner_id
        parts: list[RenderableType] = [fleet_table(self.runners, here=here, narrow=self.app.size.width < 100)]
        note = unmet_text(self.unmet)
        if note is not None:
            parts += [Text(""), note]
        self.query_one("#fleet", Static).update(Group(*parts))
        self.loaded = True
