"""Settings come from the environment; production refuses anything missing or made for dev."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ivr.settings import (
    DEV_PHONE_ENCRYPTION_KEY,
    DEV_SECRET_KEY,
    DEV_TWILIO_AUTH_TOKEN,
    ConfigError,
    load_settings,
)

INSTANCE = Path("/tmp/ivr-instance")
PRODUCTION = {
    "IVR_ENV": "production",
    "DATABASE_URL": "postgresql://ivr:secret@db.internal/ivr",
    "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
    "TWILIO_AUTH_TOKEN": "a-real-auth-token",
    "PUBLIC_BASE_URL": "https://ivr.example.org",
    "SECRET_KEY": "s" * 40,
    "PHONE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "PHONE_HASH_KEY": "h" * 40,
    "HOTLINE_NUMBER": "+15005550006",
    "CALLBACK_CALLER_IDS": "+442071838750",
}
PROJECT = Path(__file__).resolve().parent.parent


def test_a_fresh_clone_runs_on_development_defaults() -> None:
    settings = load_settings({}, INSTANCE)

    assert settings.env == "development"
    assert settings.database_url == f"sqlite:///{INSTANCE}/ivr.sqlite3"
    assert settings.twilio_auth_token == DEV_TWILIO_AUTH_TOKEN


def test_production_with_every_setting_starts() -> None:
    settings = load_settings(PRODUCTION, INSTANCE)

    assert settings.production
    assert settings.database_url == "postgresql+psycopg://ivr:secret@db.internal/ivr"


@pytest.mark.parametrize("missing", ["DATABASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                                     "PUBLIC_BASE_URL", "SECRET_KEY", "PHONE_ENCRYPTION_KEYS",
                                     "PHONE_HASH_KEY", "HOTLINE_NUMBER"])
def test_production_refuses_to_start_without_a_setting(missing: str) -> None:
    environ = {name: value for name, value in PRODUCTION.items() if name != missing}

    with pytest.raises(ConfigError, match=missing):
        load_settings(environ, INSTANCE)


@pytest.mark.parametrize(("name", "dev_value"), [
    ("TWILIO_AUTH_TOKEN", DEV_TWILIO_AUTH_TOKEN),
    ("SECRET_KEY", DEV_SECRET_KEY),
    ("PHONE_ENCRYPTION_KEYS", f"{Fernet.generate_key().decode()},{DEV_PHONE_ENCRYPTION_KEY}"),
])
def test_production_refuses_development_secrets(name: str, dev_value: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} is the development default"):
        load_settings({**PRODUCTION, name: dev_value}, INSTANCE)


def test_production_refuses_a_plain_http_public_url() -> None:
    with pytest.raises(ConfigError, match="https"):
        load_settings({**PRODUCTION, "PUBLIC_BASE_URL": "http://ivr.example.org"}, INSTANCE)


def test_secret_can_come_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("token-from-a-file\n")
    environ = {name: value for name, value in PRODUCTION.items() if name != "TWILIO_AUTH_TOKEN"}

    settings = load_settings({**environ, "TWILIO_AUTH_TOKEN_FILE": str(token_file)}, INSTANCE)

    assert settings.twilio_auth_token == "token-from-a-file"


def test_secret_file_that_cannot_be_read_is_named_but_not_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"SECRET_KEY_FILE=.*cannot read it"):
        load_settings({"SECRET_KEY_FILE": str(tmp_path / "missing")}, INSTANCE)


def test_a_secret_set_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("x" * 40)

    with pytest.raises(ConfigError, match="both set"):
        load_settings({"PHONE_HASH_KEY": "y" * 40, "PHONE_HASH_KEY_FILE": str(tmp_path / "key")},
                      INSTANCE)


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("PHONE_ENCRYPTION_KEYS", "not-a-key", "key 1 of 1 is not a Fernet key"),
    ("PHONE_HASH_KEY", "short", "at least 32 bytes"),
    ("IVR_ENV", "staging", "not one of development, production"),
    ("LOG_LEVEL", "LOUD", "not one of"),
    ("TRUSTED_PROXY_HOPS", "two", "not a whole number"),
    ("TWILIO_ACCOUNT_SID", "SK123", "account SID"),
    ("PUBLIC_BASE_URL", "ivr.example.org", "not a base URL"),
    ("PROMPTS_DIR", "/nonexistent/prompts", "not a directory"),
    ("HOTLINE_NUMBER", "5005550006", "not an E.164 number"),
    ("CALLBACK_CALLER_IDS", "+441234567890,74951234567", "'74951234567' is not an E.164"),
    ("CALLBACK_CALLER_IDS", "7:+74951234567", "'7' is not a country code like \\+7"),
    ("CALLBACK_MAY_SHOW_HOTLINE_NUMBER", "perhaps", "not true or false"),
    ("DATABASE_URL", "notaurl", "DATABASE_URL is not a database URL like postgresql://"),
    ("DATABASE_URL", "postgresql://ivr@db:port/ivr", "DATABASE_URL is not a database URL"),
    ("DATABASE_URL", "oracle9://ivr@db/ivr", "names a database SQLAlchemy does not know"),
    ("DATABASE_URL", "mysql://ivr@db/ivr", "the mysql driver is not installed .*MySQLdb"),
])
def test_a_bad_value_is_named_in_one_line(name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as error:
        load_settings({name: value}, INSTANCE)

    assert "\n" not in str(error.value)


@pytest.mark.parametrize("url", ["postgresql//ivr:s3cr3t-pw@db/ivr",
                                 "mysql://ivr:s3cr3t-pw@db/ivr",
                                 "nosuchdb://ivr:s3cr3t-pw@db/ivr"])
def test_a_database_url_that_cannot_be_used_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL") as error:
        load_settings({"DATABASE_URL": url}, INSTANCE)

    assert "s3cr3t-pw" not in str(error.value)


def test_production_start_up_without_secrets_stops_with_one_clear_line() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=PROJECT, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "IVR_ENV": "production"}, timeout=60, check=False)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "ivr: DATABASE_URL is not set (required when IVR_ENV=production)"]


def test_cli_with_a_bad_setting_exits_with_one_clear_line() -> None:
    ivr = Path(sys.executable).parent / "ivr"
    result = subprocess.run(
        [str(ivr), "routes"], cwd=PROJECT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "LOUD"}, check=False)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ivr: LOG_LEVEL='LOUD' is not one of DEBUG, INFO, WARNING, ERROR")


def test_a_pool_of_call_back_numbers_per_destination_country_is_read_in_order() -> None:
    settings = load_settings(
        {"CALLBACK_CALLER_IDS": " +441234567890, +7:+74951234567,+380:+380441234567 "},
        INSTANCE)

    assert settings.callback_caller_ids == (
        (None, "+441234567890"), (7, "+74951234567"), (380, "+380441234567"))
    assert not settings.callback_may_show_hotline_number


def test_production_refuses_a_call_back_pool_holding_the_published_number_unless_told() -> None:
    environ = {**PRODUCTION, "CALLBACK_CALLER_IDS": "+441234567890,+15005550006"}

    with pytest.raises(ConfigError, match="CALLBACK_CALLER_IDS holds HOTLINE_NUMBER"):
        load_settings(environ, INSTANCE)
    allowed = load_settings({**environ, "CALLBACK_MAY_SHOW_HOTLINE_NUMBER": "true"}, INSTANCE)
    assert allowed.callback_may_show_hotline_number


def test_production_requires_a_second_factor_on_the_operators_page() -> None:
    assert load_settings(PRODUCTION, INSTANCE).operators_2fa == "required"
    assert load_settings({}, INSTANCE).operators_2fa == "optional"

    with pytest.raises(ConfigError, match="OPERATORS_2FA must be required in production"):
        load_settings({**PRODUCTION, "OPERATORS_2FA": "optional"}, INSTANCE)


def test_production_refuses_call_backs_that_would_all_show_the_published_number() -> None:
    without_pool = {key: value for key, value in PRODUCTION.items()
                    if key != "CALLBACK_CALLER_IDS"}

    with pytest.raises(ConfigError, match="CALLBACK_CALLER_IDS is not set"):
        load_settings(without_pool, INSTANCE)
    told = load_settings({**without_pool, "CALLBACK_MAY_SHOW_HOTLINE_NUMBER": "true"}, INSTANCE)
    assert told.callback_caller_ids == ()
