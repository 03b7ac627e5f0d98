"""The store: every SQL statement of jobtui lives in this package."""

from __future__ import annotations

from .base import Claimed, ControlResult, NewJob, StageRecord, prepare_path
from .sqlite import Store

__all__ = ["Claimed", "ControlResult", "NewJob", "StageRecord", "Store", "prepare_path"]
