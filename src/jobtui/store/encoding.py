"""JSON for the store's columns: `dumps`, C's encoder called straight (no driver here: the store's contract, which
names store/done_items.py, imports this)."""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
_C_MAKE: Any = getattr(json.encoder, "c_make_encoder", None)
_C_STRING: Any = getattr(json.encoder, "c_encode_basestring_ascii", None)
_FAST: Any = None if _C_MAKE is None else _C_MAKE(None, str, _C_STRING, None, ":", ",", False, False, True)
"""`_ENCODER`'s own C encoder, made once, without its marks of the containers being encoded (a circular value
recurses until RecursionError, and is then encoded again by `_ENCODER`, which says what it is)."""


def dumps(value: Any) -> str:
    """Encode a value for a JSON column: `_ENCODER.encode(value)`, without its Python steps where C's encoder is.

    Called once per item and per stage: JSONEncoder.encode and iterencode (which make a new C encoder
    each call) cost more than the encoding of a small result. The output is theirs to the byte.
    """
    if _FAST is None or _C_STRING is None:
        return _ENCODER.encode(value)
    if isinstance(value, str):
        return _C_STRING(value)  # type: ignore[no-any-return]
    try:
        return "".join(_FAST(value, 0))
    except RecursionError:
        return _ENCODER.encode(value)  # a circular value: ValueError, as ever (or RecursionError: too deep)
