"""`jobtui serve`: the HTTP API, a face like the CLI and the TUI (it reads and steers through `Client` only).

Needs the optional extra: pip install 'jobtui[server]'.
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
