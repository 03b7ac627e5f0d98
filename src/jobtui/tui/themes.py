"""The two jobtui themes: a dark default and one that reads well on a light terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.theme import Theme

import jobtui

from ..errors import UsageError


def styles_dir() -> Path:
    """Return the folder of the .tcss files: inside the package (wheel), else <repo>/styles (editable)."""
    packaged = Path(jobtui.__file__).parent / "styles"
    if packaged.is_dir():
        return packaged
    return Path(jobtui.__file__).resolve().parents[2] / "styles"


DARK = Theme(
    name="jobtui-dark",
    primary="#3B8EEA",
    secondary="#7C6FDB",
    accent="#E0A030",
    warning="#E5B344",
    error="#E5534B",
    success="#57AB5A",
    foreground="#D6DAE0",
    background="#16181D",
    surface="#1E2127",
    panel="#262A33",
    dark=True,
)

LIGHT = Theme(
    name="jobtui-light",
    primary="#0969DA",
    secondary="#6639BA",
    accent="#953800",
    warning="#9A6700",
    error="#CF222E",
    success="#1A7F37",
    foreground="#1F2328",
    background="#FFFFFF",
    surface="#F6F8FA",
    panel="#EAEEF2",
    dark=False,
)
"""Status colours darkened for contrast on white: amber and green at >= 4.5:1."""

THEMES = (DARK, LIGHT)
ALIASES = {"dark": DARK.name, "light": LIGHT.name, "jobtui": DARK.name}
DEFAULT = DARK.name


def choose_theme(theme: str | None, saved: Any, available: set[str]) -> str:
    """Return the theme to use: the one asked for, else the saved one (if still there), else the default.

    Raises:
        UsageError: the theme asked for does not exist.
    """
    if theme is None and isinstance(saved, str) and ALIASES.get(saved, saved) in available:
        theme = saved
    name = ALIASES.get(theme or DEFAULT, theme or DEFAULT)
    if name not in available:
        raise UsageError(f"unknown theme {theme!r} (themes: {', '.join(sorted(available))})")
    return name
