"""An engineer tries a menu change by calling the running app with `ivr call simulate`."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from werkzeug.serving import BaseWSGIServer, make_server

from tests.support import stored_calls


@pytest.fixture
def serve() -> Iterator[Callable[[Flask], str]]:
    """Serve an app over real HTTP on a free local port; returns its base URL."""
    servers: list[tuple[BaseWSGIServer, threading.Thread]] = []

    def start(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def running_app(app: Flask, serve: Callable[[Flask], str]) -> str:
    return serve(app)


def simulate(runner: FlaskCliRunner, *args: str) -> Result:
    return runner.invoke(args=["call", "simulate", *args])


@pytest.mark.parametrize(("lang", "about"), [
    ("ru", "[ru] about (recording)"),
    ("uk", "[uk] about (recording)"),
    ("en", "[en] about (recording)"),
])
def test_the_default_menu_can_be_walked_in_each_language(
        runner: FlaskCliRunner, running_app: str, lang: str, about: str) -> None:
    result = simulate(runner, "--url", running_app, "--lang", lang, "--press", "3")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Calling " + running_app + " from +4420••••••23"
    assert lines[1] == "> dial"
    assert re.fullmatch(r"    POST /voice/incoming → 200 in \d+\.\d ms", lines[2])
    assert "> press 3" in lines and "> hang up" in lines
    assert any(line.startswith(f"    hears [{lang}] main_intro (recording): ")
               for line in lines)
    assert any(line.startswith(f"    hears {about}") for line in lines)


def test_the_script_shows_each_step_the_caller_takes(runner: FlaskCliRunner,
                                                      running_app: str) -> None:
    result = simulate(runner, "--url", running_app, "--press", "3,1")

    assert result.exit_code == 0, result.output
    steps = [line for line in result.stdout.splitlines() if line.startswith(">")]
    assert steps[:3] == ["> dial", "> press 3", "> press 1"]
    # Pressing 3 chose English, and 1 in the main menu is "talk to an operator".
    assert "hears [en] option_operator" in result.stdout


def test_a_call_with_the_number_withheld_is_asked_to_type_one(
        runner: FlaskCliRunner, running_app: str) -> None:
    result = simulate(runner, "--url", running_app, "--withheld", "--lang", "en", "--press", "2")

    assert result.exit_code == 0, result.output
    assert "from anonymous" in result.stdout.splitlines()[0]
    assert "hears [en] callback_enter" in result.stdout


def test_the_calls_are_signed_and_logged_like_twilios(
        app: Flask, runner: FlaskCliRunner, running_app: str) -> None:
    result = simulate(runner, "--url", running_app, "--from", "+380501234567", "--lang", "uk")

    assert result.exit_code == 0, result.output
    [call] = stored_calls(app)
    assert (call.language, call.status) == ("uk", "completed")


def test_an_app_that_is_not_running_is_reported_in_one_line(runner: FlaskCliRunner) -> None:
    result = simulate(runner, "--url", "http://127.0.0.1:9", "--press", "1")

    assert result.exit_code == 1
    assert result.stderr.startswith(
        "ivr: cannot reach http://127.0.0.1:9/voice/incoming: ")


@pytest.mark.parametrize(("url", "problem"), [
    ("notaurl", "not a URL"),
    ("http://", "no host"),
    ("ftp://x", "ftp:// is not http:// or https://"),
    ("http://localhost:port", "its port is not a number from 0 to 65535"),
    ("http://localhost:8000/?node=main", "a base URL has no query or fragment"),
])
def test_a_url_that_is_not_the_apps_base_url_is_refused_in_one_line(
        runner: FlaskCliRunner, url: str, problem: str) -> None:
    result = simulate(runner, "--url", url, "--press", "1")

    assert result.exit_code == 1
    assert result.stdout == ""  # nothing was called
    assert result.stderr.splitlines() == [
        f"ivr: --url {url!r}: {problem}; give the app's base URL, like http://localhost:8000"]


def test_a_wrong_auth_token_shows_as_the_app_refusing_the_call(
        make_app: Callable[..., Flask], running_app: str) -> None:
    other = make_app(TWILIO_AUTH_TOKEN="some-other-token")

    result = simulate(other.test_cli_runner(), "--url", running_app)

    assert result.exit_code == 1
    assert "answered HTTP 403" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--press", "1,x"], "give keys separated by commas"),
    (["--lang", "de"], "the language menu offers no such language"),
])
def test_a_bad_script_is_refused_in_one_line(runner: FlaskCliRunner, args: list[str],
                                             message: str) -> None:
    result = simulate(runner, "--url", "http://127.0.0.1:9", *args)

    assert result.exit_code == 1
    assert message in result.stderr


def test_behind_a_proxy_the_app_is_called_directly_with_signatures_for_its_public_url(
        make_app: Callable[..., Flask], serve: Callable[[Flask], str]) -> None:
    app = make_app(PUBLIC_BASE_URL="https://ivr.example.org/hotline")
    local = serve(app)

    result = simulate(app.test_cli_runner(), "--url", local, "--lang", "ru", "--press", "3")

    assert result.exit_code == 0, result.output
    assert "hears [ru] about (recording)" in result.stdout


def test_keys_left_when_the_call_stops_listening_are_reported(runner: FlaskCliRunner,
                                                              running_app: str) -> None:
    # English, a callback request on this number, its two questions, then a message is
    # asked for: the last key has nothing to press.
    result = simulate(runner, "--url", running_app, "--press", "3,2,1,2,3,1")

    assert result.exit_code == 0, result.output
    steps = [line for line in result.stdout.splitlines() if line.startswith(">")]
    assert steps[-2:] == ["> not pressed: 1 (the call records a message)", "> hang up"]
