"""The TUI reads and steers through the Client only: no SQL, no store, no aiosqlite (DESIGN.md, Layers)."""

from __future__ import annotations

import ast
from pathlib import Path

import jobtui

TUI = Path(jobtui.__file__).parent / "tui"
FORBIDDEN = ("aiosqlite", "sqlite3", "jobtui.store", "jobtui.engine.runner")
"""The TUI never touches SQL, the store, or the runner's internals: the client facade gives what it needs."""


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package of the file
                package = ".".join(path.relative_to(TUI.parent.parent).with_suffix("").parts[: -node.level])
                base = f"{package}.{base}" if base else package
            names.add(base)
    return names


def test_tui_imports_no_store_and_no_sql() -> None:
    files = sorted(TUI.rglob("*.py"))
    assert files
    for path in files:
        for name in imports(path):
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), f"{path.name} imports {name}"


def test_tui_reads_no_runner_internals() -> None:
    """Issue 8: the TUI read `runner.runs`; it asks the client (`running_job_ids`, `runner_state`) instead."""
    for path in sorted(TUI.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("runs", "_runner_store") :
                raise AssertionError(f"{path.name}:{node.lineno} reads .{node.attr}")
            if isinstance(node, ast.Attribute) and node.attr == "store" and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "client":
                raise AssertionError(f"{path.name}:{node.lineno} reaches client.store")


def test_styles_are_found() -> None:
    from jobtui.tui.app import JobtuiApp, styles_dir

    assert (styles_dir() / "app.tcss").is_file()
    assert all(Path(p).is_file() for p in JobtuiApp.CSS_PATH)  # type: ignore[union-attr]
