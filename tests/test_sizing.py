"""The long tests' sizes: the default, the full size under JOBTUI_TEST_FULL=1, a test's own variable over both."""

from __future__ import annotations

import importlib

import pytest

import tests.sizing


def test_default_full_and_a_tests_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBTUI_TEST_FULL", raising=False)
    monkeypatch.delenv("JOBTUI_X", raising=False)
    sizing = importlib.reload(tests.sizing)
    assert sizing.sized(3, 30, "JOBTUI_X") == 3
    monkeypatch.setenv("JOBTUI_TEST_FULL", "1")
    sizing = importlib.reload(tests.sizing)
    assert sizing.sized(3, 30, "JOBTUI_X") == 30
    monkeypatch.setenv("JOBTUI_X", "7")
    assert sizing.sized(3, 30, "JOBTUI_X") == 7
    monkeypatch.delenv("JOBTUI_TEST_FULL")
    importlib.reload(tests.sizing)
