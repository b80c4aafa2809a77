"""The circuit breaker's and the fair share's rules, on one endpoint's values: what counts as a
failure, when the circuit opens and for how long, and when a due delivery must wait."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.models import EndpointFailure, WebhookEndpoint
from app.services.outbox import circuit
from app.services.outbox.circuit import FAILURES_TO_OPEN
from app.services.outbox.transport import PostResult

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TIMED_OUT = PostResult(None, 15000, "timed out after 15 s", None, None, EndpointFailure.TIMEOUT)
REFUSED = PostResult(None, 1, "connection refused", None, None, EndpointFailure.CONNECTION)
ANSWERED_500 = PostResult(500, 20, None, "oops", None)
GUARD = PostResult(None, 1, "refused: not a public address", None, None)


def endpoint(failures: int = 0, kind=None, open_until=None) -> WebhookEndpoint:
    return WebhookEndpoint(
        consecutive_failures=failures, failure_kind=kind, circuit_open_until=open_until
    )


def after(subject: WebhookEndpoint, result: PostResult, now: datetime = NOW) -> WebhookEndpoint:
    circuit.apply(subject, circuit.after_attempt(subject, result, now))
    return subject


def test_failures_below_the_threshold_keep_the_circuit_closed():
    subject = endpoint()
    for _ in range(FAILURES_TO_OPEN - 1):
        after(subject, TIMED_OUT)

    assert subject.consecutive_failures == FAILURES_TO_OPEN - 1
    assert subject.circuit_open_until is None
    assert circuit.hold_until(subject, 0, 2, NOW) is None


def test_the_kth_failure_in_a_row_opens_it_for_a_minute():
    subject = after(endpoint(FAILURES_TO_OPEN - 1, EndpointFailure.TIMEOUT), TIMED_OUT)

    assert subject.circuit_open_until == NOW + timedelta(seconds=60)
    assert circuit.is_open(subject, NOW)


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(FAILURES_TO_OPEN, 60), (FAILURES_TO_OPEN + 1, 120), (FAILURES_TO_OPEN + 3, 480)]
    + [(FAILURES_TO_OPEN + n, 600) for n in (4, 5, 50, 10_000)],
)
def test_each_failed_probe_doubles_the_cool_down_up_to_ten_minutes(failures, seconds):
    assert circuit.cool_down(failures) == timedelta(seconds=seconds)


def test_any_answer_closes_it_even_an_error_status():
    subject = endpoint(FAILURES_TO_OPEN + 2, EndpointFailure.TIMEOUT, NOW - timedelta(seconds=1))

    after(subject, ANSWERED_500)

    assert (subject.consecutive_failures, subject.failure_kind) == (0, None)
    assert subject.circuit_open_until is None


def test_a_refusal_by_the_ssrf_guard_neither_counts_nor_closes():
    subject = endpoint(3, EndpointFailure.CONNECTION)

    after(subject, GUARD)

    assert (subject.consecutive_failures, subject.failure_kind) == (3, EndpointFailure.CONNECTION)


def test_timeouts_and_failed_connections_together_are_named_as_both():
    subject = after(after(endpoint(FAILURES_TO_OPEN - 2), TIMED_OUT), REFUSED)

    assert subject.failure_kind == EndpointFailure.MIXED
    assert circuit.is_open(subject, NOW)
    assert circuit.view(subject, NOW, 0).failure_words == "timeouts or failed connections"


def test_a_failure_of_an_attempt_begun_before_the_circuit_opened_does_not_extend_it():
    until = NOW + timedelta(seconds=30)
    subject = endpoint(FAILURES_TO_OPEN, EndpointFailure.TIMEOUT, until)

    after(subject, TIMED_OUT)

    assert (subject.consecutive_failures, subject.circuit_open_until) == (FAILURES_TO_OPEN, until)


def test_while_open_a_due_delivery_waits_until_the_cool_down_ends():
    until = NOW + timedelta(seconds=45)
    subject = endpoint(FAILURES_TO_OPEN, EndpointFailure.TIMEOUT, until)

    hold = circuit.hold_until(subject, 0, 2, NOW, random.Random(1))

    assert until <= hold <= until + timedelta(seconds=circuit.REOPEN_SPREAD_SECONDS)


def test_half_open_lets_one_probe_at_a_time_through():
    subject = endpoint(FAILURES_TO_OPEN, EndpointFailure.TIMEOUT, NOW - timedelta(seconds=1))

    assert circuit.is_half_open(subject, NOW)
    assert circuit.hold_until(subject, 0, 2, NOW) is None
    assert circuit.hold_until(subject, 1, 2, NOW) is not None


@pytest.mark.parametrize(("in_flight", "waits"), [(0, False), (1, False), (2, True), (5, True)])
def test_a_closed_endpoint_takes_up_to_its_limit_in_flight(in_flight, waits):
    hold = circuit.hold_until(endpoint(), in_flight, 2, NOW, random.Random(7))

    assert (hold is not None) == waits
    if waits:
        low, high = circuit.SLOT_WAIT_SECONDS
        assert NOW + timedelta(seconds=low) <= hold <= NOW + timedelta(seconds=high)
