"""Labels: `key=value` pairs a job carries (`--label project=42`), to find and filter it by; pure, no I/O.

A job has at most `MAX_LABELS` labels, one value per key. Keys are 1-64 letters, digits, '.', '_', '-'
(starting with a letter or digit; case kept); values are 1-200 characters without spaces or control
characters, so that a label is one word of the TUI's filter (`label:project=42`). The store keeps
them in `job_labels` (one row per label, indexed by key and value) so that both SQLite and PostgreSQL
find the jobs of one label without reading every job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .errors import UsageError
from .redaction import is_secret_name

Labels = tuple[tuple[str, str], ...]
"""A job's labels: (key, value) pairs sorted by key."""

MAX_LABELS = 32
"""The most labels one job may have."""
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_VALUE_MAX = 200


def check_key(key: str, option: str = "--label") -> str:
    """Return a label key as given, checked.

    Raises:
        UsageError: not 1-64 letters, digits, '.', '_', '-' starting with a letter or digit, or a name
            that looks like a secret's (`token`, `password`...): labels are never redacted.
    """
    if not _KEY.fullmatch(key):
        raise UsageError(f"{option}: bad label key {key[:80]!r} (1-64 letters, digits, '.', '_', '-';"
                         " starting with a letter or digit)")
    if is_secret_name(key):
        raise UsageError(f"{option}: label {key!r} looks like a secret; labels are shown everywhere (put it in a param)")
    return key


def check_value(key: str, value: str, option: str = "--label") -> str:
    """Return a label value, checked.

    Raises:
        UsageError: empty, longer than 200 characters, or holding a space or a control character.
    """
    if not value:
        raise UsageError(f"{option}: label {key!r} has an empty value (give {key}=VALUE)")
    if len(value) > _VALUE_MAX:
        raise UsageError(f"{option}: the value of label {key!r} is longer than {_VALUE_MAX} characters")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise UsageError(f"{option}: the value of label {key!r} holds a space or a control character")
    return value


def parse_label(text: str, option: str = "--label") -> tuple[str, str]:
    """Return the (key, value) of one `key=value` text, checked."""
    key, sep, value = text.partition("=")
    if not sep:
        raise UsageError(f"{option}: bad label {text[:80]!r} (expected key=value)")
    return check_key(key, option), check_value(key, value, option)


def check_labels(values: Iterable[str] | None, option: str = "--label") -> Labels:
    """Return the labels given as `key=value` texts, checked, sorted by key (a repeated key: the last wins).

    Raises:
        UsageError: a bad key or value, or more than MAX_LABELS labels.
    """
    out: dict[str, str] = {}
    for text in values or ():
        key, value = parse_label(text, option)
        out[key] = value
    return _bounded(out, option)


def label_filter(values: Iterable[str] | None, option: str = "--label") -> list[tuple[str, str | None]]:
    """Return `KEY=VALUE` or `KEY` filter texts (`ls --label`, `GET /jobs?label=`) as (key, value) pairs, value None
    for a key alone (any value); UsageError for a bad one."""
    out: list[tuple[str, str | None]] = []
    for text in values or ():
        key, sep, value = text.partition("=")
        check_key(key, option)
        out.append((key, check_value(key, value, option) if sep else None))
    return out


def labels_of(mapping: Mapping[str, object] | None, option: str = "labels") -> Labels:
    """Return labels given as a mapping (an API body, a `--from` line's `_labels`), checked.

    Raises:
        UsageError: not a mapping of text to text, a bad key or value, too many labels.
    """
    if mapping is None:
        return ()
    if not isinstance(mapping, Mapping):
        raise UsageError(f"{option} must be an object of key: value texts")
    out: dict[str, str] = {}
    for key, value in mapping.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise UsageError(f"{option} must be an object of key: value texts")
        out[check_key(key, option)] = check_value(key, value, option)
    return _bounded(out, option)


def merged(labels: Labels, changes: Labels, removed: Iterable[str] = ()) -> Labels:
    """Return `labels` with `changes` set and the keys in `removed` taken away, sorted."""
    out = dict(labels)
    out.update(changes)
    for key in removed:
        out.pop(key, None)
    return _bounded(out, "--label")


def _bounded(out: dict[str, str], option: str) -> Labels:
    if len(out) > MAX_LABELS:
        raise UsageError(f"{option}: at most {MAX_LABELS} labels per job")
    return tuple(sorted(out.items()))


def labels_text(labels: Labels) -> str:
    """Return labels as `k=v k2=v2`, as `show` prints them."""
    return " ".join(f"{k}={v}" for k, v in labels)
