"""The slow marks: a test that starts processes or runs the TUI is marked slow by its own code (tests/slowness.py)."""

from __future__ import annotations

from pathlib import Path

from tests.slowness import spawning


def test_the_rule_sees_processes_through_helpers_classes_and_imports(tmp_path: Path) -> None:
    root = tmp_path / "tests"
    (root / "sub").mkdir(parents=True)
    (root / "helpers.py").write_text(
        "import subprocess\n"
        "def cli(*a):\n    return subprocess.run(a)\n"
        "def pure(x):\n    return x + 1\n"
        "class Proc:\n    def __init__(self):\n        self.p = self._start()\n"
        "    def _start(self):\n        import asyncio\n        return asyncio.create_subprocess_exec('true')\n")
    (root / "sub" / "test_x.py").write_text(
        "from tests.helpers import cli, pure, Proc\n"
        "def test_via_helper():\n    cli('ls')\n"
        "def test_pure():\n    pure(1)\n"
        "def test_via_class():\n    Proc()\n"
        "async def test_app(app):\n    async with app.run_test() as pilot:\n        pass\n"
        "def run_idle():\n    pure(2)\n"
        "def test_local_name_that_spawns_nothing():\n    run_idle()\n")
    found = {name for mod, name in spawning(root) if mod == "tests.sub.test_x"}
    assert found == {"test_via_helper", "test_via_class", "test_app"}


def test_this_suites_cli_tests_are_found_and_its_engine_tests_are_not() -> None:
    found = spawning(Path(__file__).parent)
    assert ("tests.cli.test_no_runner", "test_queueing_without_a_runner_says_how_to_start_one") in found
    assert ("tests.faults.helpers", "Runner") in found and ("tests.conftest", "jobtui") in found
    assert ("tests.conftest", "run_idle") not in found
    assert ("tests.engine.test_kinds", "test_errors_are_classes_in_one_tree") not in found
