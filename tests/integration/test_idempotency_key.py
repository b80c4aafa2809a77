"""Idempotency-Key on POSTs under /api/platform/ (SPEC §11): kept 24 h per project environment,
replayed byte for byte, refused for another request or while the first still runs."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from app.extensions import db
from app.models import IdempotencyKey
from app.models.base import utcnow
from app.services.idempotency import LOCK_SECONDS, fingerprint, purge_expired
from tests.fakes import Answer
from tests.helpers import CHECKOUT_URL, SNAP, checkout_body, payment_rows, row_count

KEY = {"Idempotency-Key": "checkout-7f3a"}


def post(client, body, headers=KEY, **kwargs):
    return client.post(CHECKOUT_URL, json=body, headers=headers, **kwargs)


def key_rows(app) -> list[IdempotencyKey]:
    with app.app_context():
        rows = db.session.scalars(select(IdempotencyKey)).all()
        db.session.expunge_all()
        return rows


def test_a_repeat_replays_the_first_answer_byte_for_byte(app, client, project, fake_midtrans):
    first = post(client, checkout_body(project))
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers

    again = post(client, checkout_body(project))

    # Without the key the order_id rule would answer 200: the key replays the first 201.
    assert again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"] == "application/json"
    assert len(fake_midtrans.calls("POST", SNAP)) == 1
    assert len(payment_rows(app)) == 1


def test_a_replay_is_the_answer_kept_even_after_the_payment_moved_on(
    app, client, project, fake_midtrans
):
    first = post(client, checkout_body(project))
    with app.app_context():
        db.session.execute(update(db.metadata.tables["payments"]).values(status="settlement"))
        db.session.commit()

    again = post(client, checkout_body(project))

    # Without a key this would be 409 order_id_conflict (the payment is settled).
    assert (again.status_code, again.get_data()) == (201, first.get_data())


def test_the_same_key_with_another_body_is_409_reused_and_changes_nothing(
    app, client, project, fake_midtrans
):
    post(client, checkout_body(project))

    other = post(client, checkout_body(project, order_id="order-2"))

    assert other.status_code == 409
    error = other.get_json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["field"] == "Idempotency-Key"
    assert len(payment_rows(app)) == 1
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_the_body_bytes_count_not_just_their_meaning(client, project, fake_midtrans):
    body = checkout_body(project)
    first = client.post(
        CHECKOUT_URL,
        data='{"amount": 75000, ' + _rest(body),
        content_type="application/json",
        headers=KEY,
    )
    assert first.status_code == 201

    spaced = client.post(
        CHECKOUT_URL,
        data='{"amount":  75000, ' + _rest(body),
        content_type="application/json",
        headers=KEY,
    )

    assert spaced.get_json()["error"]["code"] == "idempotency_key_reused"


def _rest(body: dict) -> str:
    return (
        ", ".join(f'"{name}": "{value}"' for name, value in body.items() if name != "amount") + "}"
    )


def test_keys_belong_to_one_project_environment(client, project, strangers, fake_midtrans):
    sandbox = post(client, checkout_body(project))
    production = post(client, checkout_body(project, "production"))
    theirs = post(client, checkout_body(strangers))

    assert [sandbox.status_code, production.status_code, theirs.status_code] == [201, 201, 201]
    assert len({sandbox.get_json()["purchase_id"], production.get_json()["purchase_id"]}) == 2
    assert "Idempotent-Replayed" not in theirs.headers


@pytest.mark.parametrize(
    "value",
    ["", "x" * 256, "tab\tkey", "kunci-ü"],
    ids=["empty", "too-long", "control-character", "not-ascii"],
)
def test_a_malformed_key_is_400_naming_the_header(app, client, project, fake_midtrans, value):
    response = client.post(
        CHECKOUT_URL,
        json=checkout_body(project),
        headers=[("Idempotency-Key", value.encode("utf-8").decode("latin-1"))],
    )

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", "Idempotency-Key")
    assert payment_rows(app) == []
    assert key_rows(app) == []


def test_a_key_of_255_printable_characters_is_accepted(client, project, fake_midtrans):
    key = ("~ !" * 85)[:255]
    assert post(client, checkout_body(project), headers={"Idempotency-Key": key}).status_code == 201


@pytest.mark.parametrize(
    ("body_change", "status"),
    [({"amount": "many"}, 400), ({"client_secret": "sk_test_wrong"}, 401)],
    ids=["400", "401"],
)
def test_refusals_the_caller_can_fix_are_not_kept(
    app, client, project, fake_midtrans, body_change, status
):
    refused = post(client, checkout_body(project, **body_change))
    assert refused.status_code == status
    assert key_rows(app) == []

    fixed = post(client, checkout_body(project, order_id="order-1"))

    # A different body is a different request, but with nothing kept the key is free again.
    assert fixed.status_code == 201


def test_an_upstream_failure_is_not_kept_and_the_retry_goes_through(
    app, client, project, fake_midtrans
):
    fake_midtrans.snap_answer = Answer(500, {"error_messages": ["Sorry, we are down"]})
    failed = post(client, checkout_body(project))
    assert failed.status_code == 502
    assert key_rows(app) == []

    fake_midtrans.snap_answer = None
    retried = post(client, checkout_body(project))

    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers


def test_a_409_answer_of_the_route_is_kept(app, client, project, fake_midtrans):
    post(client, checkout_body(project), headers={})  # the order exists, without a key
    conflict = post(client, checkout_body(project, amount=1))
    assert conflict.get_json()["error"]["code"] == "order_id_conflict"
    with app.app_context():
        db.session.execute(update(db.metadata.tables["payments"]).values(amount=1))
        db.session.commit()

    again = post(client, checkout_body(project, amount=1))

    # Now the order would match, but the kept answer is the 409.
    assert (again.status_code, again.get_data()) == (409, conflict.get_data())
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_key_in_use_is_409_and_a_key_held_by_a_dead_request_is_taken_over(
    app, client, project, fake_midtrans, clock
):
    raw = json.dumps(checkout_body(project)).encode()
    with app.app_context():
        now = utcnow()
        db.session.add(  # what a request that is still running (or died) leaves behind
            IdempotencyKey(
                project_id=project.project_id,
                environment="sandbox",
                key=KEY["Idempotency-Key"],
                fingerprint=fingerprint("POST", CHECKOUT_URL, raw),
                locked_at=now,
                created_at=now,
                expires_at=now + timedelta(hours=24),
            )
        )
        db.session.commit()

    def send():
        return client.post(CHECKOUT_URL, data=raw, content_type="application/json", headers=KEY)

    busy = send()
    assert busy.status_code == 409
    assert busy.get_json()["error"]["code"] == "idempotency_key_in_use"
    assert payment_rows(app) == []

    clock.shift(timedelta(seconds=LOCK_SECONDS + 1))
    taken = send()

    assert taken.status_code == 201
    assert send().headers["Idempotent-Replayed"] == "true"


def test_keys_expire_after_24_hours(app, client, project, fake_midtrans, clock):
    first = post(client, checkout_body(project))
    clock.shift(timedelta(hours=24, seconds=1))

    later = post(client, checkout_body(project))

    # The key is new again: the order_id rule answers (the same pending payment, 200).
    assert later.status_code == 200
    assert "Idempotent-Replayed" not in later.headers
    assert later.get_json()["purchase_id"] == first.get_json()["purchase_id"]


def test_the_worker_purges_expired_keys(app, client, project, fake_midtrans, clock):
    post(client, checkout_body(project))
    post(client, checkout_body(project, order_id="order-2"), headers={"Idempotency-Key": "k2"})
    with app.app_context():
        assert purge_expired() == 0
        assert purge_expired(utcnow() + timedelta(hours=25)) == 2
    assert row_count(app, IdempotencyKey) == 0


def test_racing_first_requests_with_one_key_end_in_one_effect(
    app, project, fake_midtrans, live_server
):
    racers = 6
    token = "race-token"
    fake_midtrans.snap_answer = Answer(
        201,
        {"token": token, "redirect_url": f"{fake_midtrans.url}/snap/v4/redirection/{token}"},
        delay=0.5,
    )
    start = threading.Barrier(racers)

    def create(_: int) -> tuple[int, str | None]:
        start.wait(timeout=10)
        response = requests.post(
            f"{live_server}{CHECKOUT_URL}", json=checkout_body(project), headers=KEY, timeout=30
        )
        return response.status_code, response.json().get("error", {}).get("code")

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = sorted(pool.map(create, range(racers)), key=str)

    assert results.count((201, None)) == 1
    assert results.count((409, "idempotency_key_in_use")) == racers - 1
    assert len(payment_rows(app)) == 1
    assert len(fake_midtrans.calls("POST", SNAP)) == 1
    replay = requests.post(
        f"{live_server}{CHECKOUT_URL}", json=checkout_body(project), headers=KEY, timeout=30
    )
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")


def test_the_key_never_stores_the_request_body(app, client, project, fake_midtrans):
    post(client, checkout_body(project))

    [row] = key_rows(app)
    assert project.sandbox_secret.encode() not in (row.response_body or b"")
    assert project.sandbox_secret not in row.fingerprint
    assert len(row.fingerprint) == 64
