"""The job list's columns and what every line of one frame shares (JobTable draws its rows with these)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from ...model import JobStatus
from ..format import status_label


@dataclass(frozen=True, slots=True)
class Col:
    key: str
    label: str
    width: int
    rank: int
    """Lower ranks are kept first when the table is narrow."""
    right: bool = False


STATUS_WIDTH = max(len(status_label(s)) for s in JobStatus)
BAR = 8


def columns(width: int, id_w: int, type_w: int) -> list[Col]:
    """Return the columns that fit in `width` cells (the lowest ranks first), in display order."""
    cols = [
        Col("mark", "", 1, 0),
        Col("id", "ID", id_w, 0, right=True),
        Col("status", "STATUS", STATUS_WIDTH, 0),
        Col("stage", "STAGE", 5, 1),
        Col("progress", "PROGRESS", BAR + 5, 2),
        Col("updated", "UPDATED", 8, 3),
        Col("priority", "PRI", 3, 4, right=True),
        Col("elapsed", "ELAPSED", 9, 4),
        Col("type", "TYPE", type_w, 5),
    ]
    chosen: list[Col] = []
    used = 0
    for col in sorted(cols, key=lambda c: c.rank):
        need = col.width + (1 if chosen else 0)
        if used + need <= width or col.rank == 0:
            chosen.append(col)
            used += need
    display = ("mark", "id", "status", "priority", "type", "stage", "progress", "elapsed", "updated")
    return sorted(chosen, key=lambda c: display.index(c.key))


def header(cols: list[Col], width: int, style: Style) -> Strip:
    """Return the line of column labels."""
    segs: list[Segment] = []
    used = 0
    for i, col in enumerate(cols):
        if i and col.key != "id":
            segs.append(Segment(" ", style))
            used += 1
        label = col.label.rjust(col.width) if col.right else col.label
        segs.append(Segment(set_cell_size(label, col.width), style))
        used += col.width
    if used < width:
        segs.append(Segment(" " * (width - used), style))
    return Strip(segs, max(width, used)).crop(0, width)


@dataclass(slots=True)
class Frame:
    """What every line of one frame shares: the width, the base style, the columns, the time, styles made."""

    width: int
    base: Style
    cols: list[Col]
    now: int
    styles: dict[tuple[str | None, int], Style]


@lru_cache(maxsize=4096)
def fit(text: str, width: int) -> str:
    """Pad or cut `text` to `width` cells (the same few texts come back on every row and frame)."""
    return set_cell_size(text, width)
