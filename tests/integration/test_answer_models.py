"""The webhook bodies Lunas really records match the payload models it publishes
(app/api/answers.py): item.purchased of a shop payment, payment.refunded after a partial
refund, and test.ping."""

from __future__ import annotations

from app.api import answers
from app.models import Environment
from app.services.outbox.events import send_test_event
from tests.helpers import MERCHANT_URL
from tests.merchant_api import paid_payment, refund
from tests.webhook_flow import payloads, point_webhooks_at


def test_recorded_webhook_bodies_are_valid_payloads_of_their_models(
    app, client, project, fake_midtrans
):
    point_webhooks_at(app, project, MERCHANT_URL)
    purchase_id = paid_payment(client, project, fake_midtrans, buyer_name="Sari")
    assert refund(client, project, purchase_id, amount=25000).status_code == 201
    with app.app_context():
        send_test_event(project.project_id, Environment.SANDBOX)

    [purchased] = payloads(app, "item.purchased")
    [refunded] = payloads(app, "payment.refunded")
    [ping] = payloads(app, "test.ping")

    assert answers.shaped(answers.ItemPurchased, purchased) == purchased
    assert answers.shaped(answers.PaymentChanged, refunded) == refunded
    assert refunded["status"] == "partial_refund"
    assert answers.shaped(answers.TestPing, ping) == ping
