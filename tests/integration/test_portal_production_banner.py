"""The portal's production banner says "live mode: real money" only on a server that can take
real money: with no Midtrans production key configured, it says production is not set up."""

from __future__ import annotations

import pytest

from tests.helpers import soup

NOT_SET_UP = "production is not set up on this server"


def banner(client, project_id: str, env: str) -> str:
    page = client.get(f"/projects/{project_id}/keys?env={env}")
    assert page.status_code == 200
    return soup(page).select_one(".env-banner").get_text(" ", strip=True)


@pytest.fixture
def no_production_key(app_environ) -> None:
    app_environ["MIDTRANS_PRODUCTION_SERVER_KEY"] = ""


def test_with_a_production_key_production_is_live_mode(client, mine):
    text = banner(client, mine.project_id, "production")

    assert text.startswith("PRODUCTION")
    assert "live mode: real money" in text and NOT_SET_UP not in text


@pytest.mark.usefixtures("no_production_key")
def test_without_a_production_key_production_says_it_is_not_set_up(client, mine):
    text = banner(client, mine.project_id, "production")

    assert text.startswith("PRODUCTION")
    assert NOT_SET_UP in text and "live mode" not in text
    # Sandbox says what it always says.
    assert "test mode: payments here move no real money" in banner(
        client, mine.project_id, "sandbox"
    )
