"""The TUI's remembered choices (the theme), in `tui.json` under the platform's user config folder."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger("jobtui.tui")


def settings_path() -> Path:
    """Return where the TUI keeps its choices: $JOBTUI_CONFIG_DIR/tui.json, else the user config folder's."""
    env = os.environ.get("JOBTUI_CONFIG_DIR")
    folder = Path(env).expanduser() if env else platformdirs.user_config_path("jobtui", appauthor=False)
    return folder / "tui.json"


def load(path: Path) -> dict[str, Any]:
    """Return the saved choices ({} when none or unreadable: a bad file never stops the TUI)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("ignoring %s: %s", path, e)
        return {}
    return data if isinstance(data, dict) else {}


def save(path: Path, **choices: Any) -> None:
    """Remember choices (merged into what is saved), atomically; a failure is logged, not raised."""
    data = {**load(path), **choices}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        log.warning("cannot save %s: %s", path, e)
