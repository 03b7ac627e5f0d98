"""Labels on the command line: `--label k=v` for every command that queues jobs, and `ls --label` / `--active`.

`add_label_option` is shared by every command that queues jobs (`submit`, `add`, `foreach`, `schedule add`,
`template save`): call it on the subparser, then pass `parse_labels(a)` as the submission's `labels`.
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..labels import Labels, check_labels, label_filter, labels_of, labels_text
from ..model import TERMINAL, JobStatus


def add_label_option(parser: argparse.ArgumentParser) -> None:
    """Add `--label KEY=VALUE` (repeatable) to a command that queues jobs."""
    parser.add_argument("--label", action="append", metavar="KEY=VALUE", default=None,
                        help="a label to find the job by (`ls --label KEY=VALUE`, the TUI filter label:KEY=VALUE);"
                             " repeatable")


def parse_labels(a: argparse.Namespace) -> Labels:
    """Return the labels given to `--label`, checked (UsageError for a bad one)."""
    return check_labels(getattr(a, "label", None), "--label")


def add_label_filter(parser: argparse.ArgumentParser) -> None:
    """Add `ls`'s `--label KEY=VALUE|KEY` (repeatable: every one must hold) and `--active`."""
    parser.add_argument("--label", action="append", metavar="KEY=VALUE", default=None,
                        help="only the jobs with this label (KEY alone: any value); repeatable, all must hold")
    parser.add_argument("--active", action="store_true",
                        help="only the jobs that have not ended (not completed, failed or cancelled)")


def parse_label_filter(values: list[str] | None) -> list[tuple[str, str | None]]:
    """Return `ls --label` values as (key, value) pairs, value None for a key alone (UsageError for a bad one)."""
    return label_filter(values, "--label")


def active_statuses(statuses: list[str] | None, active: bool) -> list[str] | None:
    """Return the statuses `ls` lists: `--status` ones, narrowed to those that have not ended with `--active`."""
    if not active:
        return statuses
    alive = [s.value for s in JobStatus if s not in TERMINAL]
    if statuses is None:
        return alive
    kept = [s for s in statuses if s in alive]
    if not kept:
        raise UsageError("--active lists jobs that have not ended: --status names only ended ones")
    return kept


def labels_of_line(value: object, given: Labels, where: str) -> Labels:
    """Return the labels of one `--from` line: its `_labels` object set over `--label`'s.

    Raises:
        UsageError: `_labels` is not an object of texts, or holds a bad key or value.
    """
    if not isinstance(value, dict):
        raise UsageError(f"{where}: _labels must be an object of key: value texts")
    merged = dict(given)
    merged.update(labels_of(value, f"{where}: _labels"))
    return labels_of(merged, f"{where}: _labels")


def label_lines(labels: Labels) -> list[str]:
    """Return `show`'s line of a job's labels (none when it has none)."""
    return [f"  labels     {labels_text(labels)}"] if labels else []
