"""KeyRow: one row of the detail's key/value grid, laid out as Rich lays out that row of the grid, ~4x cheaper.

The detail pane is a two-column grid (`Table.grid(padding=(0, 1))`, a key column at least 10 cells wide,
values folded). Each row is laid out on its own so that a progress write or a clock tick lays out only the
rows that changed; but a one-row Rich Table costs ~3 ms to lay out here (measuring, then rendering), most
of it the measuring, while the key column's width is known. KeyRow renders the two cells as the grid
renders them (the key padded by one cell in the key style, the value in the rest of the width) without it.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

KEY_WIDTH = 10
"""The key column's width (its minimum in the grid: no key is wider)."""


class KeyRow:
    """A key and its value, rendered as the row of a `Table.grid(padding=(0, 1))` whose key column is KEY_WIDTH."""

    def __init__(self, key: Text, value: Text, key_style: Style) -> None:
        self.key = key
        self.value = value
        self.key_style = key_style

    def signature(self, text_signature: Hashable) -> Hashable:
        """Return what this row renders from (given its value's signature): equal rows render the same."""
        return ("key-row", self.key.plain, self.key.style, tuple(self.key.spans), self.key_style, text_signature)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if width <= KEY_WIDTH + 1:
            # Narrower than the key column: the grid shrinks its columns its own way.
            grid = Table.grid(padding=(0, 1))
            grid.add_column(style=self.key_style, no_wrap=True, min_width=KEY_WIDTH)
            grid.add_column(overflow="fold")
            grid.add_row(self.key, self.value)
            yield from console.render(grid, options)
            return
        key_width = KEY_WIDTH + 1  # the grid's padding of one cell to the right of the key
        value_width = max(1, width - key_width)
        # The grid pads the key on its right (in the key's style) and collapses the value's left padding into it.
        keys = console.render_lines(Padding(self.key, (0, 1, 0, 0)),
                                    options.update(width=key_width, justify="left", no_wrap=True, overflow="ellipsis"),
                                    style=self.key_style)
        # As wide as the value needs, up to the rest of the width (the grid does not expand); padded in its style.
        cell = options.update(justify="left", no_wrap=False, overflow="fold")  # as the grid's value column
        shown = min(value_width, Measurement.get(console, cell.update_width(value_width), self.value).maximum)
        values = console.render_lines(self.value, cell.update_width(max(1, shown)), pad=True) if shown else []
        height = max(len(keys), len(values))
        keys = Segment.set_shape(keys, key_width, height, style=self.key_style)
        values = Segment.set_shape(values, shown, height)
        new_line = Segment.line()
        for key_line, value_line in zip(keys, values, strict=True):
            yield from key_line
            yield from value_line
            yield new_line


def rows_of(grid: Table, key_style: Style) -> list[KeyRow] | list[Table]:
    """Return each row of a detail grid as a KeyRow (they render to the grid's lines: no key is wider than the
    key column's minimum width), or the grid whole when a key is wider."""
    keys, values = (list(column.cells) for column in grid.columns)
    if any(not isinstance(key, Text) or key.cell_len > KEY_WIDTH for key in keys):
        return [grid]  # a wider key widens the column of every row
    if any(not isinstance(value, Text) or "\t" in value.plain for value in values):
        return [grid]  # a tab is measured and wrapped by the grid its own way
    return [KeyRow(key, value, key_style) for key, value in zip(keys, values, strict=True)]  # type: ignore[arg-type]
