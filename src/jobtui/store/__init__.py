"""The store: every SQL statement of jobtui lives in this package.

`JobStore` (protocol.py) is the contract the engine and the client use; `Store` is the SQLite
backend, the default.
"""

from __future__ import annotations

from .base import Claimed, ControlResult, NewJob, StageRecord, prepare_path
from .protocol import JobStore
from .sqlite import Store


def _conforms(store: Store) -> JobStore:
    """Never called: mypy checks here that the SQLite store keeps the whole contract."""
    return store


__all__ = ["Claimed", "ControlResult", "JobStore", "NewJob", "StageRecord", "Store", "prepare_path"]
