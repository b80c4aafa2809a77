"""The developer site (/docs): every snippet it shows, in curl, Python, Node and PHP, run as a
developer would paste it against the app on a real port with the Midtrans simulator behind it;
its examples checked against the models that judge requests; its webhook verification run on a
delivery signed the way Lunas signs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup

from app.api.openapi import OPERATIONS, current_document
from app.docs.examples import EXAMPLES, Env
from app.services.outbox.signing import signature_header
from tests.helpers import CHECKOUT_URL, checkout_body, wait_for_simulator_notifications
from tests.integration.test_item_delivery import PNG
from tests.integration.test_portal_keys import keys_url
from tests.integration.test_simulator import pay

pytestmark = pytest.mark.usefixtures("midtrans_simulator")

LANGUAGES = ("curl", "python", "node", "php")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _simulator_settles_before_the_database_goes(midtrans_simulator, live_server):
    yield
    wait_for_simulator_notifications()


@pytest.fixture
def page(live_server) -> BeautifulSoup:
    response = requests.get(f"{live_server}/docs", timeout=15)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def shown_snippets(page: BeautifulSoup, operation_id: str) -> dict[str, str]:
    """The snippets exactly as the page shows them (HTML entities undone)."""
    [section] = page.select(f'[data-operation="{operation_id}"]')
    return {
        block["data-snippet"]: block.get_text() for block in section.select("pre[data-snippet]")
    }


class Merchant:
    """What a snippet's reader has made before running it: a pending or settled payment, or an
    item, each new for each run so one language's call never spoils another's."""

    def __init__(self, live_server: str, project) -> None:
        self.url, self.project = live_server, project
        self.auth = (project.sandbox_id, project.sandbox_secret)

    def pending(self) -> dict[str, str]:
        created = self._checkout()
        return {"PURCHASE_ID": created["purchase_id"], "ORDER_ID": created["order_id"]}

    def settled(self) -> dict[str, str]:
        created = self._checkout()
        paid = pay(created["invoice_url"], "pay", method="gopay")
        assert paid.status_code == 303, paid.text
        status = requests.get(
            f"{self.url}/api/platform/payments/{created['purchase_id']}", auth=self.auth, timeout=15
        ).json()["status"]
        assert status == "settlement"
        return {"PURCHASE_ID": created["purchase_id"], "ORDER_ID": created["order_id"]}

    def item(self) -> dict[str, str]:
        response = requests.post(
            f"{self.url}/api/platform/items",
            auth=self.auth,
            json={"name": f"Kopi {uuid.uuid4().hex[:8]}", "price": 25000},
            timeout=15,
        )
        assert response.status_code == 201, response.text
        return {"ITEM_ID": response.json()["item_id"]}

    def environment(self) -> dict[str, str]:
        return {
            "LUNAS_URL": self.url,
            "LUNAS_CLIENT_ID": self.project.sandbox_id,
            "LUNAS_CLIENT_SECRET": self.project.sandbox_secret,
        }

    def _checkout(self) -> dict:
        body = checkout_body(self.project, order_id=f"docs-{uuid.uuid4().hex[:12]}")
        response = requests.post(f"{self.url}{CHECKOUT_URL}", json=body, timeout=15)
        assert response.status_code == 201, response.text
        return response.json()


def run_snippet(language: str, code: str, environ: dict[str, str], workdir: Path):
    """Run `code` as its reader would; (HTTP status, the JSON answer)."""
    workdir.mkdir()
    (workdir / "cover.png").write_bytes(PNG)
    (workdir / "resep.pdf").write_bytes(PDF)
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), **environ}
    if language == "curl":
        # The reader's curl prints the body; ours also prints the status after it.
        (workdir / ".curlrc").write_text('write-out = "\\n%{http_code}"\n')
        command = ["bash", "-euo", "pipefail", "-c", code]
        env["CURL_HOME"] = str(workdir)
    elif language == "python":
        (workdir / "snippet.py").write_text(code)
        command = [sys.executable, "snippet.py"]
    elif language == "node":
        (workdir / "snippet.mjs").write_text(code)
        command = ["node", "snippet.mjs"]
    else:
        (workdir / "snippet.php").write_text(code)
        command = ["php", "snippet.php"]
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"{language} failed:\n{code}\n{done.stdout}\n{done.stderr}"
    output = done.stdout.strip()
    if language == "curl":
        body, _, status = output.rpartition("\n")
        return int(status), json.loads(body)
    status, _, body = output.partition(" ")
    if language == "php":
        return int(status), json.loads(body)
    return int(status), body  # Python and Node print the parsed answer their own way


def documented_successes(operation_id: str) -> set[int]:
    [operation] = [
        operation
        for methods in current_document()["paths"].values()
        for operation in methods.values()
        if operation["operationId"] == operation_id
    ]
    return {int(status) for status in operation["responses"] if status.startswith("2")}


@pytest.mark.parametrize("operation_id", sorted(EXAMPLES))
def test_every_snippet_on_the_page_runs_and_gets_a_documented_success(
    app, live_server, project, page, operation_id, tmp_path
):
    example = EXAMPLES[operation_id]
    merchant = Merchant(live_server, project)
    shown = shown_snippets(page, operation_id)
    assert set(shown) == set(LANGUAGES)
    with app.app_context():
        successes = documented_successes(operation_id)
    for language in LANGUAGES:
        environ = merchant.environment()
        if example.needs is not None:
            environ |= getattr(merchant, example.needs)()
        status, answer = run_snippet(language, shown[language], environ, tmp_path / language)
        assert status in successes, f"{operation_id} in {language}: {status} {answer}"
        if language == "python":
            assert answer.startswith(("{", "[")), answer  # response.json() parsed an object


def test_a_snippet_with_a_wrong_secret_prints_the_error_envelope(
    live_server, project, page, tmp_path
):
    environ = Merchant(live_server, project).environment() | {"LUNAS_CLIENT_SECRET": "wrong"}
    status, answer = run_snippet(
        "curl", shown_snippets(page, "account")["curl"], environ, tmp_path / "curl"
    )
    assert status == 401
    assert answer["error"]["code"] == "invalid_client"


def test_every_operation_but_the_midtrans_notification_has_an_example(app):
    with app.app_context():
        documented = {
            operation["operationId"]
            for methods in current_document()["paths"].values()
            for operation in methods.values()
        }
    assert set(EXAMPLES) == documented - {"midtrans_notification"}


@pytest.mark.parametrize("operation_id", sorted(EXAMPLES))
def test_every_example_is_a_request_its_own_models_accept(app, operation_id):
    """Checked against the models the routes validate with, so an example cannot drift from
    the contract even where the call it makes would succeed for another reason."""
    example, operation = EXAMPLES[operation_id], OPERATIONS[f"api.{operation_id}"]
    if example.body is not None:
        assert operation.body is not None
        operation.body.model_validate(example.body)
    if example.query:
        assert operation.query is not None
        operation.query.model_validate(
            {
                name: "x" if isinstance(value, Env) else value
                for name, value in example.query.items()
            }
        )
    [rule] = [rule for rule in app.url_map.iter_rules() if rule.endpoint == f"api.{operation_id}"]
    assert example.method in (rule.methods or ())
    assert example.path == rule.rule.replace("<", "{").replace(">", "}")
    assert (example.upload is not None) == operation.upload


# -- the page's other promises -----------------------------------------------------------------


def test_the_page_lists_every_error_code_the_contract_has(app, page):
    with app.app_context():
        codes = {
            code
            for methods in current_document()["paths"].values()
            for operation in methods.values()
            for answer in operation["responses"].values()
            for code in answer.get("content", {}).get("application/json", {}).get("examples", {})
        }
    shown = {row.select_one("code").get_text() for row in page.select("#error-codes tbody tr")}
    assert shown == codes
    assert {"invalid_client", "rate_limited", "idempotency_key_reused"} <= shown


def test_the_page_lists_every_webhook_event(app, page):
    with app.app_context():
        events = set(current_document()["webhooks"])
    shown = {row.select_one("code").get_text() for row in page.select("#webhook-events tbody tr")}
    assert shown == events


def test_the_page_works_offline_every_asset_is_its_own(live_server, page):
    """Nothing on the page is fetched from another host, and every asset it names is served."""
    assets = [tag["href"] for tag in page.select("link[href]")]
    assets += [tag["src"] for tag in page.select("[src]")]
    assert assets
    for asset in assets:
        assert asset.startswith("/"), asset
        assert requests.get(f"{live_server}{asset}", timeout=15).status_code == 200, asset


def test_the_webhook_verification_snippet_accepts_our_signature_and_refuses_a_forgery(page):
    """The Python verification on the page, run on a delivery signed as Lunas signs one."""
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    code = page.select_one('pre[data-verify="python"]').get_text()
    namespace: dict = {}
    os.environ["LUNAS_WEBHOOK_SECRET"] = secret
    try:
        exec(compile(code, "docs-verify.py", "exec"), namespace)  # noqa: S102  (our own page)
    finally:
        del os.environ["LUNAS_WEBHOOK_SECRET"]
    verified_event = namespace["verified_event"]

    body = json.dumps({"event": "item.purchased", "order_id": "order-1001", "amount": 75000})
    now = int(time.time())

    def headers(at: int, signed: str = body) -> dict[str, str]:
        return {
            "webhook-id": "evt_1",
            "webhook-timestamp": str(at),
            "webhook-signature": signature_header([secret], "evt_1", at, signed.encode()),
        }

    assert verified_event(body.encode(), headers(now))["order_id"] == "order-1001"
    forged = body.replace("75000", "1")
    assert verified_event(forged.encode(), headers(now)) is None
    assert verified_event(body.encode(), headers(now - 3600)) is None  # a replay an hour late
    other = signature_header(
        ["whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="], "evt_1", now, body.encode()
    )
    assert verified_event(body.encode(), headers(now) | {"webhook-signature": other}) is None


def test_the_keys_page_links_to_the_docs(client, mine):
    page = BeautifulSoup(
        client.get(keys_url(mine.project_id)).get_data(as_text=True), "html.parser"
    )
    link = page.select_one("#docs-link")
    assert link is not None and link["href"] == "/docs#quick-start"
    assert client.get("/docs").status_code == 200


def test_the_page_states_the_retry_schedule_and_idempotency_window_in_force(app, page):
    schedule = app.config["WEBHOOK_RETRY_SCHEDULE"]
    text = " ".join(page.get_text().split())
    assert f"{len(schedule)} more attempts over about {round(sum(schedule) / 3600)} hours" in text
    assert "within 24 hours answers with the first answer" in text
