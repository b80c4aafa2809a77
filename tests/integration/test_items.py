"""Items and their checkout through the API (SPEC §13): the catalog's rules, the checkout's
price and order id, stock held by pending checkouts and given back when they end unpaid,
and every item endpoint scoped to its project environment."""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest
import requests

from app.models import Item
from tests.fakes import Answer
from tests.helpers import ISO_Z, payment_row, table_rows
from tests.merchant_api import PAYMENTS_URL, api_get, api_post, payment_url
from tests.webhook_flow import midtrans_moves, payloads, settle

ITEMS_URL = "/api/platform/items"
ITEM_FIELDS = {
    "item_id", "name", "description", "price", "price_mode", "min_amount", "max_amount",
    "allow_price_override", "slug", "active", "archived", "stock", "image_url", "delivery",
    "link_url", "created_at",
}  # fmt: skip


def new_item(client, keys, environment: str = "sandbox", **fields) -> dict:
    body = {"name": "Kopi Susu Gula Aren", "price": 25000, **fields}
    response = api_post(client, keys, ITEMS_URL, body, environment)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def checkout(client, keys, item_id: str, environment: str = "sandbox", **fields):
    body = {"buyer_email": "buyer@example.com", **fields}
    return api_post(client, keys, f"{ITEMS_URL}/{item_id}/checkout", body, environment)


def refused(response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error["field"] == field


def stock_of(app, item_id: str) -> int | None:
    [row] = table_rows(app, Item, Item.item_id == item_id)
    return row["stock"]


# -- the catalog -------------------------------------------------------------------------------


def test_an_item_is_created_with_every_documented_field_and_read_back(client, project):
    item = new_item(client, project, description="Es kopi, 250 ml", stock=10)

    assert set(item) == ITEM_FIELDS
    assert re.fullmatch(r"itm_[A-Za-z0-9]{16,}", item["item_id"])
    assert (item["price"], item["price_mode"], item["stock"]) == (25000, "fixed", 10)
    assert item["slug"] == "kopi-susu-gula-aren"
    assert item["link_url"].endswith("/i/kopi-susu-gula-aren")
    assert (item["active"], item["archived"], item["delivery"]) == (True, False, None)
    assert ISO_Z.match(item["created_at"])
    read = api_get(client, project, f"{ITEMS_URL}/{item['item_id']}")
    assert read.status_code == 200 and read.get_json() == item


def test_a_flexible_item_takes_bounds_not_a_price(client, project):
    item = new_item(
        client, project, name="Donasi", price=None, price_mode="flexible", min_amount=10000
    )
    assert (item["price"], item["min_amount"], item["max_amount"]) == (None, 10000, None)

    cases = [
        ({"price_mode": "flexible", "min_amount": 1000}, "price"),  # and a price
        ({"price": None, "price_mode": "flexible"}, "min_amount"),
        ({"price": None, "price_mode": "flexible", "min_amount": 5, "max_amount": 4}, "max_amount"),
        ({"min_amount": 1000}, "min_amount"),  # bounds on a fixed price
        ({"price": None}, "price"),
        ({"price_mode": "auction"}, "price_mode"),
        ({"price": 0}, "price"),
        ({"price": "25000"}, "price"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"stock": -1}, "stock"),
        ({"colour": "red"}, "colour"),
        ({"description": "x" * 2001}, "description"),
    ]
    for fields, field in cases:
        body = {"name": "Donasi", "price": 25000, **fields}
        refused(api_post(client, project, ITEMS_URL, body), 400, "invalid_request", field)
    assert len(api_get(client, project, ITEMS_URL).get_json()["data"]) == 1  # nothing stored


def test_a_slug_is_unique_across_lunas(client, project, strangers):
    new_item(client, project, slug="kopi-aren")
    refused(
        api_post(client, strangers, ITEMS_URL, {"name": "Lain", "price": 1, "slug": "kopi-aren"}),
        409,
        "slug_taken",
        "slug",
    )
    first = new_item(client, project, name="Teh Manis")
    second = new_item(client, strangers, name="Teh Manis")  # made from the name: suffixed
    assert first["slug"] == "teh-manis"
    assert second["slug"].startswith("teh-manis-") and second["slug"] != first["slug"]


def test_patch_changes_only_what_it_names(client, project):
    item = new_item(client, project, stock=5)
    url = f"{ITEMS_URL}/{item['item_id']}"

    changed = client.patch(url, json={"price": 30000, "stock": None}, headers=project.auth())
    refused(client.patch(url, json={"name": None}, headers=project.auth()), 400, "invalid_request")

    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["price"], body["stock"], body["name"]) == (30000, None, item["name"])
    assert api_get(client, project, url).get_json()["price"] == 30000


def test_the_list_pages_newest_first_with_a_cursor(client, project):
    made = [new_item(client, project, name=f"Item {n}")["item_id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"starting_after": cursor} if cursor else {})}
        page = api_get(client, project, ITEMS_URL, **params).get_json()
        seen += [item["item_id"] for item in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == made[::-1]
    refused(api_get(client, project, ITEMS_URL, limit=0), 400, "invalid_request", "limit")
    refused(api_get(client, project, ITEMS_URL, starting_after="junk"), 400, "invalid_request")


def test_archived_or_inactive_items_sell_nothing(client, project):
    archived = new_item(client, project, name="Lama")
    inactive = new_item(client, project, name="Nanti", active=False)
    archive_url = f"{ITEMS_URL}/{archived['item_id']}/archive"

    first = api_post(client, project, archive_url)
    again = api_post(client, project, archive_url)

    assert first.status_code == again.status_code == 200
    assert (first.get_json()["archived"], first.get_json()["active"]) == (True, False)
    refused(checkout(client, project, archived["item_id"]), 409, "item_inactive")
    refused(checkout(client, project, inactive["item_id"]), 409, "item_inactive")
    assert table_rows_of_payments(client, project) == []


def table_rows_of_payments(client, project) -> list:
    return api_get(client, project, PAYMENTS_URL).get_json()["data"]


# -- the checkout ------------------------------------------------------------------------------


def test_an_item_checkout_makes_its_order_id_and_prices_unit_times_quantity(
    app, client, project, fake_midtrans
):
    item = new_item(client, project)

    response = checkout(client, project, item["item_id"], quantity=3, buyer_name="Sari")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert re.fullmatch(r"ord_[A-Za-z0-9]{16}", body["order_id"])
    assert (body["item_id"], body["amount"], body["status"]) == (item["item_id"], 75000, "pending")
    [snap] = fake_midtrans.calls("POST", "/snap")
    assert snap.body["transaction_details"]["gross_amount"] == 75000
    assert snap.body["item_details"] == [
        {"id": item["item_id"], "name": item["name"], "price": 25000, "quantity": 3}
    ]
    payment = api_get(client, project, payment_url(body["purchase_id"])).get_json()
    assert (payment["item_id"], payment["item_name"], payment["quantity"]) == (
        item["item_id"],
        item["name"],
        3,
    )
    only_item = api_get(client, project, PAYMENTS_URL, item_id=item["item_id"]).get_json()
    direct = api_get(client, project, PAYMENTS_URL, item_id="__direct__").get_json()
    assert [p["purchase_id"] for p in only_item["data"]] == [body["purchase_id"]]
    assert direct["data"] == []


def test_the_amount_rules_of_fixed_override_and_flexible_prices(client, project, fake_midtrans):
    fixed = new_item(client, project, name="Tetap")
    override = new_item(client, project, name="Bisa Diubah", allow_price_override=True)
    flexible = new_item(
        client,
        project,
        name="Tip",
        price=None,
        price_mode="flexible",
        min_amount=5000,
        max_amount=50000,
    )

    refused(checkout(client, project, fixed["item_id"], amount=1), 400, "invalid_request", "amount")
    refused(checkout(client, project, flexible["item_id"]), 400, "invalid_request", "amount")
    refused(
        checkout(client, project, flexible["item_id"], amount=4999),
        400,
        "invalid_request",
        "amount",
    )
    refused(
        checkout(client, project, flexible["item_id"], amount=50001),
        400,
        "invalid_request",
        "amount",
    )
    refused(
        checkout(client, project, fixed["item_id"], quantity=101),
        400,
        "invalid_request",
        "quantity",
    )
    refused(
        checkout(client, project, fixed["item_id"], order_id="MINE"),
        400,
        "invalid_request",
        "order_id",
    )
    overridden = checkout(client, project, override["item_id"], amount=12000, quantity=2)
    chosen = checkout(client, project, flexible["item_id"], amount=20000)
    assert overridden.status_code == chosen.status_code == 201
    assert (overridden.get_json()["amount"], chosen.get_json()["amount"]) == (24000, 20000)


def test_item_purchased_carries_the_item_and_its_quantity(app, client, project, fake_midtrans):
    item = new_item(client, project)
    purchase_id = checkout(client, project, item["item_id"], quantity=2).get_json()["purchase_id"]

    settle(client, fake_midtrans, purchase_id, gross_amount="50000.00")

    [event] = payloads(app, "item.purchased")
    assert (event["item_id"], event["item_name"], event["quantity"]) == (
        item["item_id"],
        item["name"],
        2,
    )
    assert event["amount"] == 50000


# -- stock -------------------------------------------------------------------------------------


def test_stock_is_held_by_pending_checkouts_and_sold_out_beyond_it(
    app, client, project, fake_midtrans
):
    item = new_item(client, project, stock=3)

    two = checkout(client, project, item["item_id"], quantity=2)
    too_many = checkout(client, project, item["item_id"], quantity=2)
    last = checkout(client, project, item["item_id"])
    none_left = checkout(client, project, item["item_id"])

    assert two.status_code == last.status_code == 201
    refused(too_many, 409, "sold_out", "quantity")
    assert "only 1 left" in too_many.get_json()["error"]["message"]
    refused(none_left, 409, "sold_out")
    assert stock_of(app, item["item_id"]) == 0
    assert len(table_rows_of_payments(client, project)) == 2  # nothing stored for the refusals


def test_an_expired_or_cancelled_checkout_gives_its_units_back(app, client, project, fake_midtrans):
    item = new_item(client, project, stock=3)
    expiring = checkout(client, project, item["item_id"], quantity=2).get_json()["purchase_id"]
    cancelled = checkout(client, project, item["item_id"]).get_json()["purchase_id"]
    assert stock_of(app, item["item_id"]) == 0

    expired = midtrans_moves(client, fake_midtrans, expiring, "expire", gross_amount="50000.00")
    assert expired.status_code == 200
    assert stock_of(app, item["item_id"]) == 2
    fake_midtrans.action_answers[f"{cancelled}/expire"] = Answer(
        404, {"status_code": "404", "status_message": "Transaction doesn't exist."}
    )
    cancel = api_post(client, project, payment_url(cancelled, "cancel"))
    assert cancel.status_code == 200, cancel.get_json()
    assert stock_of(app, item["item_id"]) == 3
    held = [payment_row(app, purchase_id)["stock_held"] for purchase_id in (expiring, cancelled)]
    assert held == [0, 0]
    # A repeated expire changes nothing: the units came back once.
    midtrans_moves(client, fake_midtrans, expiring, "expire", gross_amount="50000.00")
    assert stock_of(app, item["item_id"]) == 3


def test_a_late_settlement_of_an_expired_checkout_takes_its_units_back_even_below_zero(
    app, client, project, fake_midtrans
):
    item = new_item(client, project, stock=1)
    late = checkout(client, project, item["item_id"]).get_json()["purchase_id"]
    midtrans_moves(client, fake_midtrans, late, "expire", gross_amount="25000.00")
    assert checkout(client, project, item["item_id"]).status_code == 201  # the unit, resold

    settle(client, fake_midtrans, late, gross_amount="25000.00")

    assert payment_row(app, late)["status"] == "settlement"
    assert stock_of(app, item["item_id"]) == -1  # oversold: the money came anyway
    refused(checkout(client, project, item["item_id"]), 409, "sold_out")


def test_a_checkout_midtrans_refused_leaves_the_stock_as_it_was(
    app, client, project, fake_midtrans
):
    item = new_item(client, project, stock=1)
    fake_midtrans.snap_answer = Answer(500, {"error_messages": ["down"]})

    response = checkout(client, project, item["item_id"])

    assert response.status_code == 502, response.get_json()
    assert stock_of(app, item["item_id"]) == 1
    fake_midtrans.snap_answer = None
    assert checkout(client, project, item["item_id"]).status_code == 201


@pytest.mark.postgres_only
def test_fifty_buyers_racing_for_the_last_three_units_get_exactly_three_checkouts(
    app, client, live_server, project, fake_midtrans
):
    item = new_item(client, project, stock=3)
    racers = 50
    barrier = threading.Barrier(racers)
    statuses: list[int | str] = [0] * racers

    def buy(index: int) -> None:
        barrier.wait()
        try:
            response = requests.post(
                f"{live_server}{ITEMS_URL}/{item['item_id']}/checkout",
                json={"buyer_email": f"buyer{index}@example.com"},
                auth=(project.sandbox_id, project.sandbox_secret),
                timeout=60,
            )
            statuses[index] = response.status_code
        except requests.RequestException as exc:
            statuses[index] = repr(exc)

    threads = [threading.Thread(target=buy, args=(index,)) for index in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(statuses) == {201: 3, 409: 47}, statuses
    assert stock_of(app, item["item_id"]) == 0
    assert len(table_rows_of_payments(client, project)) == 3


# -- tenancy -----------------------------------------------------------------------------------


def test_every_item_endpoint_hides_other_tenants_and_the_other_environment(
    client, project, strangers
):
    item_id = new_item(client, project)["item_id"]
    url = f"{ITEMS_URL}/{item_id}"

    for keys, environment in ((strangers, "sandbox"), (project, "production")):
        responses = [
            api_get(client, keys, url, environment),
            client.patch(url, json={"price": 1}, headers=keys.auth(environment)),
            api_post(client, keys, f"{url}/archive", None, environment),
            checkout(client, keys, item_id, environment),
        ]
        for response in responses:
            refused(response, 404, "not_found")
        assert api_get(client, keys, ITEMS_URL, environment).get_json()["data"] == []
    assert api_get(client, project, url).get_json()["price"] == 25000
