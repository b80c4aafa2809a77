"""`/docs`: one page, built from the OpenAPI document and the examples."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template

from app.api.openapi import current_document
from app.docs import bp
from app.docs.examples import EXAMPLES, WEBHOOK_VERIFY_NODE, WEBHOOK_VERIFY_PYTHON, Example
from app.docs.snippets import LANGUAGES, curl, snippets
from app.services.idempotency import RETENTION as IDEMPOTENCY_RETENTION

# The quick start: the first checkout, paid in the sandbox, and read back.
QUICKSTART_CREATE = Example(
    "POST",
    "/api/platform/shop-payment",
    body={
        "amount": 75000,
        "order_id": "order-1001",
        "buyer_email": "budi@example.com",
        "item_name": "Kopi Gayo 250 g",
    },
)
QUICKSTART_READ = Example("GET", "/api/platform/payments/order-1001")
CLIENT_ID_PLACEHOLDER = "YOUR_SANDBOX_CLIENT_ID"
CLIENT_SECRET_PLACEHOLDER = "YOUR_SANDBOX_CLIENT_SECRET"  # noqa: S105  (a placeholder)

LIMIT_SETTINGS = (
    "RATE_LIMIT_API_PRODUCTION",
    "RATE_LIMIT_API_SANDBOX",
    "RATE_LIMIT_VERIFY",
    "RATE_LIMIT_VERIFY_ADDRESS",
)


@dataclass(frozen=True)
class Reference:
    """One operation as the page shows it."""

    operation_id: str
    tag: str
    method: str
    path: str
    summary: str
    description: str
    authenticated: bool
    parameters: list[dict[str, Any]]
    answers: list[tuple[str, str]]  # (status, what it means)
    answer_example: str | None
    example: Example
    snippets: dict[str, str]

    @property
    def anchor(self) -> str:
        return self.operation_id.replace("_", "-")


@bp.get("/docs")
def index():
    document = current_document()
    base_url = current_app.config["PUBLIC_BASE_URL"]
    references = references_of(document)
    return render_template(
        "docs/index.html",
        base_url=base_url,
        tags=[tag["name"] for tag in document["tags"] if tag["name"] != "Midtrans"],
        references=references,
        notification_path=_notification_path(document),
        languages=LANGUAGES,
        errors=_errors(document),
        webhooks=document["webhooks"],
        limits={name: current_app.config[name] for name in LIMIT_SETTINGS},
        quickstart_export=(
            f'export LUNAS_URL="{base_url}"\n'
            f'export LUNAS_CLIENT_ID="{CLIENT_ID_PLACEHOLDER}"\n'
            f'export LUNAS_CLIENT_SECRET="{CLIENT_SECRET_PLACEHOLDER}"'
        ),
        quickstart_create=curl(QUICKSTART_CREATE),
        quickstart_read=curl(QUICKSTART_READ),
        verify_python=WEBHOOK_VERIFY_PYTHON,
        verify_node=WEBHOOK_VERIFY_NODE,
        simulator=current_app.config["MIDTRANS_SIMULATOR"],
        idempotency_hours=f"{IDEMPOTENCY_RETENTION.total_seconds() / 3600:g}",
        retries=len(current_app.config["WEBHOOK_RETRY_SCHEDULE"]),
        retry_hours=round(sum(current_app.config["WEBHOOK_RETRY_SCHEDULE"]) / 3600),
    )


def references_of(document: dict[str, Any]) -> list[Reference]:
    """Every operation of the platform API with its example, in the document's order. An
    operation without an example stops the page: the tests run every example."""
    references = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if "Midtrans" in operation["tags"]:
                continue
            example = EXAMPLES[operation["operationId"]]
            references.append(
                Reference(
                    operation_id=operation["operationId"],
                    tag=operation["tags"][0],
                    method=method.upper(),
                    path=path,
                    summary=operation["summary"],
                    description=operation.get("description", ""),
                    authenticated=operation.get("security") != [],
                    parameters=[
                        parameter
                        for parameter in operation.get("parameters", [])
                        if parameter["in"] in ("path", "query")
                    ],
                    answers=[
                        (status, answer["description"])
                        for status, answer in operation["responses"].items()
                    ],
                    answer_example=_answer_example(operation),
                    example=example,
                    snippets=snippets(example),
                )
            )
    return references


def _answer_example(operation: dict[str, Any]) -> str | None:
    for status, answer in operation["responses"].items():
        if status.startswith("2"):
            example = answer["content"]["application/json"].get("example")
            if example is not None:
                return json.dumps(example, indent=2, ensure_ascii=False)
    return None


def _notification_path(document: dict[str, Any]) -> str:
    return next(
        path
        for path, methods in document["paths"].items()
        if any("Midtrans" in operation["tags"] for operation in methods.values())
    )


def _errors(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every error code any operation answers with: (code, HTTP status, an example message)."""
    found: dict[str, tuple[str, str, str]] = {}
    for methods in document["paths"].values():
        for operation in methods.values():
            for status, answer in operation["responses"].items():
                content = answer.get("content", {}).get("application/json", {})
                for code, example in content.get("examples", {}).items():
                    message = example["value"]["error"]["message"]
                    found.setdefault(code, (code, status, message))
    return sorted(found.values(), key=lambda error: (error[1], error[0]))
