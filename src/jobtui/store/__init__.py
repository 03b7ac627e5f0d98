"""The store: every SQL statement of jobtui lives in this package.

`JobStore` (protocol.py) is the contract the engine and the client use, and store/consumers.py has
the few members each of a runner's services uses; `Store` is the SQLite backend, the default.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..redaction import redact
from .consumers import (
    LeaseStore,
    LifeStore,
    ListingStore,
    NotifierStore,
    ProcessStore,
    RetentionStore,
    RunnerStore,
    SchedulerStore,
)
from .dbfile import prepare_path
from .done_items import DoneItems
from .protocol import JobStore
from .records import Claimed, ControlResult, NewJob, StageRecord
from .sqlite import Store
from .values import Ahead

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def shown(target: str | Path) -> str:
    """Return a database target fit to print or log: a URL's password (and secret query values) blanked."""
    return str(redact(str(target)))


async def open_store(target: str | Path, **options: Any) -> JobStore:
    """Open the store a `--db` value names: a file path (SQLite), or a URL of another backend.

    Raises:
        UsageError: a URL of a backend this jobtui cannot open (its password is never shown).
        StoreError: as the backend's open() raises.

    `readonly=True` opens a SQLite file `mode=ro` (never written nor migrated); other backends ignore it.
    """
    m = _URL.match(str(target))
    readonly = bool(options.pop("readonly", False))
    if m is None:
        return await Store.open(target, readonly=readonly, **options)
    scheme = m[1].lower()
    if scheme in ("postgresql", "postgres"):
        try:
            from .postgres import PgStore
        except ImportError:
            raise UsageError(
                f"{shown(target)}: PostgreSQL needs the optional extra: pip install 'jobtui[postgres]'"
            ) from None
        return await PgStore.open(str(target), **options)
    raise UsageError(f"{shown(target)}: unknown database URL scheme {scheme!r} (give a file path)")


def _conforms(store: Store) -> JobStore:
    """Never called: mypy checks here that the SQLite store keeps the whole contract."""
    return store


if TYPE_CHECKING:
    from .postgres import PgStore as _PgStore

    def _pg_conforms(store: _PgStore) -> JobStore:
        """Never called: mypy checks here that the PostgreSQL store keeps the whole contract."""
        return store


__all__ = [
    "Ahead", "Claimed", "ControlResult", "DoneItems", "JobStore", "LeaseStore", "LifeStore", "ListingStore", "NewJob",
    "NotifierStore",
    "ProcessStore", "RetentionStore", "RunnerStore", "SchedulerStore", "StageRecord", "Store", "open_store", "prepare_path", "shown",
]
