"""The payments list's Export CSV (SPEC §11.7): exactly the current filter, every row once
across batches, UTF-8 with BOM, integer amounts, WIB times with the zone, formulas defused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.services.reporting import export
from tests.helpers import direct_payment, link
from tests.portal_client import log_in

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 WIB


@pytest.fixture
def owner(client, project):
    log_in(client)
    return project.project_id


def add(app, project_id: str, count: int, environment: str = "sandbox", **fields) -> list[str]:
    with app.app_context():
        payments = [
            direct_payment(project_id, T0 + timedelta(minutes=n), environment, **fields)
            for n in range(count)
        ]
        db.session.add_all(payments)
        db.session.commit()
        return [payment.purchase_id for payment in payments]


def exported(client, owner: str, **params) -> tuple[str, list[dict]]:
    response = client.get(f"/projects/{owner}/payments.csv", query_string=params)
    assert response.status_code == 200, response.status_code
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    return text, list(csv.DictReader(io.StringIO(text)))


def test_every_row_is_exported_once_newest_first_across_batches(
    app, client, owner, strangers, monkeypatch
):
    monkeypatch.setattr(export, "BATCH", 7)  # several batches from a few rows
    ids = add(app, owner, 30)
    add(app, owner, 3, environment="production")
    add(app, strangers.project_id, 3)

    _, rows = exported(client, owner)

    assert [row["purchase_id"] for row in rows] == ids[::-1]
    assert list(rows[0]) == export.HEADER


def test_the_export_has_exactly_the_lists_filters(app, client, owner):
    paid = add(app, owner, 2, status="settlement", paid_at=T0)
    add(app, owner, 3, status="pending")

    _, rows = exported(client, owner, status="settlement")
    assert [row["purchase_id"] for row in rows] == paid[::-1]
    _, by_day = exported(client, owner, **{"from": "2026-11-21"})
    assert by_day == []
    refused = client.get(f"/projects/{owner}/payments.csv", query_string={"status": "paid"})
    assert refused.status_code == 400
    page = client.get(f"/projects/{owner}/payments", query_string={"status": "settlement"})
    export_link = link(page, "Export CSV")
    assert export_link.startswith(f"/projects/{owner}/payments.csv?")
    assert "status=settlement" in export_link


def test_values_are_integers_wib_times_and_formulas_are_defused(app, client, owner):
    add(
        app,
        owner,
        1,
        amount=1250000,
        buyer_name='=HYPERLINK("http://evil")',
        item_name="Kopi Susu ☕",
        status="partial_refund",
        refunded=250000,
        paid_at=T0,
    )

    text, [row] = exported(client, owner)

    assert (row["amount"], row["refunded_amount"]) == ("1250000", "250000")
    assert row["created_at"] == "2026-11-20T10:00:00+07:00"
    assert row["paid_at"] == "2026-11-20T10:00:00+07:00"
    assert row["buyer_name"].startswith("'=")
    assert row["item_name"] == "Kopi Susu ☕"
    assert row["fulfilment_status"] == "unfulfilled"


def test_another_users_project_is_404_and_a_visitor_is_sent_to_log_in(
    app, client, owner, strangers
):
    add(app, strangers.project_id, 2)

    assert client.get(f"/projects/{strangers.project_id}/payments.csv").status_code == 404
    visitor = app.test_client()
    assert visitor.get(f"/projects/{owner}/payments.csv").status_code == 302
