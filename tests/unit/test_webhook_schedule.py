"""The retry schedule and Standard Webhooks
signatures, checked by hand and with the public `standardwebhooks` library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.services.outbox.schedule import retry_delay
from app.services.outbox.signing import sign, signature_header

SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
SAMPLES = 400
DAY = 24 * 3600


def delays(attempts_made: int, schedule=SCHEDULE, retry_after=None) -> list[float]:
    rng = random.Random(attempts_made)
    return [retry_delay(attempts_made, schedule, retry_after, rng=rng) for _ in range(SAMPLES)]


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


# -- the schedule ------------------------------------------------------------------------------


@pytest.mark.parametrize(("attempts_made", "scheduled"), list(enumerate(SCHEDULE, start=1)))
def test_each_retry_comes_at_its_scheduled_delay_within_20_percent(attempts_made, scheduled):
    observed = delays(attempts_made)

    assert all(0.8 * scheduled <= delay <= 1.2 * scheduled for delay in observed)


@pytest.mark.parametrize(("attempts_made", "scheduled"), list(enumerate(SCHEDULE, start=1)))
def test_the_jitter_spreads_retries_across_the_whole_band(attempts_made, scheduled):
    observed = delays(attempts_made)

    assert min(observed) < 0.85 * scheduled
    assert max(observed) > 1.15 * scheduled


def test_there_is_no_retry_after_the_last_scheduled_one():
    assert retry_delay(len(SCHEDULE) + 1, SCHEDULE) is None
    assert retry_delay(len(SCHEDULE) + 5, SCHEDULE) is None


def test_a_configured_schedule_is_followed():
    schedule = (0, 10)

    assert retry_delay(1, schedule) == 0
    assert 8 <= retry_delay(2, schedule) <= 12
    assert retry_delay(3, schedule) is None


# -- Retry-After -------------------------------------------------------------------------------


def test_a_retry_after_in_seconds_longer_than_the_delay_replaces_it():
    assert set(delays(1, retry_after="120")) == {120}


def test_a_retry_after_http_date_longer_than_the_delay_replaces_it():
    observed = delays(1, retry_after=http_date(600))

    assert all(597 <= delay <= 600 for delay in observed)


def test_a_retry_after_shorter_than_the_delay_is_ignored():
    # the second retry is due after 300 s ± 20 %; the merchant asks for only 10 s
    observed = delays(2, retry_after="10")

    assert all(240 <= delay <= 360 for delay in observed)
    assert len(set(observed)) > 1  # still jittered: the schedule decided


def test_a_retry_after_date_in_the_past_is_ignored():
    observed = delays(1, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")

    assert all(4 <= delay <= 6 for delay in observed)


@pytest.mark.parametrize(
    "retry_after",
    [pytest.param("999999", id="seconds"), pytest.param(http_date(3 * DAY), id="http-date")],
)
def test_a_retry_after_is_capped_at_24_hours(retry_after):
    assert set(delays(1, retry_after=retry_after)) == {DAY}


@pytest.mark.parametrize(
    "retry_after",
    [
        "",
        "soon",
        "-120",
        "1.5e3",
        "120 seconds",
        "Wed, 99 Oct 2015 07:28:00 GMT",
        "\u0661\u0662\u0660",  # Arabic-Indic digits: not the ASCII DIGITs HTTP allows
        "\u00b2",  # superscript two, a latin-1 byte a server can send in a header
    ],
)
def test_a_malformed_retry_after_is_ignored(retry_after):
    observed = delays(1, retry_after=retry_after)

    assert all(4 <= delay <= 6 for delay in observed)


def test_a_retry_after_does_not_extend_a_finished_schedule():
    assert retry_delay(len(SCHEDULE) + 1, SCHEDULE, "120") is None


# -- signatures --------------------------------------------------------------------------------

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
MESSAGE_ID = "evt_2Jx9c5s0WcHqLZ1n8v3r7t4y"
BODY = b'{"event":"item.purchased","item_name":"Nasi Goreng Spesial","amount":75000}'


def headers_for(signature: str, timestamp: int) -> dict[str, str]:
    return {
        "webhook-id": MESSAGE_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_the_signature_is_an_hmac_sha256_of_id_timestamp_and_body():
    material = f"{MESSAGE_ID}.1762400000.".encode() + BODY
    expected = base64.b64encode(hmac.new(KEY, material, hashlib.sha256).digest()).decode()

    assert sign(SECRET, MESSAGE_ID, 1762400000, BODY) == "v1," + expected


def test_the_signature_matches_the_standard_webhooks_reference_vector():
    # the example in the Standard Webhooks specification and its libraries' tests
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_public_library_accepts_the_signature():
    timestamp = int(time.time())
    header = signature_header([SECRET], MESSAGE_ID, timestamp, BODY)

    payload = Webhook(SECRET).verify(BODY, headers_for(header, timestamp))

    assert payload["event"] == "item.purchased"


def test_the_public_library_rejects_the_signature_under_another_secret():
    timestamp = int(time.time())
    header = signature_header([SECRET], MESSAGE_ID, timestamp, BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_SECRET).verify(BODY, headers_for(header, timestamp))


def test_the_signature_covers_every_byte_of_the_body():
    timestamp = int(time.time())
    header = signature_header([SECRET], MESSAGE_ID, timestamp, BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY.replace(b"75000", b"75001"), headers_for(header, timestamp))


def test_two_secrets_give_two_space_separated_signatures_each_verifiable():
    timestamp = int(time.time())

    header = signature_header([OTHER_SECRET, SECRET], MESSAGE_ID, timestamp, BODY)

    assert header.split(" ") == [
        sign(OTHER_SECRET, MESSAGE_ID, timestamp, BODY),
        sign(SECRET, MESSAGE_ID, timestamp, BODY),
    ]
    for secret in (OTHER_SECRET, SECRET):
        Webhook(secret).verify(BODY, headers_for(header, timestamp))
