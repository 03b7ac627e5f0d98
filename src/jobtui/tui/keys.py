"""The app's keys and palette: its bindings, the keys hidden in read-only mode, the palette's own entries."""

from __future__ import annotations

from textual.binding import Binding, BindingType

BINDINGS: list[BindingType] = [
    Binding("p", "pause", "Pause"),
    Binding("r", "resume", "Resume"),
    Binding("c", "cancel", "Cancel"),
    Binding("t", "retry", "Retry"),
    Binding("R", "rewind", "Rewind"),
    Binding("d", "delete", "Delete"),
    Binding("n", "new_job", "New"),
    Binding("e", "export", "Export", show=False),
    Binding("slash", "filter", "Filter"),
    Binding("s", "sort", "Sort", show=False),
    Binding("S", "reverse_sort", "Reverse sort", show=False),
    Binding("F", "failures", "Failures only", show=False),
    Binding("f", "follow", "Follow log", show=False),
    Binding("w", "wrap", "Wrap log", show=False),
    Binding("z", "zoom", "Full screen", show=False),
    Binding("escape", "escape", "Clear", show=False),
    Binding("L", "runner_log", "Runner messages", show=False),
    Binding("C", "schedules", "Schedules", show=False),
    Binding("H", "fleet", "Runners", show=False),
    Binding("Q", "queues", "Queues", show=False),
    Binding("A", "mark_all", "Mark all", show=False),
    Binding("question_mark", "help", "Help"),
    Binding("q", "quit", "Quit"),
]
"""The app's keys (job actions first: the footer shows them in this order)."""

FILTER_HINT = "words  status:failed  type:demo  label:k=v  !word  (enter: keep, esc: clear)"
"""The filter box's placeholder: its syntax and keys."""

STEERING_KEYS = frozenset({"p", "r", "c", "t", "R", "d", "n"})
"""The keys of the job actions and the new-job form (hidden in read-only mode)."""
TEXTUAL_COMMANDS = frozenset({"Theme", "Quit", "Keys"})
"""Textual's palette entries jobtui keeps."""
PALETTE: tuple[tuple[str, str, str], ...] = (
    ("Filter", "Filter the jobs (words, status:, type:, label:)", "filter"),
    ("Sort", "Next sort order (now {sort})", "sort"),
    ("Failures only", "Show only failed jobs, or all again", "failures"),
    ("Follow log", "Follow the log's tail again", "follow"),
    ("Wrap log", "Wrap long log lines, or not", "wrap"),
    ("Runners", "Every runner: host, tags, jobs, heartbeat, state", "fleet"),
    ("Queues", "Every queue: limits, running and waiting jobs; pause, resume", "queues"),
    ("Mark all", "Mark every job the filter matches (then p, r, c, t, d act on all of them)", "mark_all"),
    ("Help", "Every key and status", "help"),
)
"""The palette's entries beside the job commands: (title, help with {sort}, the app action it runs)."""


def readonly_note(key: str) -> str:
    """Say why a steering key does nothing in read-only mode."""
    what = "new jobs" if key == "n" else "job actions"
    return f"Read-only (--readonly): {what} are off. Open jobtui without --readonly to steer."
