"""The CLI is a face: it reads and steers through the Client facade only (DESIGN.md, Layers; issue 8).

No SQL or store internals, no engine internals, and nothing of the TUI but its one entry point (`run_tui` and its `TuiOptions`,
imported lazily where the TUI opens). Pure wording shared with the TUI lives in `jobtui.wording`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jobtui

SRC = Path(jobtui.__file__).parent
CLI = SRC / "cli"
FORBIDDEN = ("aiosqlite", "sqlite3", "jobtui.store", "jobtui.engine", "jobtui.tui", "textual")
TUI_ENTRY = {"run_tui", "TuiOptions"}


def _imports(path: Path) -> list[tuple[str, set[str]]]:
    """Return (module, names imported from it) for every import in `path`, relative ones resolved."""
    out: list[tuple[str, set[str]]] = []
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((a.name, set()) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = ".".join(package.split(".")[: -node.level])
                base = f"{parent}.{base}" if base else parent
            out.append((base, {a.name for a in node.names}))
    return out


def _forbidden(module: str, names: set[str]) -> bool:
    for f in FORBIDDEN:
        if module == f or module.startswith(f + "."):
            return not (f == "jobtui.tui" and names and names <= TUI_ENTRY)
        if module == "jobtui" and any(n == f.split(".")[1] for n in names if "." in f):
            return True  # `from jobtui import store`
    return False


def test_cli_goes_through_the_client_only() -> None:
    files = sorted(CLI.rglob("*.py"))
    assert len(files) > 3, "the CLI is a package"
    for path in files:
        for module, names in _imports(path):
            assert not _forbidden(module, names), f"cli/{path.name} imports {module} {sorted(names)}"


def test_the_rule_catches_what_it_forbids() -> None:
    assert _forbidden("jobtui.tui.format", {"ago"})
    assert _forbidden("jobtui.engine.runner", {"Runner"})
    assert _forbidden("jobtui.store", {"Store"})
    assert _forbidden("jobtui", {"store"})
    assert not _forbidden("jobtui.tui.launch", {"run_tui", "TuiOptions"})
    assert not _forbidden("jobtui.client", {"Client"})
    assert not _forbidden("jobtui.wording", {"ago"})


def test_wording_is_pure() -> None:
    mods = {m for m, _ in _imports(SRC / "wording.py")}
    assert mods <= {"__future__", "datetime"}, mods
