"""Configuration: switches, required settings, clear errors at start-up."""

from __future__ import annotations

import pytest

from app.config import Config, ConfigError

SECRET = "s" * 32
DATA_KEY = "d" * 32


def config(tmp_path, **environ: str) -> Config:
    return Config(environ, tmp_path)


def production(tmp_path, **environ: str) -> Config:
    """Production with keys that pass its checks, and what the test changes on top."""
    settings = {"LUNAS_ENV": "production", "SECRET_KEY": SECRET, "LUNAS_DATA_KEY": DATA_KEY}
    return config(tmp_path, **{**settings, **environ})


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "on", "Yes", " on "])
def test_switches_accept_every_spelling_of_on(tmp_path, value):
    assert config(tmp_path, MIDTRANS_CONFIRM_STATUS=value).MIDTRANS_CONFIRM_STATUS is True


@pytest.mark.parametrize("value", ["0", "false", "Off", "NO"])
def test_switches_accept_every_spelling_of_off(tmp_path, value):
    assert config(tmp_path, MIDTRANS_CONFIRM_STATUS=value).MIDTRANS_CONFIRM_STATUS is False


def test_an_unknown_switch_value_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="WEBHOOK_REQUIRE_HTTPS"):
        config(tmp_path, WEBHOOK_REQUIRE_HTTPS="maybe")


def test_production_requires_secret_key_and_data_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        config(tmp_path, LUNAS_ENV="production", LUNAS_DATA_KEY="x")
    with pytest.raises(ConfigError, match="LUNAS_DATA_KEY"):
        config(tmp_path, LUNAS_ENV="production", SECRET_KEY="x")


def test_production_defaults_are_the_safe_ones(tmp_path):
    settings = production(tmp_path)
    assert settings.MIDTRANS_SIMULATOR is False
    assert settings.WEBHOOK_ALLOW_PRIVATE_TARGETS is False
    assert settings.WEBHOOK_REQUIRE_HTTPS is True
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.REGISTRATION == "invite"  # nobody signs up for real money unasked


def test_the_simulator_can_never_run_in_production(tmp_path):
    with pytest.raises(ConfigError, match="MIDTRANS_SIMULATOR"):
        production(tmp_path, MIDTRANS_SIMULATOR="on")


def test_production_refuses_notifications_unconfirmed_by_get_status(tmp_path):
    with pytest.raises(ConfigError, match="MIDTRANS_CONFIRM_STATUS"):
        production(tmp_path, MIDTRANS_CONFIRM_STATUS="off")


@pytest.mark.parametrize("name", ["SECRET_KEY", "LUNAS_DATA_KEY"])
def test_production_refuses_a_key_shorter_than_32_characters(tmp_path, name):
    with pytest.raises(ConfigError, match=name):
        production(tmp_path, **{name: "x" * 31})


def test_production_refuses_one_key_for_both_jobs(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY and LUNAS_DATA_KEY"):
        production(tmp_path, LUNAS_DATA_KEY=SECRET)


@pytest.mark.parametrize("url", ["http://pay.example.com", "ftp://pay.example.com"])
def test_production_refuses_a_public_base_url_that_is_not_https(tmp_path, url):
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        production(tmp_path, PUBLIC_BASE_URL=url)


@pytest.mark.parametrize(
    "url", ["https://pay.example.com", "http://localhost:5000", "http://127.0.0.1:8000"]
)
def test_production_accepts_https_or_a_loopback_trial(tmp_path, url):
    assert url.rstrip("/") == production(tmp_path, PUBLIC_BASE_URL=url).PUBLIC_BASE_URL


def test_outside_production_the_same_settings_still_start(tmp_path):
    settings = config(
        tmp_path, MIDTRANS_CONFIRM_STATUS="off", SECRET_KEY="short", LUNAS_DATA_KEY="short"
    )
    assert settings.MIDTRANS_CONFIRM_STATUS is False


def test_development_generates_one_secret_key_shared_by_every_process(tmp_path):
    first = config(tmp_path).SECRET_KEY
    second = config(tmp_path).SECRET_KEY
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_the_simulator_is_on_in_development_only_without_a_sandbox_key(tmp_path):
    assert config(tmp_path).MIDTRANS_SIMULATOR is True
    assert config(tmp_path, MIDTRANS_SANDBOX_SERVER_KEY="SB-k").MIDTRANS_SIMULATOR is False
    assert config(tmp_path, LUNAS_ENV="test").MIDTRANS_SIMULATOR is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHECKOUT_EXPIRY_MINUTES", "soon"),
        ("CHECKOUT_EXPIRY_MINUTES", "0"),
        ("WEBHOOK_RETRY_SCHEDULE", "5,x"),
        ("UNVERIFIED_EVENT_RETENTION_DAYS", "a week"),
        ("UNVERIFIED_EVENT_RETENTION_DAYS", "0"),
        ("LUNAS_ENV", "staging"),
    ],
)
def test_malformed_values_name_the_setting(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        config(tmp_path, **{name: value})


def test_unverified_notifications_are_kept_seven_days_unless_told(tmp_path):
    assert config(tmp_path).UNVERIFIED_EVENT_RETENTION_DAYS == 7
    assert (
        config(tmp_path, UNVERIFIED_EVENT_RETENTION_DAYS="30").UNVERIFIED_EVENT_RETENTION_DAYS == 30
    )


def test_registration_is_open_outside_production_and_takes_only_its_three_values(tmp_path):
    assert config(tmp_path).REGISTRATION == "open"
    assert config(tmp_path, REGISTRATION=" Closed ").REGISTRATION == "closed"
    assert production(tmp_path, REGISTRATION="open").REGISTRATION == "open"
    with pytest.raises(ConfigError, match="REGISTRATION must be one of open, invite, closed"):
        config(tmp_path, REGISTRATION="invite-only")
