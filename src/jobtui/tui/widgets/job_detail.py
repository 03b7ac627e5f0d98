"""JobDetailPane: every field of the selected job, its stages and its failed attempts, with absolute times.

Everything a job wrote (error text, params, messages) goes in as rich `Text`, never as markup.
"""

from __future__ import annotations

import shlex
from collections.abc import Hashable
from datetime import tzinfo
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...labels import labels_text
from ...model import (
    AT_REST,
    AttemptRecord,
    Job,
    JobDetail,
    JobRef,
    JobStatus,
    ProcessRecord,
    RequestRecord,
    StageStatus,
    waiting_reason,
)
from ...outcome import tolerated
from ...redaction import Secrets, redact
from ..format import (
    STAGE_COLOUR,
    STAGE_GLYPH,
    Clock,
    absolute,
    clean,
    duration,
    elapsed_ms,
    eta_ms,
    one_line,
    output_text,
    params_text,
    progress_note,
    stage_duration_ms,
    status_label,
    until,
)
from ..paused import paused_ms
from .key_rows import KeyRow, rows_of

HISTORY_SHOWN = 8
"""Requests shown in the detail (`jobtui show` lists them all)."""

AttemptError = AttemptRecord



def refs_line(refs: tuple[JobRef, ...]) -> str:
    """Word job references with glyphs, e.g. '#12 demo ✓ completed · #13 demo ✗ failed'."""
    return " · ".join(f"#{r.job_id} {clean(r.type)} {status_label(r.status.value)}" for r in refs)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"



def _grid(key_style: Style) -> Table:
    """Return a two-column grid of the detail: a key, its value."""
    g = Table.grid(padding=(0, 1))
    g.add_column(style=key_style, no_wrap=True, min_width=10)
    g.add_column(overflow="fold")
    return g


def row(g: Table, key: str, *value: str | Text | tuple[str, Style]) -> None:
    """Add a row of a key and its value (text, or text with a style) to a grid."""
    g.add_row(Text(key), Text.assemble(*value))

class JobDetailPane(ScrollView, can_focus=True):
    """The selected job in full.

    The rendering is made into lines once per change and drawn from them (Line API): a new value
    costs one render of this pane, and a layout pass of the screen only when the number of lines
    changes (a Static would re-arrange the whole screen on every update).
    """

    ALLOW_MAXIMIZE = True

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "jobdetail--key",
        "jobdetail--dim",
        "jobdetail--error",
        "jobdetail--title",
        *(f"jobdetail--{s.value}" for s in JobStatus),
    }

    DEFAULT_CSS = """
    JobDetailPane { overflow-x: hidden; overflow-y: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False, id="detail.up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="detail.down"),
        Binding("home,g", "scroll_home", "Top", show=False, id="detail.top"),
        Binding("end,G", "scroll_end", "Bottom", show=False, id="detail.bottom"),
    ]

    def __init__(self, *, clock: Clock, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.tz = tz
        self.detail: JobDetail | None = None
        self.errors: list[AttemptError] = []
        self.history: list[RequestRecord] = []
        """The requests and recoveries that changed the job: who and when."""
        self.missing: str | None = None
        self._lines: list[Strip] = []
        self._rendered_width = 0
        self._title = ""
        self._part_cache: dict[Hashable, list[Strip]] = {}
        self.parts_rendered = 0
        """How many parts Rich laid out since the pane was made (the others came from the cache; for tests)."""

    def show(self, detail: JobDetail | None, errors: list[AttemptError] | None = None, *, missing: str | None = None,
             history: list[RequestRecord] | None = None) -> None:
        """Show a job (or a note when there is none); nothing to do when nothing changed."""
        errors = errors or []
        history = history or []
        if detail is not None and detail == self.detail and errors == self.errors and history == self.history:
            return  # the clock (elapsed, countdowns) is redrawn by the app's tick
        if detail is None or self.detail is None or detail.job.job_id != self.detail.job.job_id:
            self.scroll_to(y=0, animate=False, force=True)
        self.detail = detail
        self.errors = errors
        self.history = history
        self.missing = missing
        self.rerender()

    @property
    def ticking(self) -> bool:
        """Tell whether the rendering shows a clock-relative value that changes every second."""
        d = self.detail
        if d is None:
            return False
        j = d.job
        return j.status not in AT_REST

    @property
    def text(self) -> str:
        """Return what the pane shows, as plain text (for tests)."""
        return "\n".join(strip.text.rstrip() for strip in self._lines)

    def rerender(self) -> None:
        """Render the current job (or note) into lines: it changed, the clock moved, or the theme did."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return  # not laid out yet: on_resize renders
        parts: list[RenderableType]
        if self.detail is None:
            self._title = "Job"
            self.border_title = "Job"
            parts = [Text(self.missing or "No job selected. Press n to submit one.",
                          style=self._style("jobdetail--dim"))]
        else:
            job = self.detail.job
            title = f"Job {job.job_id} · {clean(job.type)}"
            if self._title != title:  # setting a border title repaints the whole pane
                self._title = title
                self.border_title = Text(title)  # a type name is never markup
            parts = self.render_parts()
        # Each part (the fields, the stage table, the params...) is laid out by Rich only when what it shows
        # changed: a progress tick redraws the few lines of the fields, not the stage table (the costly part).
        console = self.app.console
        options = console.options.update_width(width)
        base = self.rich_style
        cache = self._part_cache
        kept: dict[Hashable, list[Strip]] = {}
        lines: list[Strip] = []
        for part in parts:
            key = (width, base, _signature(part))
            strips = cache.get(key)
            if strips is None:
                strips = [Strip(line, width)
                          for line in console.render_lines(part, options, style=base, pad=True, new_lines=False)]
                self.parts_rendered += 1
            kept[key] = strips
            lines += strips
        self._part_cache = kept
        old, self._lines = self._lines, lines
        same_shape = width == self._rendered_width and len(old) == len(lines)
        self._rendered_width = width
        self.virtual_size = Size(width, len(self._lines))  # a layout pass only when the height changed
        if not same_shape:
            self.refresh()
        else:
            # Repaint only the lines that read differently (a clock tick: the elapsed time's line, often none).
            changed = [i for i, (a, b) in enumerate(zip(old, lines, strict=True)) if a is not b and a != b]
            if changed:
                self.refresh_lines(changed[0], changed[-1] - changed[0] + 1)
        # A scrollbar may appear (or go) with the new height, changing the width without a resize event.
        self.call_after_refresh(self._check_width)

    def _check_width(self) -> None:
        width = self.scrollable_content_region.width
        if width > 0 and width != self._rendered_width:
            self.rerender()

    def on_resize(self, event: events.Resize) -> None:
        if self.scrollable_content_region.width != self._rendered_width:
            self.rerender()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted and self._rendered_width:
            self.call_later(self.rerender)

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if 0 <= index < len(self._lines):
            return self._lines[index].crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def render_detail(self) -> RenderableType:
        """Return the rich rendering of the current job."""
        return Group(*self.render_parts())

    def render_parts(self) -> list[RenderableType]:
        """Return the rich rendering of the current job, part by part (each is laid out on its own)."""
        assert self.detail is not None
        d = self.detail
        j = d.job
        now = self.clock()
        tz = self.tz
        key_style = self._style("jobdetail--key")
        dim = self._style("jobdetail--dim")
        err = self._style("jobdetail--error")
        status_style = self._style(f"jobdetail--{j.status.value}")

        grid = _grid(key_style)
        status = Text()
        status.append(status_label(j.status.value), style=status_style)
        if j.can_resume:
            status.append("  resumable from its last checkpoint", style=dim)
        grid.add_row(Text("status"), status)
        step = f"{min(j.current_step_index + 1, j.total_steps)}/{j.total_steps}"
        progress = Text(f"{step} {clean(j.current_step or '(all done)')}")
        progress.append(f" · {j.progress * 100:.0f}%")
        message = progress_note(j.progress_message, j.current_step)
        if message:
            progress.append(f" · {clean(message)}", style=dim)
        grid.add_row(Text("stage"), progress)
        self._process_rows(grid, d, err)
        if j.status is JobStatus.BLOCKED and d.waiting_on:
            row(grid, "blocked", (waiting_reason(d.waiting_on), self._style("jobdetail--paused")))
        if d.needs:
            row(grid, "needs", "runner tags: " + clean(", ".join(d.needs)))
        if d.labels:
            row(grid, "labels", clean(labels_text(d.labels)))
        if d.depends_on:
            row(grid, "after", refs_line(d.depends_on))
        if d.dependents:
            row(grid, "dependents", refs_line(d.dependents))
        if j.pause_reason:
            row(grid, "paused", (clean(j.pause_reason), self._style("jobdetail--paused")))
        if j.failed_step:
            row(grid, "failed in", (clean(j.failed_step), err))
        if j.error_message:
            grid.add_row(Text("error"), Text(clean(j.error_message), style=err))
        if j.next_retry_at_ms is not None:
            row(grid, "next retry", f"{j.retry_count}/{j.max_retries} ", absolute(j.next_retry_at_ms, tz),
                (f" · {until(j.next_retry_at_ms, now)}", dim))
        if j.run_at_ms is not None and j.status is JobStatus.QUEUED:
            row(grid, "runs at", absolute(j.run_at_ms, tz), (f" · {until(j.run_at_ms, now)}", dim))
        self._progress_rows(grid, d, now, dim, err)
        more = self._more_table(d, key_style, dim)
        stages, retry_notes = self._stages_table(d, now, key_style, dim, err)
        for note_text in retry_notes:
            grid.add_row(Text("next try"), note_text)
        # One grid per row (the key column is 10 wide whatever the rows): a progress tick or the clock lays out
        # the rows that changed, not the whole grid (Rich lays a table out in ~1 ms a row on this machine).
        # The rows below the stages too: a progress tick changes the "updated" row there, not the params.
        parts: list[RenderableType] = [*rows_of(grid, key_style), Text(""), stages, Text(""),
                                       *rows_of(more, key_style)]
        parts += self._attempts_outputs_history(j, key_style, dim, err)
        return parts



    def _process_rows(self, grid: Table, d: JobDetail, err: Style) -> None:
        """Add a command job's rows: its command line (secrets redacted), cwd and process state."""
        proc = command_process(d)
        if proc is None:
            return
        row(grid, "command", clean(redact(shlex.join(proc.argv), Secrets.of(d.job.params)))[:300])
        if proc.cwd:
            row(grid, "cwd", clean(proc.cwd))
        state = Text(f"pid {proc.pid}")
        if proc.frozen and proc.alive:
            state.append(" · frozen (SIGSTOP): resume continues it", style=self._style("jobdetail--paused"))
        elif proc.exit_code is not None:
            state.append(f" · exit code {proc.exit_code}", style=err if proc.exit_code else None)
        elif proc.alive:
            state.append(" · running")
        grid.add_row(Text("process"), state)

    def _progress_rows(self, grid: Table, d: JobDetail, now: int, dim: Style, err: Style) -> None:
        """Add the rows of items, failures tolerated, elapsed time (pauses left out) and the last checkpoint."""
        j = d.job
        done = sum(s.items_done for s in d.stages)
        failed = sum(s.items_failed for s in d.stages)
        items = Text(f"{done} done · ")
        items.append(f"{failed} failed", style=err if failed else None)
        items.append(f" · {d.results} results")
        grid.add_row(Text("items"), items)
        accepted = tolerated(d)
        if accepted:
            row(grid, "tolerated", (clean(accepted), self._style("jobdetail--paused")))
        if j.consecutive_failures:
            row(grid, "in a row", (f"{j.consecutive_failures} item failures in a row", err))
        paused = paused_ms(self.history, j.started_at_ms)
        spent = elapsed_ms(j, now, paused)
        eta = eta_ms(j, now, paused)
        row(grid, "elapsed", duration(spent) if spent is not None else "not started",
            (f" · about {duration(eta)} left", dim) if eta is not None else "",
            (f" · {duration(paused)} paused not counted", dim) if paused else "")
        checkpoints = [s.checkpoint_at_ms for s in d.stages if s.checkpoint_at_ms is not None]
        row(grid, "checkpoint", absolute(max(checkpoints), self.tz) if checkpoints else "none yet")

    def _more_table(self, d: JobDetail, key_style: Style, dim: Style) -> Table:
        """Return the rows below the stages: params, priority, counters, times, runner, files."""
        j = d.job
        tz = self.tz
        more = _grid(key_style)
        row(more, "params", params_text(j.params))
        row(more, "priority", str(j.priority), f" · unique key {clean(j.unique_key)}" if j.unique_key else "")
        row(more, "retries", f"{j.retry_count}/{j.max_retries} automatic · resumed {j.resume_count}× · "
                             f"recovered {j.recovery_count}×")
        row(more, "created", absolute(j.created_at_ms, tz))
        if j.started_at_ms is not None:
            row(more, "started", absolute(j.started_at_ms, tz))
        row(more, "updated", absolute(j.updated_at_ms, tz))
        for label, ms in (("paused at", j.paused_at_ms), ("completed", j.completed_at_ms),
                          ("cancelled", j.cancelled_at_ms)):
            if ms is not None:
                row(more, label, absolute(ms, tz))
        if j.lease_owner:
            row(more, "runner", (clean(j.lease_owner), dim))
        files = getattr(d, "files", ())
        if files:
            shown = ", ".join(f"{clean(f.path)} ({_size(f.size)})" for f in files[:4])
            row(more, "files", shown + (f" … {len(files) - 4} more" if len(files) > 4 else ""))
        return more

    def _stages_table(self, d: JobDetail, now: int, key_style: Style, dim: Style, err: Style) -> tuple[Table, list[Text]]:
        """Return the table of stages (optional columns only when they fit) and the notes of stages waiting to retry."""
        tz = self.tz
        width = max(40, self.scrollable_content_region.width)
        retry_notes: list[Text] = []
        rows: list[dict[str, Text]] = []
        for s in d.stages:
            colour = self._style(f"jobdetail--{STAGE_COLOUR[s.status].value}")
            items_text = ""
            if s.items_total is not None or s.items_done or s.items_failed:
                items_text = f"{s.items_done}/{s.items_total if s.items_total is not None else '?'}"
            items_cell = Text(items_text)
            if s.items_failed:
                items_cell.append(f" ✗{s.items_failed}", style=err)
            note = Text()
            if s.status is StageStatus.RETRYING and s.next_attempt_at_ms is not None:
                retry_notes.append(Text(f"{clean(s.name)} attempt {s.attempts + 1}/{s.max_attempts} "
                                        f"{until(s.next_attempt_at_ms, now)}"))
                note.append(f"next try {until(s.next_attempt_at_ms, now)}  ", style=dim)
            if s.error:
                note.append(one_line(s.error.strip().splitlines()[-1] if s.error.strip() else s.error), style=err)
            rows.append({
                "#": Text(str(s.index + 1)),
                "stage": Text(clean(s.name)),
                "status": Text(f"{STAGE_GLYPH.get(s.status, '?')} {s.status.value}", style=colour),
                "try": Text(f"{s.attempts}/{s.max_attempts}" if s.attempts else "-"),
                "started": Text(absolute(s.started_at_ms, tz, date=False) if s.started_at_ms else "-", style=dim),
                "took": Text(duration(stage_duration_ms(s, now)) if s.started_at_ms else "-"),
                "items": items_cell,
                "checkpoint": Text(absolute(s.checkpoint_at_ms, tz, date=False) if s.checkpoint_at_ms else "-",
                                   style=dim),
                "note": note,
            })
        # Optional columns join only when they fit whole (header included): a cut header reads as a bug.
        def need(name: str) -> int:
            return max([len(name), *(r[name].cell_len for r in rows)]) + 2  # + the cell's padding

        columns = ["#", "stage", "status", "try", "took", "items"]
        used = sum(need(c) for c in columns)
        for name, at in (("checkpoint", len(columns)), ("started", 4)):
            if used + need(name) <= width:
                columns.insert(at, name)
                used += need(name)
        if width - used >= 24:
            columns.append("note")
        stages = Table(box=None, padding=(0, 1), show_edge=False, expand=False, header_style=key_style)
        for name in columns:
            stages.add_column(Text(name), justify="right" if name in ("#", "try", "took", "items") else "left",
                              no_wrap=name != "note", overflow="fold" if name == "note" else "ellipsis")
        for cells in rows:
            stages.add_row(*(cells[c] for c in columns))
        return stages, retry_notes

    def _attempts_outputs_history(self, j: Job, key_style: Style, dim: Style, err: Style) -> list[RenderableType]:
        """Return the parts below the stages: failed attempts, stage outputs, the history of requests."""
        assert self.detail is not None
        d = self.detail
        tz = self.tz
        parts: list[RenderableType] = []
        if self.errors:
            history = Table(box=None, padding=(0, 1), show_edge=False, show_header=False)
            history.add_column(no_wrap=True)
            history.add_column(no_wrap=True)
            history.add_column(overflow="fold")
            names = j.stage_names
            for a in self.errors[-8:]:
                index, attempt, at_ms, error, transient = a.stage_index, a.attempt, a.failed_at_ms, a.error, a.transient
                stage = names[index] if 0 <= index < len(names) else str(index)
                history.add_row(
                    Text(f"{clean(stage)} #{attempt}"),
                    Text(absolute(at_ms, tz, date=False) + (" transient" if transient else " permanent"), style=dim),
                    Text(clean(error), style=err),
                )
            parts += [Text(""), Text(f"Failed attempts ({len(self.errors)})", style=key_style), history]
        secrets = Secrets.of(j.params)
        outputs = [s for s in d.stages if s.output is not None]
        if outputs:
            table = Table(box=None, padding=(0, 1), show_edge=False, show_header=False)
            table.add_column(no_wrap=True, style=key_style)
            table.add_column(overflow="fold")
            for s in outputs:
                table.add_row(Text(clean(s.name)), Text(output_text(redact(s.output, secrets))))
            parts += [Text(""), Text("Stage outputs", style=key_style), table]
        if self.history:
            changes = Table(box=None, padding=(0, 1), show_edge=False, show_header=False)
            changes.add_column(no_wrap=True, style=dim)
            changes.add_column(no_wrap=True)
            changes.add_column(overflow="fold")
            for h in self.history[-HISTORY_SHOWN:]:
                what = f"{h.action}  {h.from_status} → {h.to_status}" if h.from_status else h.action
                changes.add_row(Text(absolute(h.ts_ms, tz)), Text(clean(what)),
                                Text(clean(f"by {h.source}" + (f" · {h.detail}" if h.detail else "")), style=dim))
            more_note = f" (last {HISTORY_SHOWN} of {len(self.history)})" if len(self.history) > HISTORY_SHOWN else ""
            parts += [Text(""), Text(f"History{more_note}", style=key_style), changes]
        return parts


def _signature(part: RenderableType) -> Hashable:
    """Return a value equal for two parts that render the same (Text, or a Table of Texts), else the part itself.

    A Table's look is fixed by the code that builds it; what varies is its headers and cells.
    """
    if isinstance(part, str):
        return part
    if isinstance(part, KeyRow):
        return part.signature(_signature(part.value))
    if isinstance(part, Text):
        return (part.plain, part.style, tuple(part.spans), part.justify, part.overflow, part.no_wrap, part.end)
    if isinstance(part, Table):
        columns = []
        for column in part.columns:
            cells = tuple(_signature(c) for c in (column.header, *column.cells))
            columns.append((cells, column.justify, column.no_wrap, column.overflow, column.min_width, column.style))
        return ("table", part.box, part.padding, part.show_header, part.show_edge, part.expand, tuple(columns))
    return object()  # equal to nothing: rendered each time


def command_process(d: JobDetail) -> ProcessRecord | None:
    """Return the process to show for a command job: its current stage's command, else the last one started."""
    procs = [p for p in d.processes if p.slot == ""]
    if not procs:
        return None
    here = [p for p in procs if p.stage_index == d.job.current_step_index]
    return (here or sorted(procs, key=lambda p: p.started_at_ms))[-1]
