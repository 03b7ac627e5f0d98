"""The store: every SQL statement of jobtui lives in this package."""

from __future__ import annotations

from .sqlite import Claimed, ControlResult, NewJob, StageRecord, Store, prepare_path

__all__ = ["Claimed", "ControlResult", "NewJob", "StageRecord", "Store", "prepare_path"]
