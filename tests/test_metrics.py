"""Prometheus scrapes what the service is doing; nobody else can, and no caller is in it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from ivr.settings import PROJECT_ROOT, ConfigError, load_settings
from ivr.twilio.phone_simulator import Phone
from tests.rows import add_request
from tests.support import CALLER, signed_post, twilio_params
from tests.test_twilio_alerts import alert

TOKEN = "a-scraper-token-of-some-length"
STRANGER = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(client: FlaskClient, **headers: str) -> str:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain; version=")
    return response.get_data(as_text=True)


def value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_it_counts_webhooks_by_path_and_status_and_times_them(
        client: FlaskClient, phone: Callable[..., Phone]) -> None:
    before = scrape(client)
    call = phone()
    call.dial()
    call.press("3")

    after = scrape(client)

    for path in ("/voice/incoming", "/voice/menu/input"):
        counted = (value(after, "ivr_webhooks_total", path=path, status="200")
                   - value(before, "ivr_webhooks_total", path=path, status="200"))
        assert counted == 1
        assert value(after, "ivr_webhook_seconds_count", path=path) >= 1
    assert value(after, "ivr_call_outcomes_total", language="en", outcome="language:en") >= 1


def test_a_step_answered_without_a_redirect_is_counted_as_its_own_outcome(
        client: FlaskClient, phone: Callable[..., Phone]) -> None:
    before = value(scrape(client), "ivr_call_outcomes_total", language="en",
                   outcome="callback:ask-confirm")
    call = phone()
    call.dial()
    call.press("3")

    call.press("2")  # the callback request's first question, in the same answer

    after = value(scrape(client), "ivr_call_outcomes_total", language="en",
                  outcome="callback:ask-confirm")
    assert after - before == 1


def test_a_recording_counts_under_its_route_not_its_file(client: FlaskClient) -> None:
    client.get("/prompts/en/about.wav")

    text = scrape(client)

    assert value(text, "ivr_webhooks_total", path="/prompts/<lang>/<file_name>",
                 status="200") >= 1
    assert "about.wav" not in text


def test_forged_requests_are_counted(client: FlaskClient) -> None:
    before = value(scrape(client), "ivr_forged_requests_total", path="/voice/incoming")

    client.post("/voice/incoming", data=twilio_params())
    signed_post(client, "/voice/incoming", twilio_params(), token="not-the-token")

    after = value(scrape(client), "ivr_forged_requests_total", path="/voice/incoming")
    assert after - before == 2


def test_twilios_alerts_are_counted_by_level_and_error_code(client: FlaskClient) -> None:
    labels = {"level": "WARNING", "error_code": "11205"}
    before = value(scrape(client), "ivr_twilio_alerts_total", **labels)

    response = signed_post(client, "/twilio/debugger", alert(code="11205", level="WARNING"))
    client.post("/twilio/debugger", data=alert(sid="NO" + "f" * 32, code="11205",
                                               level="WARNING"))  # forged: not counted

    assert response.status_code == 204
    assert value(scrape(client), "ivr_twilio_alerts_total", **labels) - before == 1


def test_open_callback_requests_and_the_spool_are_read_at_scrape_time(
        app: Flask, client: FlaskClient) -> None:
    now = datetime.now(UTC)
    add_request(app, now, number="+380501234567")
    add_request(app, now, number="+380501234568")
    add_request(app, now, status="done", number="+380501234569")

    text = scrape(client)

    assert value(text, "ivr_callback_requests_open") == 2
    assert value(text, "ivr_spool_waiting") == 0


def test_no_caller_number_is_in_the_metrics(client: FlaskClient,
                                             phone: Callable[..., Phone]) -> None:
    before = scrape(client)
    phone().dial()

    text = scrape(client)

    assert (value(text, "ivr_webhooks_total", path="/voice/incoming", status="200")
            - value(before, "ivr_webhooks_total", path="/voice/incoming", status="200")) == 1
    assert CALLER not in text and CALLER[1:] not in text


def test_in_development_without_a_token_only_this_machine_may_scrape(
        client: FlaskClient) -> None:
    assert client.get("/metrics", environ_base=STRANGER).status_code == 401
    assert client.get("/metrics").status_code == 200


def test_with_a_token_every_scrape_must_carry_it(make_app: Callable[..., Flask]) -> None:
    client = make_app(METRICS_TOKEN=TOKEN).test_client()

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", environ_base=STRANGER,
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def production_settings(**extra: str) -> dict[str, str]:
    return {"IVR_ENV": "production", "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
            "TWILIO_AUTH_TOKEN": "a-real-auth-token", "PUBLIC_BASE_URL": "https://ivr.example.org",
            "SECRET_KEY": "s" * 40, "PHONE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "PHONE_HASH_KEY": "h" * 40, "CALLBACK_CALLER_IDS": "+442071838750", **extra}


def test_in_production_without_a_token_there_are_no_metrics(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(**production_settings()).test_client()

    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 404


def test_in_production_with_a_token_the_scraper_gets_them(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(**production_settings(METRICS_TOKEN=TOKEN)).test_client()

    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


SEVERAL_WORKERS = """
import os, sys
from ivr import create_app
from tests.support import settings_for
app = create_app(settings_for(sys.argv[1], SPOOL_DIR=sys.argv[2]))
client = app.test_client()
client.get("/healthz")
if sys.argv[3] == "scrape":
    print(client.get("/metrics").get_data(as_text=True))
"""


def test_with_a_multiprocess_directory_a_scrape_adds_up_every_worker(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    environ = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    database = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"

    def worker(action: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", SEVERAL_WORKERS, database, str(tmp_path / "spool"), action],
            env=environ, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout

    worker("count")
    text = worker("scrape")

    assert value(text, "ivr_webhooks_total", path="/healthz", status="200") == 2


def test_a_token_too_short_to_be_secret_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 16 characters"):
        load_settings({"METRICS_TOKEN": "letmein"}, tmp_path)


def gunicorn_config() -> Any:
    spec = importlib.util.spec_from_file_location("gunicorn_conf",
                                                  PROJECT_ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config)
    return config


def test_gunicorn_empties_the_multiprocess_directory_before_the_workers_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_4242.db"  # a previous run's counts
    stale.write_bytes(b"\0" * 64)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))

    gunicorn_config().on_starting(None)

    assert not stale.exists()
    assert metrics_dir.is_dir()


def test_gunicorn_makes_a_missing_multiprocess_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics_dir = tmp_path / "run" / "prometheus"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))

    gunicorn_config().on_starting(None)

    assert metrics_dir.is_dir()
