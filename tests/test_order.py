"""The long poles start first, one at the head of each worker's share (tests/order.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.order import LONG_POLES, long_first, shares

ROOT = Path(__file__).parent.parent


@dataclass
class T:
    nodeid: str


def test_each_long_pole_heads_a_share_in_turn() -> None:
    items = [T(f"tests/a.py::t{i}") for i in range(20)] + [T(LONG_POLES[2]), T(LONG_POLES[0] + "[x]"), T(LONG_POLES[1])]
    out = long_first(items, 3)
    assert sorted(t.nodeid for t in out) == sorted(t.nodeid for t in items)
    sizes = shares(len(out), 3)
    starts = [0, sizes[0], sizes[0] + sizes[1]]
    assert [out[s].nodeid for s in starts] == [LONG_POLES[0] + "[x]", LONG_POLES[1], LONG_POLES[2]]
    assert [t.nodeid for t in out if t.nodeid.startswith("tests/a.py")] == [f"tests/a.py::t{i}" for i in range(20)]


def test_shares_are_worksteals_first_split() -> None:
    assert shares(10, 3) == [3, 3, 4] and sum(shares(1131, 3)) == 1131


def test_every_long_pole_names_a_test_that_exists() -> None:
    for pole in LONG_POLES:
        path, name = pole.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), pole
