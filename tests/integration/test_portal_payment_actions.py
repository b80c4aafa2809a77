"""Refund, Cancel and Mark completed on the portal's payment page (SPEC §11.7): each asks to
confirm first (nothing changes until then), then goes through the same service as the API,
and shows up in the refunds table and on the timeline."""

from __future__ import annotations

import pytest

from app.models import Refund
from tests.helpers import create_payment, payment_row, table_rows, text_of
from tests.merchant_api import paid_payment
from tests.portal_client import log_in, post_with_token
from tests.webhook_flow import midtrans_moves


@pytest.fixture
def owner(client, project):
    log_in(client)
    return project.project_id


def page_of(owner: str, purchase_id: str, action: str = "") -> str:
    return f"/projects/{owner}/payments/{purchase_id}" + (f"/{action}" if action else "")


def detail(client, owner: str, purchase_id: str) -> str:
    response = client.get(page_of(owner, purchase_id))
    assert response.status_code == 200
    return text_of(response)


def test_a_partial_refund_is_confirmed_first_then_made_and_shown(
    app, client, owner, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)
    assert "Refund…" in detail(client, owner, purchase_id)
    path = page_of(owner, purchase_id, "refund")

    asked = post_with_token(client, path, amount="37.500", reason="setengah pesanan")

    assert asked.status_code == 200
    assert "Give Rp37.500 back to buyer@example.com" in text_of(asked)
    assert table_rows(app, Refund) == []  # nothing yet
    done = post_with_token(client, path, amount="37500", reason="setengah pesanan", confirmed="1")
    assert done.status_code == 303
    page = detail(client, owner, purchase_id)
    assert "Refunded Rp37.500" in page
    [refund] = table_rows(app, Refund)
    assert (refund["amount"], refund["reason"]) == (37500, "setengah pesanan")
    assert refund["requested_by"] == "portal:owner@example.com"
    assert payment_row(app, purchase_id)["status"] == "partial_refund"
    assert refund["id"] in page and "setengah pesanan" in page
    assert "Rp37.500 is left to refund" in page


def test_a_refund_over_what_is_left_is_refused_with_the_reason(
    app, client, owner, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)

    post_with_token(client, page_of(owner, purchase_id, "refund"), amount="80000", confirmed="1")

    assert "Not refunded: Amount 80000 is more than the 75000 left" in detail(
        client, owner, purchase_id
    )
    assert payment_row(app, purchase_id)["status"] == "settlement"


@pytest.mark.parametrize("amount", ["abc", "-5", "1e6", "9" * 20])
def test_a_malformed_amount_changes_nothing(app, client, owner, project, fake_midtrans, amount):
    purchase_id = paid_payment(client, project, fake_midtrans)

    post_with_token(client, page_of(owner, purchase_id, "refund"), amount=amount, confirmed="1")

    assert "must be a whole number of Rupiah" in detail(client, owner, purchase_id)
    assert table_rows(app, Refund) == []


def test_a_bank_transfer_shows_how_to_refund_instead_of_a_form(
    client, owner, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans, payment_type="bank_transfer")

    page = detail(client, owner, purchase_id)

    assert "Refund…" not in page
    assert "refund the buyer outside Midtrans" in page


def test_cancel_asks_then_cancels_a_pending_checkout(app, client, owner, project, fake_midtrans):
    purchase_id = create_payment(client, project)
    midtrans_moves(client, fake_midtrans, purchase_id, "pending", payment_type="bank_transfer")
    path = page_of(owner, purchase_id, "cancel")

    asked = post_with_token(client, path)
    assert "Cancel this checkout?" in text_of(asked)
    assert payment_row(app, purchase_id)["status"] == "pending"
    post_with_token(client, path, confirmed="1")

    page = detail(client, owner, purchase_id)
    assert "Checkout cancelled." in page
    assert payment_row(app, purchase_id)["status"] == "cancel"
    assert "Cancel checkout…" not in page  # no button once cancelled
    assert "cancelled by portal:owner@example.com" in page  # on the timeline


def test_mark_completed_is_final_and_on_the_timeline(app, client, owner, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    path = page_of(owner, purchase_id, "complete")

    post_with_token(client, path, confirmed="1")

    page = detail(client, owner, purchase_id)
    assert "Order marked completed." in page
    assert payment_row(app, purchase_id)["fulfilment_status"] == "completed"
    assert "Mark completed…" not in page
    assert "order completed by portal:owner@example.com" in page


def test_every_action_needs_the_csrf_token(app, client, owner, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)

    for action in ("refund", "cancel", "complete"):
        response = post_with_token(client, page_of(owner, purchase_id, action), token=False)
        assert response.status_code == 400

    assert payment_row(app, purchase_id)["status"] == "settlement"


def test_another_users_payment_and_the_other_environment_are_404(
    app, client, owner, strangers, project, fake_midtrans
):
    theirs = paid_payment(client, strangers, fake_midtrans)
    mine = paid_payment(client, project, fake_midtrans, order_id="MINE")

    for action in ("refund", "cancel", "complete"):
        path = page_of(owner, theirs, action)
        assert post_with_token(client, path, confirmed="1").status_code == 404
        other_env = page_of(owner, mine, action) + "?env=production"
        assert post_with_token(client, other_env, confirmed="1").status_code == 404

    assert table_rows(app, Refund) == []
    assert payment_row(app, theirs)["fulfilment_status"] == "unfulfilled"
