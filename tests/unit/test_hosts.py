from __future__ import annotations

import pytest

from app.hosts import is_loopback_host


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "shop.localhost", "localhost.", "127.0.0.1", "127.8.9.1", "::1"],
)
def test_names_and_addresses_that_can_only_be_this_machine(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [None, "", "localhost.example", "notlocalhost", "10.0.0.1", "::ffff:8.8.8.8", "lunas.id"],
)
def test_anything_else_is_not(host):
    assert not is_loopback_host(host)
