"""Issue 10: a database URL is never taken for a file path, and its password is never printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobtui.errors import UsageError
from jobtui.store import open_store, shown
from tests.conftest import cli_env

URL = "postgresql://alice:hunter2@127.0.0.1:1/jobs?sslmode=disable&password=zz-secret"


def test_shown_blanks_passwords() -> None:
    text = shown(URL)
    assert "hunter2" not in text and "zz-secret" not in text
    assert text.startswith("postgresql://alice:") and "127.0.0.1:1/jobs" in text
    assert shown("/tmp/a.db") == "/tmp/a.db"


async def test_open_store_refuses_urls_it_cannot_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in ("mysql://bob:pw-x@h/x", "sqlite+foo://a"):
        with pytest.raises(UsageError) as e:
            await open_store(url)
        assert "pw-x" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("how", ["flag", "env"])
def test_cli_with_a_url_it_cannot_open(tmp_path: Path, how: str) -> None:
    """`--db URL` or `JOBTUI_DB=URL` of an unreachable server: one line, exit 1 (an unusable database), no
    password shown, no file made from the URL."""
    args = ["--db", URL, "ls"] if how == "flag" else ["ls"]
    env = cli_env(None, **({"JOBTUI_DB": URL} if how == "env" else {}))
    out = subprocess.run([sys.executable, "-m", "jobtui", *args], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=60)
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jobtui: error: postgresql://alice:")
    assert "cannot connect" in lines[0]
    assert "hunter2" not in out.stderr + out.stdout and "zz-secret" not in out.stderr + out.stdout
    assert list(tmp_path.iterdir()) == []
