"""The figures Lunas counts for Prometheus (SPEC §15), shared by every process.

Counters and the latency histogram live here, beside the code that counts them; the figures
read from the database at scrape time (deliveries due, the oldest due) are collected by
app/services/operations/metrics.py. With PROMETHEUS_MULTIPROC_DIR set (in the environment
before this module is first imported, as `make run`, the Procfile's platforms and compose.yaml
do), every gunicorn and worker process writes its own values to files there and `/metrics`
adds them up; without it, `/metrics` shows the one process that answers.

Each call counts something that has happened, after its transaction committed. Labels take
values from short fixed sets only (an environment, an outcome, a result, a URL rule), never
an id, so the number of series stays small."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CHECKOUTS_CREATED = Counter(
    "lunas_checkouts_created_total",
    "Checkouts created (a Snap session opened for a new order id; a replay is not counted).",
    ["environment"],
)
NOTIFICATIONS = Counter(
    "lunas_notifications_total",
    "Midtrans notifications processed, by the outcome recorded on each.",
    ["outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "lunas_webhook_attempts_total",
    "Webhook attempts to merchants: delivered (2xx), http_error (another answer), timeout, "
    "unreachable (no connection), refused (the address guard).",
    ["result"],
)
REFUNDS = Counter(
    "lunas_refunds_total",
    "Refund outcomes: succeeded, failed (Midtrans refused), unknown (no answer yet; the "
    "refund stays pending and is asked about again).",
    ["result"],
)
HTTP_REQUEST_DURATION = Histogram(
    "lunas_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL rule (the route, not the path asked for).",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def checkout_created(environment: str) -> None:
    CHECKOUTS_CREATED.labels(environment=environment).inc()


def notification_processed(outcome: str) -> None:
    NOTIFICATIONS.labels(outcome=outcome).inc()


def webhook_attempted(result: str) -> None:
    WEBHOOK_ATTEMPTS.labels(result=result).inc()


def refund_ended(result: str) -> None:
    REFUNDS.labels(result=result).inc()


def request_answered(endpoint: str, method: str, seconds: float) -> None:
    HTTP_REQUEST_DURATION.labels(endpoint=endpoint, method=method).observe(seconds)
