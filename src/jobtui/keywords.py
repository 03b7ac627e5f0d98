"""Typed keyword groups (`**group: Unpack[SomeTypedDict]`): a keyword outside the group is refused at run time, as a
plain signature refuses it (mypy refuses it before)."""

from __future__ import annotations

from collections.abc import Mapping


def check_keywords(given: Mapping[str, object], group: type, where: str) -> None:
    """Raise TypeError, as Python does for a signature, when `given` has a key the TypedDict `group` does not."""
    allowed: frozenset[str] = getattr(group, "__required_keys__", frozenset()) | getattr(group, "__optional_keys__",
                                                                                        frozenset())
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TypeError(f"{where}() got an unexpected keyword argument {unknown[0]!r}")
