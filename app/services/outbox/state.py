"""A delivery's state, changed only through these values (plain column values, so that one
row set through the ORM and many set by one UPDATE move the same way).

    waiting_for_endpoint ──URL set──▶ pending ──claimed──▶ delivering ──2xx──▶ delivered
                                      ▲   │ ▲                  │
                                      │   └─┘ deferred         │
                                      └──── retry due ◀────────┤──schedule spent, 410──▶ failed
    delivered / failed ──resend──▶ pending (or waiting_for_endpoint when no URL is set)

A claim whose lease ran out (its worker died) may be claimed again from `delivering`. A due
delivery whose endpoint has no free slot, or whose circuit is open, is deferred instead of
claimed: still pending, a little later, with no attempt made or counted. A test event gets one
attempt, never a retry: its first failure (or a lost attempt) makes it failed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.models import DeliveryStatus, WebhookDelivery

CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.DELIVERING)


def scheduled(has_url: bool, now: datetime) -> dict[str, Any]:
    """A fresh schedule: due now when the endpoint has a URL, else kept until one is set."""
    return dict(
        status=DeliveryStatus.PENDING if has_url else DeliveryStatus.WAITING_FOR_ENDPOINT,
        attempt_count=0,
        next_attempt_at=now if has_url else None,
        leased_until=None,
        finished_at=None,
        last_error=None,
    )


def released(now: datetime) -> dict[str, Any]:
    """A waiting delivery whose endpoint got a URL: due now, its attempts so far kept."""
    return dict(status=DeliveryStatus.PENDING, next_attempt_at=now)


def claimed(now: datetime, lease: timedelta) -> dict[str, Any]:
    return dict(
        status=DeliveryStatus.DELIVERING,
        leased_until=now + lease,
        attempt_count=WebhookDelivery.attempt_count + 1,
    )


def deferred(at: datetime) -> dict[str, Any]:
    """Due, but not now (the endpoint's attempts in flight are at their limit, or its circuit
    is open): due again at `at`, its attempts and last error as they were."""
    return dict(status=DeliveryStatus.PENDING, next_attempt_at=at, leased_until=None)


def unclaimed_for_lack_of_url(attempt_count: int) -> dict[str, Any]:
    """Claimed, but the URL was removed meanwhile: the claim is not an attempt."""
    return dict(
        status=DeliveryStatus.WAITING_FOR_ENDPOINT,
        attempt_count=attempt_count - 1,
        next_attempt_at=None,
        leased_until=None,
    )


def delivered(now: datetime) -> dict[str, Any]:
    return dict(
        status=DeliveryStatus.DELIVERED,
        finished_at=now,
        next_attempt_at=None,
        leased_until=None,
        last_error=None,
    )


def failed(now: datetime, error: str) -> dict[str, Any]:
    return dict(
        status=DeliveryStatus.FAILED,
        finished_at=now,
        next_attempt_at=None,
        leased_until=None,
        last_error=error,
    )


def retrying(at: datetime, error: str) -> dict[str, Any]:
    return dict(
        status=DeliveryStatus.PENDING, next_attempt_at=at, leased_until=None, last_error=error
    )


def apply(delivery: WebhookDelivery, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(delivery, name, value)
