"""Issue 18, `add` jobs: the environment a runner gives its commands is built once while the runner's own does not
change (engine/childenv.py), and still follows every change of it."""

from __future__ import annotations

import pytest

import jobtui.engine.childenv as childenv
from jobtui.engine.childenv import child_env


def test_the_child_environment_is_built_once_and_follows_every_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "pg-s3cret")
    monkeypatch.setenv("JOBTUI_DB", "postgresql://me:s3cret@db.example/jobs")
    monkeypatch.setenv("KEEP_ME", "1")
    looked: list[str] = []
    real = childenv.has_secret

    def counted(text: str) -> bool:
        looked.append(text)
        return real(text)

    monkeypatch.setattr(childenv, "has_secret", counted)
    first = child_env()
    assert "PGPASSWORD" not in first and "JOBTUI_DB" not in first and first["KEEP_ME"] == "1"
    first["KEEP_ME"] = "changed by a caller"
    second = child_env()
    assert second["KEEP_ME"] == "1", "a caller's change to its copy is not the next caller's"
    assert len(looked) == 1, f"built again though nothing changed: {looked}"
    monkeypatch.setenv("KEEP_ME", "2")
    monkeypatch.setenv("JOBTUI_DB", "/plain/path.db")
    third = child_env()
    assert third["KEEP_ME"] == "2" and third["JOBTUI_DB"] == "/plain/path.db"
    monkeypatch.setenv("PGPASSWORD", "other")
    assert "PGPASSWORD" not in child_env()
    assert child_env({"PGPASSWORD": "x", "A": "b"}) == {"A": "b"}
