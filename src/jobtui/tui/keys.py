"""The app's keys and palette: its bindings, the keys hidden in read-only mode, the palette's own entries."""

from __future__ import annotations

from textual.binding import Binding, BindingType

BINDINGS: list[BindingType] = [
    Binding("p", "pause", "Pause", id="pause"),
    Binding("r", "resume", "Resume", id="resume"),
    Binding("c", "cancel", "Cancel", id="cancel"),
    Binding("t", "retry", "Retry", id="retry"),
    Binding("R", "rewind", "Rewind", id="rewind"),
    Binding("d", "delete", "Delete", id="delete"),
    Binding("X", "fail", "Fail", show=False, id="fail"),
    Binding("a", "depend", "Add dependency", show=False, id="depend"),
    Binding("n", "new_job", "New", id="new_job"),
    Binding("D", "clean", "Clean finished", show=False, id="clean"),
    Binding("e", "export", "Export", show=False, id="export"),
    Binding("slash", "filter", "Filter", id="filter"),
    Binding("s", "sort", "Sort", show=False, id="sort"),
    Binding("S", "reverse_sort", "Reverse sort", show=False, id="reverse_sort"),
    Binding("F", "failures", "Failures only", show=False, id="failures"),
    Binding("f", "follow", "Follow log", show=False, id="follow"),
    Binding("w", "wrap", "Wrap log", show=False, id="wrap"),
    Binding("z", "zoom", "Full screen", show=False, id="zoom"),
    Binding("escape", "escape", "Clear", show=False, id="escape"),
    Binding("L", "runner_log", "Runner messages", show=False, id="runner_log"),
    Binding("C", "schedules", "Schedules", show=False, id="schedules"),
    Binding("H", "fleet", "Runners", show=False, id="fleet"),
    Binding("Q", "queues", "Queues", show=False, id="queues"),
    Binding("A", "mark_all", "Mark all", show=False, id="mark_all"),
    Binding("T", "change_theme", "Theme", show=False, id="theme"),
    Binding("question_mark", "help", "Help", id="help"),
    Binding("q", "quit", "Quit", id="quit"),
]
"""The app's keys (job actions first: the footer shows them in this order)."""

FILTER_HINT = "words status:failed type:demo stage:fetch label:k=v !word (esc: clear)"
"""The filter box's placeholder: its syntax and keys."""

STEERING_KEYS = frozenset({"p", "r", "c", "t", "R", "d", "X", "a", "D", "n"})
"""The keys of the job actions, cleaning and the new-job form (hidden in read-only mode)."""
TEXTUAL_COMMANDS = frozenset({"Theme", "Quit", "Keys"})
"""Textual's palette entries jobtui keeps."""
PALETTE: tuple[tuple[str, str, str], ...] = (
    ("Filter", "Filter the jobs (words, status:, type:, stage:, label:, queue:)", "filter"),
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
