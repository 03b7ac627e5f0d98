"""StatusBar: the one line on top: database, runner health, counts by status, clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from ..client import RunnerState
from ..model import JobStatus, RunnerInfo
from .format import STATUS_LOOK, STATUS_ORDER, clean


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """Everything the status line shows."""

    db: str
    """The database file's name."""
    counts: Mapping[str, int]
    """Jobs by status value."""
    clock: str
    """The wall-clock time, formatted."""
    readonly: bool = False
    embedded: RunnerState | None = None
    """The runner in this process (None when attached)."""
    embedded_error: str | None = None
    """Why the embedded runner stopped, if it failed."""
    embedded_stopping: bool = False
    runners: Sequence[RunnerInfo] = ()
    """The live runner processes (attached)."""
    problem: str | None = None
    """A read that failed, shown at the end."""


class StatusBar(Static):
    """One line on top: database, runner health, counts by status, clock."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"statusbar--title", "statusbar--dim", "statusbar--good", "statusbar--bad",
                         *(f"statusbar--{s.value}" for s in JobStatus)}

    def show(self, info: StatusInfo) -> None:
        """Draw the line; drop the least useful parts first when the terminal is narrow."""
        style = self.get_component_rich_style
        dim = style("statusbar--dim", partial=True)
        width = self.size.width or 120
        clock = info.clock
        shown = [(s, info.counts[s]) for s in STATUS_ORDER if info.counts.get(s)]

        def counts_text(words: bool) -> Text:
            out = Text()
            if not shown:
                out.append("no jobs", style=dim)
            for i, (s, n) in enumerate(shown):
                look = STATUS_LOOK[s]
                word = f" {look.word or s.value}" if words else ""
                out.append(f"{'  ' if i else ''}{look.glyph} {n}{word}",
                           style=style(f"statusbar--{s}", partial=True))
            return out

        def line(db: bool, words: bool, hint: bool) -> Text:
            text = Text(no_wrap=True, overflow="ellipsis", end="")
            text.append(" jobtui ", style=style("statusbar--title", partial=True))
            if db:
                text.append(f" {info.db}", style=dim)
            text.append(" · ")
            text.append_text(self.runner_text(info, hint))
            if info.readonly:
                text.append(" · read-only", style=style("statusbar--bad", partial=True))
            text.append("  │  ")
            text.append_text(counts_text(words))
            if info.problem:
                text.append(f" ⚠ {clean(info.problem)}", style=style("statusbar--bad", partial=True))
            return text

        tiers = ((True, True, True), (True, True, False), (False, True, False), (True, False, False),
                 (False, False, False))
        for db, words, hint in tiers:
            text = line(db, words, hint)
            if text.cell_len + len(clock) + 1 <= width:
                break
        pad = width - text.cell_len - len(clock) - 1
        if pad > 0:
            text.append(" " * pad)
            text.append(clock + " ", style=dim)
        self.update(text, layout=False)

    def runner_text(self, info: StatusInfo, hint: bool = True) -> Text:
        """Say whether a runner runs the jobs: this process's, another process's, or none."""
        style = self.get_component_rich_style
        good = style("statusbar--good", partial=True)
        bad = style("statusbar--bad", partial=True)
        dim = style("statusbar--dim", partial=True)
        here = info.embedded
        if here is not None:
            if info.embedded_error:
                return Text(f"runner ✗ stopped: {clean(info.embedded_error)}", style=bad)
            if info.embedded_stopping or here.stopping:
                return Text("runner ◌ stopping", style=dim)
            return Text.assemble(("runner ● ", good), (f"here · {len(here.busy)}/{here.concurrency} busy", dim))
        runners = info.runners
        if not runners:
            return Text("runner ○ none" + (": jobs wait for `jobtui run`" if hint else ""), style=bad)
        if len(runners) == 1:
            r = runners[0]
            return Text.assemble(("runner ● ", good), (f"pid {r.pid} · {r.concurrency} slots", dim))
        return Text.assemble(("runners ● ", good),
                             (f"{len(runners)} up · {sum(r.concurrency for r in runners)} slots", dim))
