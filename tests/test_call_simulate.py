"""An engineer tries a menu change by calling the running app with `ivr call simulate`."""

from __future__ import annotations

import re
import threading
import wave
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from click.testing import Result
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskCliRunner
from werkzeug.serving import BaseWSGIServer, make_server

from ivr.database import db
from ivr.models import AuditEntry, CallbackRequest, Ring
from ivr.operators import accounts
from ivr.phones import mask
from tests.fake_twilio import FakeTwilio
from tests.support import hotline_of, stored_calls


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


# --- silence, the end of a message, how long the caller listens -----------------------------


def step_lines(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(">")]


def test_a_dash_stays_silent_until_twilios_timeout(runner: FlaskCliRunner,
                                                   running_app: str) -> None:
    result = simulate(runner, "--url", running_app, "--lang", "en", "--press", "-")

    assert result.exit_code == 0, result.output
    assert step_lines(result)[:3] == ["> dial", "> press 3", "> silence (Twilio waits 5 s)"]
    after_silence = result.stdout.split("> silence", 1)[1]
    assert "hears [en] option_operator" in after_silence  # the main menu once more
    assert "; timeouts waited: 5 s" in result.stdout


def test_a_hash_ends_the_message_and_the_request_is_saved(
        app: Flask, runner: FlaskCliRunner, running_app: str) -> None:
    # English, a callback request on this number, its two questions, a message ended by #.
    result = simulate(runner, "--url", running_app, "--press", "3,2,1,2,3,#", "--keep")

    assert result.exit_code == 0, result.output
    assert step_lines(result)[-2:] == ["> press # (after a 5 s message)",
                                       "> the app ended the call (Twilio's status callback)"]
    assert re.search(r"    POST /voice/callback/recording → 204 in ", result.stdout)
    assert "hears [en] callback_saved (recording)" in result.stdout
    [request] = requests_of(app)
    assert request.recording_duration == 5 and request.status == "open"


def test_the_seconds_of_prompts_are_shown_per_step_and_in_total(
        app: Flask, runner: FlaskCliRunner, running_app: str) -> None:
    result = simulate(runner, "--url", running_app, "--lang", "uk", "--press", "3,-")

    assert result.exit_code == 0, result.output
    per_step = [float(seconds) for seconds in
                re.findall(r"^    prompts: (\d+\.\d) s$", result.stdout, re.MULTILINE)]
    assert len(per_step) == 4  # dial, the language, "about", the silence after it
    [total] = re.findall(r"^Prompts heard, each in full: (\d+\.\d) s by the caller; "
                         r"timeouts waited: (\d+) s$", result.stdout, re.MULTILINE)
    assert float(total[0]) == pytest.approx(sum(per_step), abs=0.2)
    # The dial: each language's offer, a recording each, counted as its WAV's length.
    offers = 0.0
    for lang in ("ru", "uk", "en"):
        path = hotline_of(app).settings.prompts_dir / lang / "language_option.wav"
        with wave.open(str(path)) as audio:
            offers += audio.getnframes() / audio.getframerate()
    assert per_step[0] == pytest.approx(offers, abs=0.05)


@pytest.mark.parametrize(("args", "message"), [
    (["--press", "1,-2"], "give keys separated by commas"),
    (["--press", "1,,2"], "give keys separated by commas"),
])
def test_silence_is_a_step_of_its_own(runner: FlaskCliRunner, args: list[str],
                                      message: str) -> None:
    result = simulate(runner, "--url", "http://127.0.0.1:9", *args)

    assert result.exit_code == 1
    assert message in result.stderr and "(- for silence, # ends a message)" in result.stderr


# --- a trial's request never waits for an operator ------------------------------------------


def requests_of(app: Flask) -> list[CallbackRequest]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CallbackRequest).order_by(CallbackRequest.id)))


def test_the_request_a_trial_call_leaves_is_closed_at_once(
        app: Flask, runner: FlaskCliRunner, running_app: str, engineer: str) -> None:
    # Saved at the confirmation, then hangs up while a message is asked for: the request
    # is kept, and would wait in the operators' queue.
    result = simulate(runner, "--url", running_app, "--press", "3,2,1,2,3")

    assert result.exit_code == 0, result.output
    [request] = requests_of(app)
    assert (request.reason, request.status, request.outcome) == ("chosen", "closed", "closed")
    assert result.stdout.splitlines()[-1] == (
        f"Request {request.reference}, made by this trial call, is closed (outcome closed, in "
        "the audit log as cli:alice); --keep leaves it open.")
    with app.app_context():
        [entry] = db.session.scalars(sa.select(AuditEntry))
    assert (entry.login, entry.action, entry.request_id) == (engineer, "outcome", request.id)
    assert entry.detail == f"closed: trial call {request.first_call_sid}"


def test_keep_leaves_the_trials_request_open(app: Flask, runner: FlaskCliRunner,
                                             running_app: str) -> None:
    result = simulate(runner, "--url", running_app, "--press", "3,2,1,2,3", "--keep")

    assert result.exit_code == 0, result.output
    [request] = requests_of(app)
    assert request.status == "open"
    assert result.stdout.splitlines()[-1] == (
        f"Request {request.reference} is left as it is (--keep); `ivr callbacks close "
        f"{request.reference}` closes it.")


def test_a_request_that_was_open_before_the_trial_stays_open(
        app: Flask, runner: FlaskCliRunner, running_app: str) -> None:
    assert simulate(runner, "--url", running_app, "--press", "3,2,1,2,3", "--keep").exit_code == 0

    result = simulate(runner, "--url", running_app, "--press", "3,2,1,2,3")

    assert result.exit_code == 0, result.output
    [request] = requests_of(app)  # renewed by the second call, from the same number
    assert (request.status, request.attempts) == ("open", 2)
    assert "(it was open before this call, which renewed it)" in result.stdout


def test_a_call_that_left_no_request_says_so(runner: FlaskCliRunner, running_app: str) -> None:
    result = simulate(runner, "--url", running_app, "--lang", "en", "--press", "3")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "The call left no callback request in this database.")


# --- an operator picks up -------------------------------------------------------------------


OLENA = "+380501112233"


@pytest.fixture
def staffed_app(desk_app: Flask, serve: Callable[[Flask], str],
                twilio: FakeTwilio) -> tuple[Flask, str]:
    """The app at noon with Olena on duty for every language, served; Twilio faked."""
    with desk_app.app_context():
        accounts.add_operator(db.session(), hotline_of(desk_app).vault, login="olena",
                              name="Olena", phone=OLENA, languages=["ru", "uk", "en"],
                              known_languages=("ru", "uk", "en"), role="operator",
                              password="a long enough password")
        accounts.set_duty(db.session(), "olena", True)
        db.session.commit()
    return desk_app, serve(desk_app)


def rings_of(app: Flask) -> list[Ring]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Ring).order_by(Ring.id)))


def test_the_operator_rung_for_the_caller_picks_up_and_is_put_through(
        staffed_app: tuple[Flask, str], twilio: FakeTwilio) -> None:
    app, url = staffed_app

    result = simulate(app.test_cli_runner(), "--url", url, "--lang", "uk", "--press", "1",
                      "--operator")

    assert result.exit_code == 0, result.output
    [placed] = twilio.placed
    [ring] = rings_of(app)
    assert (f"(the app rang olena, {mask(OLENA)}: ring {ring.id}, uk, Twilio's call "
            f"{placed['Sid']})") in result.stdout.splitlines()
    assert step_lines(result)[-6:] == [
        "> operator picks up", "> operator presses 1", "> operator is put through",
        "> the conversation ends", "> operator's leg ends (Twilio's status callback)",
        "> the app ended the call (Twilio's status callback)"]
    assert "    operator hears [uk] operator_whisper (recording)" in result.stdout
    assert "    hears [uk] queue_connecting (recording)" in result.stdout
    assert "    hears [uk] queue_goodbye (recording)" in result.stdout
    assert re.search(r"by the caller, \d+\.\d s by the operator; timeouts", result.stdout)
    [ring] = rings_of(app)  # once more, as the conversation left it
    assert (ring.status, ring.outcome, ring.call_sid) == ("ended", "accepted", placed["Sid"])
    assert ring.caller_call_sid is not None
    assert requests_of(app) == []  # the caller talked to someone: nothing to call back


def test_no_operator_to_pick_up_when_the_caller_is_not_queued(
        staffed_app: tuple[Flask, str]) -> None:
    app, url = staffed_app

    result = simulate(app.test_cli_runner(), "--url", url, "--lang", "en", "--press", "3",
                      "--operator")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "ivr: --operator: the caller is not waiting in a queue, so no operator was rung for "
        "them")
    assert "> hang up" in result.stdout  # the call itself was played to its end


def test_a_ring_twilio_refused_is_reported_in_one_line(
        staffed_app: tuple[Flask, str], twilio: FakeTwilio) -> None:
    app, url = staffed_app
    twilio.refuse_calls()

    result = simulate(app.test_cli_runner(), "--url", url, "--lang", "en", "--press", "1",
                      "--operator")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        "ivr: --operator: no ring left to pick up: olena (failed); a ring fails at once when "
        "Twilio refuses it")
    [request] = requests_of(app)  # the caller hung up in the queue: kept, then closed
    assert request.status == "closed"


def test_nobody_is_rung_on_an_app_without_a_hotline_number(
        make_app: Callable[..., Flask], serve: Callable[[Flask], str]) -> None:
    app = make_app(HOTLINE_NUMBER="")
    url = serve(app)

    result = simulate(app.test_cli_runner(), "--url", url, "--lang", "en", "--press", "1",
                      "--operator")

    assert result.exit_code == 1
    # Without HOTLINE_NUMBER main menu 1 goes to the callback request, not to a queue.
    assert "not waiting in a queue" in result.stderr.splitlines()[-1]


def test_an_operator_is_never_answered_on_a_production_hotline(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(IVR_ENV="production", TWILIO_ACCOUNT_SID="AC" + "a1" * 16,
                   TWILIO_AUTH_TOKEN="a-real-auth-token",
                   PUBLIC_BASE_URL="https://ivr.example.org", SECRET_KEY="s" * 40,
                   PHONE_ENCRYPTION_KEYS=Fernet.generate_key().decode(), PHONE_HASH_KEY="h" * 40,
                   CALLBACK_CALLER_IDS="+442071838750")

    result = simulate(app.test_cli_runner(), "--url", "http://127.0.0.1:9", "--operator")

    assert result.exit_code == 1
    assert result.stdout == ""  # nothing was called
    assert result.stderr == ("ivr: --operator would pick up a ring the app placed to a real "
                             "operator's phone: not on a production hotline\n")
