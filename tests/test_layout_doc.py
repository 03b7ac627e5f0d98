"""Issue 20: the layout of the code (docs/layout.md, linked from the README) names every package and top-level module
of src/jobtui, and no module that is gone, so it matches the code (the modules inside a package are described on its
line; new ones come often and are not checked one by one)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "jobtui"


def _tree() -> str:
    text = (ROOT / "docs" / "layout.md").read_text()
    return text.split("```", 2)[1]


def test_the_layout_names_every_package_and_top_level_module() -> None:
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", _tree()))
    wanted = {p.stem for p in SRC.glob("*.py") if p.stem not in ("__init__", "__main__")}
    wanted |= {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert sorted(wanted - words) == [], "named nowhere in docs/layout.md's tree: add it to the tree"
    gone = {w for w in re.findall(r"\b([a-z_]+)\.py\b", _tree())} - {p.stem for p in SRC.rglob("*.py")}
    assert sorted(gone) == [], "named in docs/layout.md but not in src/jobtui"
