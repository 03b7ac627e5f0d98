"""ViewControl: the job list's filter, order and title, and what it says when it shows no job."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from .format import clean
from .host import AppHost
from .view import SORTS, Query


class ViewControl:
    """Change what the job list shows (filter, sort, failures only) and keep its title in step."""

    def __init__(self, app: AppHost) -> None:
        self.app = app
        self._titles: tuple[str, str | None] | None = None
        """The list's title and subtitle as last set."""

    def set_view(self, *, query: Query | None = None, sort: str | None = None, reverse: bool | None = None,
                 failures_only: bool | None = None) -> None:
        """Change the filter or the order; the highlighted job stays highlighted if still shown."""
        app = self.app
        v = app.view
        if query is not None:
            v.query = query
        if sort is not None:
            v.sort = sort
        if reverse is not None:
            v.reverse = reverse
        if failures_only is not None:
            v.failures_only = failures_only
        app.feed.listing = v.listing()
        self.update_titles()
        # The store counts and orders the jobs (over indexes): read the new window, keeping the highlighted job.
        # The method, not a coroutine: a worker replaced before it starts (keys in a burst) leaves none unawaited.
        app.run_worker(app.reload_list, group="view", name="view", exclusive=True)

    def open_filter(self) -> None:
        """Show the filter line and type in it (`/`)."""
        app = self.app
        app.query_one("#filter-bar").remove_class("hidden")
        app.filter_input.focus()

    def close_filter(self, *, clear: bool, keep: bool = False) -> None:
        """Back to the list: with `clear`, the filter is emptied; the line stays shown only when `keep`."""
        app = self.app
        if clear:
            app.filter_input.value = ""
            self.set_view(query=Query())
        if not keep:
            app.query_one("#filter-bar").add_class("hidden")
        app.table.focus()

    def escape(self, typing: bool) -> None:
        """Esc: leave the filter box (clearing it), else unmark the marked jobs, else clear the filter."""
        app = self.app
        if typing or (not app.table.marked and not app.view.query.empty):
            self.close_filter(clear=True)
        elif app.table.marked:
            app.table.clear_marks()
            self.update_titles()

    def zoom(self, screen: Any) -> None:
        """Full screen for the focused pane (z), or back."""
        if screen.maximized is not None:
            screen.minimize()
        elif screen.focused is not None:
            target = self.app.table if screen.focused is self.app.filter_input else screen.focused
            screen.maximize(target, container=False)

    async def mark_all(self) -> None:
        """Mark every job the current filter matches, on screen or not (then an action applies to all of them)."""
        app = self.app
        app.table.mark(await app.client.matching_ids(app.view.listing()))
        await app.reload_list()  # the marked jobs are held (read) wherever they are in the list

    def next_sort(self) -> None:
        """Sort by the next key, and say so."""
        app = self.app
        names = list(SORTS)
        nxt = names[(names.index(app.view.sort) + 1) % len(names)]
        self.set_view(sort=nxt)
        app.notify(f"Sorted by {nxt}", timeout=2)

    def toggle_failures(self) -> None:
        """Show only failures, or all jobs again, and say so."""
        app = self.app
        on_ = not app.view.failures_only
        self.set_view(failures_only=on_)
        app.notify("Failures only" if on_ else "All jobs", timeout=2)

    def update_titles(self) -> None:
        """Redraw the job list's title: counts, sort, filter, marks."""
        app = self.app
        table = app.table
        total, shown = app.feed.total, app.feed.matches
        title = f"Jobs {shown}/{total}" if shown != total else f"Jobs {total}"
        bits = [title, f"sort {app.view.sort} {'↓' if app.view.reverse else '↑'}"]
        if app.view.failures_only:
            bits.append("failures only")
        if not app.view.query.empty:
            bits.append(f"filter {clean(app.view.query.text)}")
        if table.marked:
            bits.append(f"{len(table.marked)} marked")
        problems = app.view.query.problems
        titles = (" · ".join(bits), clean("; ".join(problems)) if problems else None)
        if titles != self._titles:  # setting a border title repaints the whole list: only when it reads differently
            self._titles = titles
            table.border_title = Text(titles[0])  # Text: user text in a title is never markup
            table.border_subtitle = Text(titles[1]) if titles[1] is not None else None

    def empty_note(self) -> str:
        """Say why no job is shown, and what to do."""
        app = self.app
        if not app.feed.total:
            return "No jobs yet. Press n to submit one." if not app.readonly else "No jobs yet."
        hints = (["esc clears the filter"] if not app.view.query.empty else []) + (
            ["F shows all jobs again"] if app.view.failures_only else [])
        if hints:
            return f"No job matches. {'; '.join(hints)}."
        return "No job selected."
