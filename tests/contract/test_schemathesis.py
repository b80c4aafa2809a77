"""Schema fuzzing (SPEC §12): schemathesis drives every operation of /api/openapi.json against
the app on a real port, on real PostgreSQL and Redis, with the Midtrans simulator behind it,
and checks that no answer is a server error, every status is one the document lists for that
operation, every body matches its schema and every content type is the documented one.

Two runs: one with the ids schemathesis makes up (hostile paths, unknown objects), one with
the path ids fixed to a real payment and a real item, so the cases reach the code past the
404. The seed is fixed so `make test` judges the same cases every run; `make fuzz` runs many
more with a fresh seed (SCHEMATHESIS_SEED, SCHEMATHESIS_EXAMPLES)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.models import PaymentStatus
from tests.helpers import basic_auth, create_payment, set_status

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
)


def schemathesis(url: str, auth: str, reports: Path, *options: str) -> str:
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        *options,
        "run",
        f"{url}/api/openapi.json",
        f"--checks={','.join(CHECKS)}",
        f"--auth={auth}",
        f"--max-examples={os.environ.get('SCHEMATHESIS_EXAMPLES', '25')}",
        f"--seed={os.environ.get('SCHEMATHESIS_SEED', '20261206')}",
        "--workers=1",
        "--request-timeout=20",
        "--no-color",
        "--report=junit",
        f"--report-dir={reports}",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "Tested: 25" in run.stdout or "25 selected / 25 total" in run.stdout
    return run.stdout


@pytest.mark.postgres_only  # SPEC §12: real PostgreSQL and Redis
@pytest.mark.usefixtures("midtrans_simulator")
def test_every_operation_survives_schemathesis(app, live_server, project, tmp_path):
    auth = f"{project.sandbox_id}:{project.sandbox_secret}"
    with app.test_client() as client:
        paid = create_payment(client, project, order_id="FUZZ-PAID")
        create_payment(client, project, order_id="FUZZ-PENDING")
        item = client.post(
            "/api/platform/items",
            json={"name": "Kopi Susu", "price": 18000, "stock": 50},
            headers=basic_auth(project.sandbox_id, project.sandbox_secret),
        ).get_json()["item_id"]
    set_status(app, paid, PaymentStatus.SETTLEMENT)

    made_up = schemathesis(live_server, auth, tmp_path / "made-up")

    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\nreference = "{paid}"\nitem_id = "{item}"\n')
    real = schemathesis(live_server, auth, tmp_path / "real", f"--config-file={config}")
    assert "passed" in made_up and "passed" in real
