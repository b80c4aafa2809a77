"""The development demo store: the walk-through's store URL lands on a real page."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import ConfigError
from tests.helpers import text_of


@pytest.fixture
def demo_client(app_environ):
    app_environ["DEMO_STORE"] = "1"
    return create_app(app_environ).test_client()


def test_the_demo_store_welcomes_the_buyer_back_with_the_order(demo_client):
    page = demo_client.get("/_demo/store/warung-bu-sari?order_id=INV-0001")

    assert page.status_code == 200
    assert "Selamat datang kembali di toko warung-bu-sari" in text_of(page)
    assert "INV-0001" in text_of(page)
    assert page.headers["Cache-Control"] == "no-store"


def test_the_demo_store_escapes_what_the_url_says(demo_client):
    page = demo_client.get("/_demo/store/toko?order_id=<script>alert(1)</script>")

    assert "<script>alert(1)" not in page.get_data(as_text=True)
    assert demo_client.get("/_demo/store/Not_A_Slug").status_code == 404


def test_there_is_no_demo_store_outside_development_unless_asked(client, app_environ, tmp_path):
    assert client.get("/_demo/store/toko").status_code == 404
    production = {
        **app_environ,
        "LUNAS_ENV": "production",
        "SECRET_KEY": "s" * 32,
        "LUNAS_DATA_KEY": "d" * 32,
        "PUBLIC_BASE_URL": "https://lunas.example",
        "DEMO_STORE": "1",
    }
    with pytest.raises(ConfigError, match="DEMO_STORE cannot be on"):
        create_app(production)
