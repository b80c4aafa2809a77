"""The template filters are total: no stored value makes a page fail."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.formatting import TOO_DEEP, format_rupiah, format_time, pretty_json


def deep_dict(levels: int) -> dict:
    document: dict = {}
    for _ in range(levels):
        document = {"a": document}
    return document


def test_pretty_json_indents_a_json_object():
    assert pretty_json('{"order_id":"pur_1","amount":1}') == (
        '{\n  "order_id": "pur_1",\n  "amount": 1\n}'
    )


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"a":' * 975 + "1" + "}" * 975, id="nested-975-deep"),
        pytest.param('{"a": "\\ud800"}', id="escaped-lone-surrogate"),
        pytest.param('{"a": 1e400}', id="1e400"),
        pytest.param('{"a": ' + "9" * 5000 + "}", id="5000-digit-number"),
        pytest.param("{not json", id="not-json"),
        pytest.param("Infinity", id="infinity"),
    ],
)
def test_pretty_json_shows_what_it_does_not_read_back_as_it_came(raw):
    assert pretty_json(raw) == raw


def test_pretty_json_writes_a_real_lone_surrogate_as_its_escape():
    # No UTF-8 page can hold one: shown as \ud800, never an error writing the response.
    shown = pretty_json('{"a": "\ud800"}')

    assert shown == '{"a": "\\ud800"}'
    shown.encode("utf-8")


def test_pretty_json_of_a_document_too_deep_to_print_says_so():
    assert pretty_json(deep_dict(100_000)) == TOO_DEEP


def test_pretty_json_of_stored_documents_and_nothing():
    assert json.loads(pretty_json({"a": [1, 2]})) == {"a": [1, 2]}
    assert json.loads(pretty_json([1, {"b": None}])) == [1, {"b": None}]
    assert pretty_json(None) == pretty_json("") == pretty_json({}) == ""
    assert pretty_json(b'{"a": 1}') == '{\n  "a": 1\n}'
    assert pretty_json(b"\xff\xfe") == "\ufffd\ufffd"


def test_rupiah_of_a_number_and_of_anything_else():
    assert format_rupiah(75000) == "Rp75.000"
    assert format_rupiah(None) == "—"
    # Midtrans's own way of writing an amount is shown like every other amount.
    assert format_rupiah("25000.00") == "Rp25.000"
    assert format_rupiah("25000") == "Rp25.000"
    assert format_rupiah("25000.50") == "25000.50"  # not a whole rupiah: as it came
    assert format_rupiah("lots") == "lots"
    assert format_rupiah(True) == "True"


def test_wib_of_a_time_and_of_anything_else():
    moment = datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC)
    assert format_time(moment, seconds=True) == "2026-11-22 17:00:05 WIB"
    assert format_time(None) == "—"
    assert format_time("2026-11-22") == "2026-11-22"
    edge = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert format_time(edge) == edge.isoformat()
