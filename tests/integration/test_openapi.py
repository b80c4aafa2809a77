"""GET /api/openapi.json (SPEC §12): a valid OpenAPI 3.1 document, built from the models and
the URL map, that covers every platform route, the notification endpoint and every webhook,
and whose every example is valid against its own schema."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from app.api.openapi import build_document
from app.models.webhook import EventType

METHODS_IGNORED = {"HEAD", "OPTIONS"}
# SPEC §3's codes and those later sections add, each with the status it documents.
SPEC_CODES = {
    "invalid_request": 400,
    "invalid_client": 401,
    "invalid_signature": 403,
    "not_found": 404,
    "order_id_conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "amount_mismatch": 422,
    "rate_limited": 429,
    "upstream_error": 502,
    "unavailable": 503,
    "client_id_required": 400,
    "idempotency_key_reused": 409,
    "idempotency_key_in_use": 409,
    "invalid_state": 409,
    "sold_out": 409,
    "item_inactive": 409,
    "slug_taken": 409,
    "refund_exceeds_payment": 422,
    "refund_not_supported": 422,
    "refund_refused": 422,
    "invalid_qris": 400,
    "invalid_image": 400,
    "project_suspended": 403,
}


@pytest.fixture
def document(client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on the first problem


def test_every_api_route_of_the_url_map_is_an_operation(app, document):
    routes = {
        (method.lower(), rule.rule.replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/platform/") or rule.rule == "/api/midtrans/notification"
        for method in rule.methods - METHODS_IGNORED
    }
    documented = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    assert len(routes) >= 25
    assert routes == documented


def test_a_route_without_an_entry_stops_the_build(app):
    extra = Flask("extra")
    extra.config.update(app.config)
    extra.add_url_rule("/api/platform/secret", "api.secret", lambda: "")
    with extra.app_context(), pytest.raises(KeyError, match="api.secret"):
        build_document()


def test_every_webhook_event_is_documented_with_its_payload(document):
    assert set(document["webhooks"]) == {str(event) for event in EventType}
    purchased = document["webhooks"]["item.purchased"]["post"]
    headers = {parameter["name"] for parameter in purchased["parameters"]}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert purchased["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ItemPurchased"
    }


def test_basic_is_the_scheme_and_only_the_public_endpoints_are_open(document):
    assert document["components"]["securitySchemes"]["basic"] == {
        "type": "http",
        "scheme": "basic",
        "description": document["components"]["securitySchemes"]["basic"]["description"],
    }
    assert document["security"] == [{"basic": []}]
    open_operations = {
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
        if operation.get("security") == []
    }
    assert open_operations == {"verify_shop_payment", "midtrans_notification"}


def test_every_spec_error_code_is_documented_with_its_status(document):
    found: dict[str, set[int]] = {}
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                examples = answer["content"]["application/json"].get("examples", {})
                for code in examples:
                    found.setdefault(code, set()).add(int(status))
    for code, status in SPEC_CODES.items():
        assert found.get(code) == {status}, code


def test_the_notification_endpoint_is_never_rate_limited_in_the_contract(document):
    notification = document["paths"]["/api/midtrans/notification"]["post"]
    assert "429" not in notification["responses"]
    assert "headers" not in notification["responses"]["200"]
    create = document["paths"]["/api/platform/shop-payment"]["post"]
    assert set(create["responses"]["429"]["headers"]) == {
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Retry-After",
    }
    assert set(create["responses"]["201"]["headers"]) == {
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    }


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]})


def _media_examples(document: dict[str, Any]):
    """(where, schema, example) for every example on a request or a response."""
    sections = [("paths", document["paths"]), ("webhooks", document["webhooks"])]
    for section, entries in sections:
        for path, operations in entries.items():
            for method, operation in operations.items():
                bodies = [("request", operation.get("requestBody", {}))]
                bodies += list(operation["responses"].items())
                for name, body in bodies:
                    for media in body.get("content", {}).values():
                        where = f"{section} {method} {path} {name}"
                        if "example" in media:
                            yield where, media["schema"], media["example"]
                        for key, example in media.get("examples", {}).items():
                            yield f"{where} {key}", media["schema"], example["value"]


def test_every_example_is_valid_against_its_own_schema(document):
    checked = 0
    for name, schema in document["components"]["schemas"].items():
        for example in schema.get("examples", []):
            errors = list(_validator(document, schema).iter_errors(example))
            assert not errors, (name, errors[0].message)
            checked += 1
    for where, schema, example in _media_examples(document):
        errors = list(_validator(document, schema).iter_errors(example))
        assert not errors, (where, errors[0].message)
        checked += 1
    assert checked > 100


def test_a_broken_example_would_be_caught(document):
    schema = document["components"]["schemas"]["CheckoutCreated"]
    broken = {**schema["examples"][0], "amount": "75000"}
    assert list(_validator(document, schema).iter_errors(broken))


def test_query_parameters_come_from_the_models_that_check_them(client, project, document):
    listing = document["paths"]["/api/platform/payments"]["get"]
    names = {parameter["name"] for parameter in listing["parameters"]}
    assert names == {
        "status",
        "created_from",
        "created_to",
        "order_id",
        "buyer_email",
        "item_id",
        "limit",
        "starting_after",
    }
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    # What the document allows is what the route takes, and what it leaves out is refused.
    auth = (project.sandbox_id, project.sandbox_secret)
    assert client.get("/api/platform/payments?limit=100", auth=auth).status_code == 200
    for value in ("101", "0", "%2B5", "5.0", "1_0"):  # %2B is "+"
        refused = client.get(f"/api/platform/payments?limit={value}", auth=auth)
        assert refused.status_code == 400, value
        assert refused.get_json()["error"] == {
            "code": "invalid_request",
            "message": "limit must be an integer from 1 to 100",
            "field": "limit",
        }
    unknown = client.get("/api/platform/payments?colour=red", auth=auth)
    assert unknown.get_json()["error"] == {
        "code": "invalid_request",
        "message": "unknown parameter 'colour'",
        "field": "colour",
    }
