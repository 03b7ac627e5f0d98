"""store/records.py `dumps`: C's encoder called straight, its output and its errors those of the JSONEncoder it stands for."""

from __future__ import annotations

import datetime
import decimal
import json

import pytest

from jobtui.store.records import dumps

REFERENCE = json.JSONEncoder(separators=(",", ":"), default=str)
VALUES = ["x", "é\x00\ud800", 1, -2**70, 1.5, float("nan"), float("-inf"), None, True, [1, {"a": [2, 3.0]}],
          {"b": datetime.date(2020, 1, 1)}, {1: 2, None: 3, 2.5: 1, False: 0}, {"s": {1, 2}}, decimal.Decimal("1.1"),
          (1, 2), [], {}, {"é": "ü\n\t\"\\"}, [[[[[[1]]]]]]]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_dumps_writes_what_the_json_encoder_writes(value: object) -> None:
    assert dumps(value) == REFERENCE.encode(value)


def test_a_circular_value_is_refused_as_before_and_the_next_one_encodes() -> None:
    looped: dict[str, object] = {}
    looped["self"] = [looped]
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(looped)
    assert dumps({"i": 1, "ok": [looped is not None]}) == '{"i":1,"ok":[true]}'
    with pytest.raises(TypeError):
        dumps({(1, 2): 3})  # keys JSON cannot have, as JSONEncoder says
