"""An endpoint's fair share of the workers, and its circuit breaker: the rules, on the values
of one endpoint row (delivery.py locks the row, counts, and applies what these return).

Fair share: one endpoint has at most WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT attempts in flight at
once, counted at claim time as its deliveries holding a live lease, under a lock on its row, so
the limit holds over every worker process. A due delivery with no free slot is deferred by a few
seconds, not attempted: the worker moves on to other tenants' work. (With as many workers as the
limit, one endpoint can still fill them all; run more workers than the limit.)

Circuit breaker: FAILURES_TO_OPEN timeouts or failed connections in a row open the endpoint's
circuit for a cool-down (60 s, doubled after each failed probe, at most 10 minutes). While it is
open, due deliveries are deferred to its end: no attempt, no retry spent, nothing lost. After the
cool-down it is half-open: one attempt at a time goes through as a probe. Any answer from the
endpoint (a 2xx, or an error status it sent in time) closes the circuit; another timeout or
failed connection opens it again, for longer. An answer means the endpoint is not holding the
workers up, which is all the breaker protects; failing answers are handled by the retry schedule.

    closed ──K failures in a row──▶ open ──cool-down ends──▶ half-open ──answer──▶ closed
                                     ▲                          │
                                     └────── failure ◀──────────┘
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.models import EndpointFailure, WebhookEndpoint
from app.services.outbox.transport import PostResult

FAILURES_TO_OPEN = 5
FIRST_COOL_DOWN = timedelta(seconds=60)
MAX_COOL_DOWN = timedelta(minutes=10)
# A delivery that finds no free slot comes back this many seconds later (spread, so the waiting
# ones do not all return at once); those held by an open circuit, this much after its end.
SLOT_WAIT_SECONDS = (2.0, 4.0)
REOPEN_SPREAD_SECONDS = 2.0

FAILURE_WORDS = {
    EndpointFailure.TIMEOUT: "timeouts",
    EndpointFailure.CONNECTION: "failed connections",
    EndpointFailure.MIXED: "timeouts or failed connections",
}


@dataclass(frozen=True)
class CircuitView:
    """What the portal says about a circuit that is not closed."""

    open_until: datetime | None  # None: the cool-down is over and the next attempt is a probe
    failures: int
    failure_words: str
    held: int  # deliveries waiting for it


def is_open(endpoint: WebhookEndpoint, now: datetime) -> bool:
    return endpoint.circuit_open_until is not None and endpoint.circuit_open_until > now


def is_half_open(endpoint: WebhookEndpoint, now: datetime) -> bool:
    return endpoint.consecutive_failures >= FAILURES_TO_OPEN and not is_open(endpoint, now)


def cool_down(failures: int) -> timedelta:
    """How long the circuit stays open after `failures` failures in a row (at least K)."""
    doublings = min(max(failures - FAILURES_TO_OPEN, 0), 10)
    return min(FIRST_COOL_DOWN * 2**doublings, MAX_COOL_DOWN)


def hold_until(
    endpoint: WebhookEndpoint,
    in_flight: int,
    limit: int,
    now: datetime,
    rng: random.Random | None = None,
) -> datetime | None:
    """When a due delivery to this endpoint should come back, or None: attempt it now.
    `in_flight` is the endpoint's attempts under a live lease, `limit` its share."""
    rng = rng or random
    if is_open(endpoint, now):
        return endpoint.circuit_open_until + timedelta(
            seconds=rng.uniform(0, REOPEN_SPREAD_SECONDS)
        )
    if is_half_open(endpoint, now):
        limit = 1  # one probe at a time
    if in_flight >= limit:
        return no_slot_until(now, rng)
    return None


def no_slot_until(now: datetime, rng: random.Random | None = None) -> datetime:
    """When a delivery that found its endpoint's slots taken comes back."""
    return now + timedelta(seconds=(rng or random).uniform(*SLOT_WAIT_SECONDS))


def closed() -> dict[str, Any]:
    """No failures counted: every attempt may go (the endpoint answered, or its URL changed)."""
    return dict(consecutive_failures=0, failure_kind=None, circuit_open_until=None)


def after_attempt(endpoint: WebhookEndpoint, result: PostResult, now: datetime) -> dict[str, Any]:
    """The endpoint's circuit values after one attempt's outcome (empty: unchanged)."""
    if result.failure is None:
        # An answer closes it; a request refused before it left (the SSRF guard) says nothing
        # about the endpoint.
        return closed() if result.http_status is not None else {}
    if is_open(endpoint, now):
        return {}  # an attempt that began before the circuit opened: already counted against it
    failures = endpoint.consecutive_failures + 1
    kind = endpoint.failure_kind
    kind = result.failure if kind in (None, result.failure) else EndpointFailure.MIXED
    values: dict[str, Any] = dict(consecutive_failures=failures, failure_kind=kind)
    if failures >= FAILURES_TO_OPEN:
        values["circuit_open_until"] = now + cool_down(failures)
    return values


def is_closed(endpoint: WebhookEndpoint) -> bool:
    return endpoint.consecutive_failures < FAILURES_TO_OPEN


def view(endpoint: WebhookEndpoint, now: datetime, held: int) -> CircuitView:
    """The circuit as the portal shows it (open or half-open), with `held` deliveries."""
    words = FAILURE_WORDS[endpoint.failure_kind or EndpointFailure.MIXED]
    open_until = endpoint.circuit_open_until if is_open(endpoint, now) else None
    return CircuitView(open_until, endpoint.consecutive_failures, words, held)


def apply(endpoint: WebhookEndpoint, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(endpoint, name, value)
