"""Contract: opening, migrations and refusals (every backend must pass)."""

from __future__ import annotations

import pytest

from jobtui.errors import NoDatabaseError, NotJobtuiDatabaseError, SchemaVersionError
from jobtui.model import JobStatus
from jobtui.store.schema import MIGRATIONS
from tests.contract.conftest import Backend, OpenStore, new_job


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_reopen_keeps_jobs_and_migrates_once(backend: Backend, open_store: OpenStore) -> None:
    s = await open_store()
    (jid,) = await s.add_jobs([new_job(params={"k": [1, "two", None]})])
    await s.close()
    before = backend.dump()
    again = await open_store()
    assert backend.dump() == before, "opening a current database writes nothing"
    job = await again.get_job(jid)
    assert job.status is JobStatus.QUEUED and job.params == {"k": [1, "two", None]}
    assert job.stage_names == ("a", "b")


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_newer_schema_refused_unchanged(backend: Backend, open_store: OpenStore) -> None:
    s = await open_store()
    await s.add_jobs([new_job()])
    await s.close()
    backend.set_schema_version(len(MIGRATIONS) + 1)
    before = backend.dump()
    with pytest.raises(SchemaVersionError, match="newer"):
        await backend.open_target(backend.target)
    assert backend.dump() == before


async def test_database_of_another_application_refused(backend: Backend) -> None:
    backend.make_foreign()
    before = backend.dump()
    with pytest.raises(NotJobtuiDatabaseError):
        await backend.open_target(backend.target)
    assert backend.dump() == before


async def test_no_database_without_create(backend: Backend) -> None:
    with pytest.raises(NoDatabaseError):
        await backend.open_target(backend.missing(), create=False)
    with pytest.raises(NoDatabaseError):
        await backend.open_target(backend.missing(), create=False)
