"""Logs (SPEC §15): JSON lines in production with the request's id (taken from or given as
X-Request-ID) and the project and purchase they concern; no secret, card number or full email
address in any line, whatever the code logs. The whole run's logs are read for those at the
end of every test run (tests/log_scan.py, tests/conftest.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from app.config import Config, ConfigError
from app.logs import JsonFormatter, context_filter, redact
from tests.helpers import create_payment
from tests.log_scan import findings
from tests.webhook_flow import midtrans_reports, settle


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the root logger writes, as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(context_filter())
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_notifications_lines_carry_the_request_id_project_and_purchase(
    app, client, project, fake_midtrans, lines
):
    purchase_id = create_payment(client, project)
    body = midtrans_reports(fake_midtrans, purchase_id, "settlement")

    response = client.post(
        "/api/midtrans/notification", json=body, headers={"X-Request-ID": "midtrans-7f3a.1"}
    )

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "midtrans-7f3a.1"
    [line] = [r for r in records(lines) if "settlement" in r["message"]]
    assert line["request_id"] == "midtrans-7f3a.1"
    assert line["purchase_id"] == purchase_id
    assert line["project_id"] == project.project_id
    assert line["level"] == "info" and line["time"].endswith("+00:00")


@pytest.mark.parametrize("given", ["", "a" * 129, "two words", "semi;colon", "<script>"])
def test_a_missing_or_unusable_request_id_is_replaced_by_one_of_ours(client, given):
    headers = {"X-Request-ID": given} if given else {}
    answered = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert answered != given
    assert len(answered) == 32 and int(answered, 16) >= 0


def test_a_request_refused_at_the_door_has_its_id_too(client):
    refused = client.get("/healthz?q=%00", headers={"X-Request-ID": "lb-42"})
    assert refused.status_code == 400
    assert refused.headers["X-Request-ID"] == "lb-42"


def test_every_answer_has_its_own_request_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_ids_of_one_request_do_not_stay_on_the_next_lines(
    app, client, project, fake_midtrans, lines
):
    purchase_id = create_payment(client, project)
    settle(client, fake_midtrans, purchase_id)
    logging.getLogger("app").warning("a line outside any request")

    last = records(lines)[-1]
    assert last["message"] == "a line outside any request"
    assert "request_id" not in last and "purchase_id" not in last


def test_a_careless_line_is_written_without_its_secrets(tmp_path):
    text = (
        "login failed for ani.wijaya@warung.example with sk_test_"
        + "A" * 48
        + " whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ= key SB-Mid-server-abcdef123456"
        + " Authorization: Basic bGtfdGVzdDpzZWNyZXQ= card 4811 1111 1111 1114"
    )

    cleaned = redact(text)

    assert cleaned == (
        "login failed for a***@warung.example with sk_test_[redacted]"
        " whsec_[redacted] key SB-Mid-server-[redacted]"
        " Authorization: Basic [redacted] card [card redacted]"
    )
    # The run's log scan finds nothing in the cleaned line, and each thing in the raw one.
    (tmp_path / "cleaned.txt").write_text(cleaned)
    (tmp_path / "raw.txt").write_text(text)
    assert findings([tmp_path / "cleaned.txt"]) == []
    found = " ".join(findings([tmp_path / "raw.txt"]))
    for what in ("client secret", "webhook signing secret", "server key", "email", "card"):
        assert what in found


def test_numbers_that_are_not_cards_are_left_alone():
    # An order id, an amount, a timestamp: not Luhn-valid, or too short.
    for text in ("order 1234567890123456 paid", "75000 IDR", "at 1733550000"):
        assert redact(text) == text


def test_an_exception_in_a_json_line_is_redacted_too(lines):
    try:
        raise ValueError("bad secret sk_live_" + "B" * 48)
    except ValueError:
        logging.getLogger("app").exception("failed for buyer@example.com")

    [line] = records(lines)
    assert line["message"] == "failed for b***@example.com"
    assert "sk_live_[redacted]" in line["exception"] and "B" * 48 not in line["exception"]


def test_production_writes_json_and_an_unknown_format_stops_start_up(tmp_path):
    base = {"LUNAS_ENV": "test", "SECRET_KEY": "k", "LUNAS_DATA_KEY": "d"}
    assert Config(base, tmp_path).LOG_FORMAT == "text"
    assert Config({**base, "LOG_FORMAT": "JSON"}, tmp_path).LOG_FORMAT == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of json, text"):
        Config({**base, "LOG_FORMAT": "xml"}, tmp_path)
