"""Tests wait on events, not time: no fixed sleep gates an assertion (issue 20).

A `sleep(` with a number in it (`asyncio.sleep(0.5)`, `time.sleep(7)`, `ctx.sleep(60)`) is allowed only on
a line that says why with `# sleep: ...` (a stage that must still be running when paused, a poll's step).
Waiting for something to happen goes through `poll` / `wait_for` (tests/conftest.py) or `wait_until`
(tests/tui/conftest.py), which return as soon as it did.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent
NUMBERED_SLEEP = re.compile(r"sleep\(\s*[0-9.]")
ALLOWED = re.compile(r"#\s*sleep:\s*\S")


def sleeps_without_reason(root: Path) -> list[str]:
    """Return `file:line: text` for every numbered sleep under `root` whose line gives no reason."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == Path(__file__).name:
            continue  # this file's examples
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if NUMBERED_SLEEP.search(line) and not ALLOWED.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_fixed_sleep_without_a_reason() -> None:
    found = sleeps_without_reason(TESTS)
    assert not found, "a fixed sleep needs `# sleep: why` (or wait on an event):\n" + "\n".join(found)


def test_the_rule_sees_what_it_forbids(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("time.sleep(7)\nawait asyncio.sleep(0.5)  # sleep: a stage busy until paused\n"
                                   "await asyncio.sleep(delay)\nawait ctx.sleep(60)\n")
    assert sleeps_without_reason(tmp_path) == ["t.py:1: time.sleep(7)", "t.py:4: await ctx.sleep(60)"]
