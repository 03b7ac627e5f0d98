"""The API's JSON replies (orjson, issue 22's poll speed) keep what the standard encoder could say."""

from __future__ import annotations

import json

from jobtui.server.replies import Reply


def test_reply_is_json_and_takes_integers_beyond_64_bits() -> None:
    body = {"a": "é ✓", "n": [1, 2.5, None, True], "big": 2**70, "nested": {"x": {"y": []}}}
    assert json.loads(Reply(body).body) == body
    small = {"a": 1}
    assert Reply(small).body == b'{"a":1}'
    assert Reply(small).headers["content-type"] == "application/json"
