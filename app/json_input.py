"""The one way Lunas reads JSON it did not write (API bodies, Midtrans notifications, stored
raw requests shown again): bounded, so that no input can reach a 500.

Python's parser accepts what PostgreSQL and our own code cannot take: nesting deep enough to
exhaust the recursion limit (when parsed, or when written out again for a page), numbers
like 1e400 that become infinity (not JSON, refused by jsonb), and escaped lone surrogates
("\\ud800") that no UTF-8 text can hold. Each is refused here with a message, and the
top-level field it sits in when there is one."""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
# The closing quote is optional so that an unterminated string ends the scan at once instead
# of being retried from every later quote (quadratic: 20 s for 64 KB of \"). Such a body is
# not JSON anyway.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonInputError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def read_json(raw: bytes | str) -> Any:
    """The parsed document, or JsonInputError saying what is wrong with it."""
    try:
        # As json.loads reads bytes (UTF-8, -16 or -32); a lone surrogate is caught below.
        text = (
            raw.decode(json.detect_encoding(raw), "surrogatepass")
            if isinstance(raw, bytes)
            else raw
        )
    except UnicodeDecodeError:
        raise JsonInputError("the body is not valid JSON") from None
    if _depth(text) > MAX_DEPTH:
        raise JsonInputError(f"the body nests more than {MAX_DEPTH} levels deep")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        raise JsonInputError("the body is not valid JSON") from None
    if isinstance(document, dict):
        for key, value in document.items():
            _check(value, key)
            _check(key, key)
    else:
        _check(document, None)
    return document


def _depth(text: str) -> int:
    """How deep the brackets nest, outside strings (an overestimate for broken JSON is fine:
    it is refused either way)."""
    deepest = depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _check(value: Any, field: str | None) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonInputError(
                f"{field or 'the body'} holds a lone surrogate (not text)", field
            ) from None
    elif isinstance(value, float) and not math.isfinite(value):
        raise JsonInputError(f"{field or 'a number in the body'} is out of range", field)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, field)
            _check(item, field)
    elif isinstance(value, list):
        for item in value:
            _check(item, field)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")
