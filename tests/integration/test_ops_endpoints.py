"""What an operator's tools see (SPEC §15): `/healthz`, `/readyz` with PostgreSQL or Redis
away, `/metrics` read as Prometheus reads it (its own text parser) after real checkouts,
notifications, webhook attempts and refunds, and behind METRICS_TOKEN. PostgreSQL away makes
the web answer 503, never 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.extensions import db
from app.models import WebhookDelivery
from app.models.base import utcnow
from tests.fakes import Answer
from tests.helpers import checkout_body, create_payment
from tests.merchant_api import paid_payment, refund
from tests.receiver import MerchantReceiver, Reply
from tests.webhook_flow import attempt_delivery, delivery_rows, point_webhooks_at, settle

NOBODY = "127.0.0.1:9"  # nothing listens on port 9
TOKEN = "t0ken-for-prometheus-only"


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# -- health and readiness ----------------------------------------------------------------------


def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ok_when_postgresql_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_without_redis_is_degraded_but_still_routable(app_with):
    client = app_with(REDIS_URL=f"redis://{NOBODY}/0").test_client()

    response = client.get("/readyz")

    # Lunas takes notifications and money without Redis: a load balancer keeps routing.
    assert response.status_code == 200
    assert response.get_json() == {"status": "degraded", "degraded": ["redis"]}


@pytest.fixture
def database_away(app_with):
    return app_with(DATABASE_URL=f"postgresql+psycopg://postgres@{NOBODY}/lunas", STATUS_CACHE="0")


@pytest.mark.postgres_only
def test_readyz_without_postgresql_is_unavailable(database_away):
    response = database_away.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "failed": ["postgresql"]}


@pytest.mark.postgres_only
def test_without_postgresql_the_api_and_the_pages_answer_503_not_500(database_away, project):
    client = database_away.test_client()

    created = client.post(
        "/api/platform/shop-payment",
        json=checkout_body(project),
    )
    notified = client.post("/api/midtrans/notification", json={"order_id": "x"})
    page = client.get("/pay/pur_0123456789abcdefghij")  # the buyer's page

    assert created.status_code == 503
    assert created.get_json()["error"]["code"] == "unavailable"
    assert created.headers["Retry-After"] == "5"
    # Midtrans sends a notification again after a 503; nothing was accepted, so none is lost.
    assert notified.status_code == 503
    assert page.status_code == 503 and b"503" in page.data


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_count_checkouts_and_notifications_by_outcome(client, project, fake_midtrans):
    before = scrape(client)

    purchase_id = create_payment(client, project)
    settle(client, fake_midtrans, purchase_id)
    settle(client, fake_midtrans, purchase_id)  # Midtrans sends it again
    bad = client.post("/api/midtrans/notification", data="{not json", content_type="text/plain")
    assert bad.status_code == 400

    after = scrape(client)
    counted = "lunas_checkouts_created_total"
    assert (
        value(after, counted, environment="sandbox") - value(before, counted, environment="sandbox")
        == 1
    )
    assert value(after, counted, environment="production") == value(
        before, counted, environment="production"
    )
    notifications = "lunas_notifications_total"
    for outcome, more in (("applied", 1), ("duplicate", 1), ("invalid", 1)):
        grew = value(after, notifications, outcome=outcome) - value(
            before, notifications, outcome=outcome
        )
        assert grew == more, outcome


def test_metrics_count_webhook_attempts_by_result_and_show_what_is_due(
    app, client, project, fake_midtrans
):
    with MerchantReceiver(replies=[Reply(500)], default=Reply(200)) as merchant:
        point_webhooks_at(app, project, merchant.url)
        settle(client, fake_midtrans, create_payment(client, project))
        [row] = delivery_rows(app)
        before = scrape(client)

        attempt_delivery(app, row["id"])  # 500
        with app.app_context():
            db.session.execute(
                db.update(WebhookDelivery)
                .where(WebhookDelivery.id == row["id"])
                .values(next_attempt_at=utcnow() - timedelta(seconds=90))
            )
            db.session.commit()
        due = scrape(client)
        attempt_delivery(app, row["id"])  # 200
        after = scrape(client)

    attempts = "lunas_webhook_attempts_total"
    assert (
        value(due, attempts, result="http_error") - value(before, attempts, result="http_error")
        == 1
    )
    assert (
        value(after, attempts, result="delivered") - value(due, attempts, result="delivered") == 1
    )
    assert value(due, "lunas_webhook_deliveries_due") == 1
    assert 90 <= value(due, "lunas_webhook_oldest_due_seconds") < 120
    assert value(after, "lunas_webhook_deliveries_due") == 0
    assert value(after, "lunas_webhook_oldest_due_seconds") == 0
    assert value(after, "lunas_dependency_up", dependency="postgresql") == 1
    assert value(after, "lunas_dependency_up", dependency="redis") == 1


def test_metrics_count_refunds_by_result(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    before = scrape(client)

    assert refund(client, project, purchase_id, amount=10000).status_code == 201
    fake_midtrans.action_answers[f"{purchase_id}/refund"] = Answer(
        200, {"status_code": "412", "status_message": "Merchant cannot modify the status"}
    )
    assert refund(client, project, purchase_id, amount=10000).status_code == 422

    after = scrape(client)
    for result in ("succeeded", "failed"):
        grew = value(after, "lunas_refunds_total", result=result) - value(
            before, "lunas_refunds_total", result=result
        )
        assert grew == 1, result


def test_metrics_time_requests_by_route_not_by_path(client, project):
    before = scrape(client)
    for order_id in ("INV-1", "INV-2", "INV-3"):
        client.get(f"/api/platform/shop-payment/verify?order_id={order_id}")
    client.get("/no/such/page")

    after = scrape(client)
    histogram = "lunas_http_request_duration_seconds_count"
    route = {"endpoint": "/api/platform/shop-payment/verify", "method": "GET"}
    assert value(after, histogram, **route) - value(before, histogram, **route) == 3
    unmatched = {"endpoint": "unmatched", "method": "GET"}
    assert value(after, histogram, **unmatched) - value(before, histogram, **unmatched) == 1
    # No series is named after an order id or a path someone made up.
    assert not [key for key in after if "INV-1" in str(key) or "/no/such" in str(key)]


def test_metrics_ask_for_the_token_when_one_is_set(app_with):
    client = app_with(METRICS_TOKEN=TOKEN).test_client()

    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}"})
    scraped = scrape(client, Authorization=f"Bearer {TOKEN}")

    for refused in (missing, wrong):
        assert refused.status_code == 401
        assert refused.get_json()["error"]["code"] == "invalid_client"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"lunas_" not in refused.data
    assert ("lunas_webhook_deliveries_due", ()) in scraped


def test_health_and_readiness_never_ask_for_the_metrics_token(app_with):
    client = app_with(METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
