"""The import contracts of pyproject.toml ([tool.importlinter]) hold: no circle, no arrow up (DESIGN.md, Layers; issue 20)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # builds the import graph of the package and its dependencies
def test_the_import_contracts_hold() -> None:
    if os.environ.get("CI") != "true":
        pytest.importorskip("importlinter", reason="import-linter is in the `lint` extra")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
