"""The faces (cli/, tui/, server/) read and steer through the Client only (DESIGN.md, Layers; issues 8, 20).

Every import of every face module is resolved (relative ones, imports inside functions and under
TYPE_CHECKING too), and each imported name is followed to the module that defines it, so that a
re-export (`from jobtui import Runner`) cannot slip through. And no face reaches behind the client by
attribute (`x.store`, `x.runner`, `x.registry`), whatever the local name of the client is.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import jobtui

SRC = Path(jobtui.__file__).parent
FACES = tuple(name for name in ("cli", "tui", "server") if (SRC / name).is_dir())
BELOW_THE_CLIENT = ("jobtui.store", "jobtui.engine", "jobtui.builtins", "jobtui.jobs", "aiosqlite", "asyncpg", "sqlite3")
"""What no face imports: the store, the engine, the job types and the database drivers."""
ALLOWED = ("jobtui.jobs.command_params",)
"""The command types' own param builder (argv, --shell, pipeline files), shared by the CLI's and the TUI's forms."""
ENTRIES = {"jobtui.tui.launch", "jobtui.server.serve", "jobtui.server.settings", "jobtui.server.tui_web"}
"""What the CLI may import of the TUI and the server (lazily, where it opens them)."""
BEHIND_THE_CLIENT = {"store", "runner", "registry", "_store", "_runner_store"}
"""Attributes of the client no face reads: it asks the client instead."""


def module_of(path: Path) -> str:
    """Return the dotted name of a source file."""
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(module: str, name: str | None) -> str:
    """Return the module that defines `name` as imported from `module` (the module itself without a name)."""
    if name is None or name == "*":
        return module
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return module
    if not hasattr(mod, name):
        try:
            return importlib.import_module(f"{module}.{name}").__name__
        except ImportError:
            return module
    obj = getattr(mod, name)
    if inspect.ismodule(obj):
        return obj.__name__
    defined = getattr(obj, "__module__", None)
    return defined if isinstance(defined, str) and (inspect.isclass(obj) or inspect.isfunction(obj)) else module


def imports(path: Path) -> list[tuple[int, str]]:
    """Return (line, defining module) for every name every import of `path` brings in."""
    package = module_of(path) if path.name == "__init__.py" else module_of(path).rsplit(".", 1)[0]
    return imports_of(path.read_text(), package)


def imports_of(source: str, package: str) -> list[tuple[int, str]]:
    """Return (line, defining module) for every name every import of `source`, a module of `package`, brings in."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            out.extend((node.lineno, resolve(base, a.name)) for a in node.names)
    return out


def forbidden(face: str, module: str) -> bool:
    """Tell whether a module of `face` may not import `module`."""
    def under(prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    if any(under(a) for a in ALLOWED):
        return False
    if any(under(f) for f in BELOW_THE_CLIENT):
        return True
    others = [f for f in ("cli", "tui", "server") if f != face]
    if any(under(f"jobtui.{o}") for o in others):
        return not (face == "cli" and module in ENTRIES)
    return face != "tui" and under("textual")


def face_files() -> list[tuple[str, Path]]:
    return [(face, path) for face in FACES for path in sorted((SRC / face).rglob("*.py"))]


@pytest.mark.slow  # imports every module a face names, to follow each name home
def test_faces_import_nothing_below_the_client() -> None:
    files = face_files()
    assert len(files) > 20 and {"cli", "tui"} <= set(FACES)
    bad = [f"{path.relative_to(SRC)}:{line} imports {module}" for face, path in files
           for line, module in imports(path) if forbidden(face, module)]
    assert not bad, "\n".join(bad)


def test_faces_reach_nothing_behind_the_client() -> None:
    bad = []
    for _, path in face_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in BEHIND_THE_CLIENT:
                bad.append(f"{path.relative_to(SRC)}:{node.lineno} reads .{node.attr}")
    assert not bad, "\n".join(bad)


def test_the_rules_catch_what_they_forbid() -> None:
    assert resolve("jobtui", "Runner") == "jobtui.engine.runner", "a re-export is followed to its home"
    assert resolve("jobtui.client", "Client") == "jobtui.client"
    assert forbidden("tui", resolve("jobtui", "Runner"))
    assert forbidden("cli", "jobtui.store.sqlite") and forbidden("cli", "aiosqlite") and forbidden("tui", "sqlite3")
    assert forbidden("cli", "jobtui.tui.format") and forbidden("cli", "textual.app")
    assert forbidden("tui", "jobtui.cli.parse") and forbidden("server", "jobtui.tui.app")
    assert forbidden("tui", "jobtui.builtins") and forbidden("cli", "jobtui.jobs.command")
    assert not forbidden("cli", "jobtui.tui.launch") and not forbidden("tui", "textual.app")
    assert not forbidden("cli", "jobtui.client") and not forbidden("cli", "jobtui.wording")
    assert not forbidden("tui", "jobtui.jobs.command_params")
    # A relative import inside a function and one under TYPE_CHECKING are both seen.
    probe = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..store import Store\ndef f():\n    from .. import engine\n"
    assert [m for _, m in imports_of(probe, "jobtui.tui")] == ["typing", "jobtui.store.sqlite", "jobtui.engine"]


def test_wording_is_pure() -> None:
    mods = {m for _, m in imports(SRC / "wording.py")}
    assert mods <= {"__future__", "datetime"}, mods
