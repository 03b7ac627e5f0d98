"""Which tests start processes or run the TUI, read from the tests' own code, so that each is marked slow (issue 20).

A function starts processes when its body calls `subprocess.*`, `Popen`, `asyncio.create_subprocess_*`,
or a browser's `launch`; it runs the TUI when it calls an app's `run_test` (a headless terminal: a second
or more of CPU) or asks for `snap_compare`; or it calls a function or class of tests/ that does (resolved
through the module's own definitions, its `from tests... import` names and `self.` methods). A test does
when its function or one of its fixtures does, and gets SLOW_TIMEOUT_S instead of the 10 s of an
in-process test (tests/conftest.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

Key = tuple[str, str]
"""(module, qualified name): ('tests.faults.helpers', 'Runner.__init__')."""

_DIRECT_ATTRS = frozenset({"create_subprocess_exec", "create_subprocess_shell", "launch", "run_test"})
SLOW_FIXTURES = frozenset({"snap_compare"})
"""Fixtures of plugins that run the TUI."""


def _module(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root.parent).with_suffix("").parts)


def _imports(tree: ast.Module) -> dict[str, Key]:
    """Return the names a module imports from tests.*: local name -> (module, name)."""
    out: dict[str, Key] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests"):
            for a in node.names:
                out[a.asname or a.name] = (node.module, a.name)
    return out


def _calls(fn: ast.AST, mod: str, cls: str | None, local: set[str], imported: dict[str, Key]) -> tuple[set[Key], bool]:
    """Return the definitions of tests/ a function calls, and whether it starts a process itself."""
    keys: set[Key] = set()
    direct = False
    for sub in ast.walk(fn):
        if not isinstance(sub, ast.Call):
            continue
        f = sub.func
        if isinstance(f, ast.Name):
            direct |= f.id == "Popen"
            if f.id in local:
                keys.add((mod, f.id))
            elif f.id in imported:
                keys.add(imported[f.id])
        elif isinstance(f, ast.Attribute):
            base = f.value.id if isinstance(f.value, ast.Name) else None
            direct |= f.attr in _DIRECT_ATTRS or base == "subprocess"
            if base == "self" and cls is not None:
                keys.add((mod, f"{cls}.{f.attr}"))
    return keys, direct


def spawning(root: Path) -> frozenset[Key]:
    """Return the functions and classes under `root` (tests/) that start processes, directly or through others."""
    calls: dict[Key, set[Key]] = {}
    spawns: set[Key] = set()
    for path in sorted(root.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text())
        except (OSError, SyntaxError):
            continue
        mod, imported = _module(path, root), _imports(tree)
        local = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                calls[(mod, node.name)], direct = _calls(node, mod, None, local, imported)
                if direct:
                    spawns.add((mod, node.name))
            elif isinstance(node, ast.ClassDef):
                # Calling a class builds it: it counts as starting processes when any of its methods does.
                calls[(mod, node.name)] = set()
                for m in node.body:
                    if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef):
                        key = (mod, f"{node.name}.{m.name}")
                        calls[key], direct = _calls(m, mod, node.name, local, imported)
                        calls[(mod, node.name)].add(key)
                        if direct:
                            spawns.add(key)
    changed = True
    while changed:
        changed = False
        for key, called in calls.items():
            if key not in spawns and called & spawns:
                spawns.add(key)
                changed = True
    return frozenset(spawns)
