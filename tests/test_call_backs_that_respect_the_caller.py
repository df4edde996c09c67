"""Call-backs that respect the caller: after "no answer" a request waits longer before each
next try, always inside the window the caller said is safe in *their* time; after the last
try a supervisor decides; notes are kept per try, sealed; and the queue tells a caller who
hung up in the queue from one who hung up while leaving a request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.models import AuditEntry, CallbackNote, CallbackRequest, CallEvent, Operator
from ivr.operators import accounts, claims, figures, retries, work_queue
from ivr.operators.identity import staff_of
from ivr.twilio.phone_simulator import Phone
from tests.conftest import phone_for
from tests.fake_twilio import FakeTwilio
from tests.page_support import (
    UKRAINIAN_CALLER,
    add_people,
    request_by_call,
    requests_in,
    sign_in,
    stop_clock,
    without_csrf,
)
from tests.rows import add_request, count
from tests.support import HOTLINE, hotline_of, signed_post, twilio_params

Dial = Callable[..., Phone]
KYIV = ZoneInfo("Europe/Kyiv")
NEW_YORK_CALLER = "+12025550123"
ANY_TIME, DAYTIME, EVENINGS, WAIT_FOR_THEIR_CALL = "1", "2", "3", "4"
# 21:50 in Kyiv: ten minutes before the end of a Kyiv caller's evening window.
LATE_EVENING = datetime(2026, 12, 1, 19, 50, tzinfo=UTC)
NOTE = "Marta answered once; her husband may pick up, hang up then"


@pytest.fixture
def strict_page(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """The page with settings of the story's own."""
    def make(**settings: str) -> Flask:
        app = without_csrf(make_app(**settings))
        add_people(app)
        return app
    return make


def the_request(app: Flask, request_id: int) -> CallbackRequest:
    with app.app_context():
        return db.session.get_one(CallbackRequest, request_id)


def no_answer(person: FlaskClient, request_id: int, note: str = "") -> str:
    """Claim the request, try, record "no answer"; the flash it leaves."""
    person.post(f"/operators/requests/{request_id}/claim")
    response = person.post(f"/operators/requests/{request_id}/outcome",
                           data={"outcome": "no_answer", "note": note}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def one_request(app: Flask, phone: Dial, **details: str) -> int:
    request_by_call(phone, **details)  # type: ignore[arg-type]
    return requests_in(app)[-1].id


def test_each_no_answer_waits_longer_before_the_next_try_the_last_delay_repeating(
        strict_page: Callable[..., Flask]) -> None:
    app = strict_page(CALLBACK_RETRY_MINUTES="15,30,60", CALLBACK_MAX_ATTEMPTS="6")
    request_id = one_request(app, phone_for(app), window=ANY_TIME)
    olena = sign_in(app, "olena")
    moment = LATE_EVENING

    waits = []
    for _ in range(5):
        stop_clock(app, moment)
        no_answer(olena, request_id)
        request = the_request(app, request_id)
        assert request.next_try_at is not None and request.claimed_by is None
        waits.append(int((request.next_try_at - moment) / timedelta(minutes=1)))
        moment = request.next_try_at

    assert waits == [15, 30, 60, 60, 60]
    stop_clock(app, moment)
    no_answer(olena, request_id)
    request = the_request(app, request_id)
    assert (request.next_try_at, request.tries_in_round, request.callback_attempts) == (
        None, 6, 6)
    assert request.decision_since == moment


def test_a_next_try_after_their_evening_ended_waits_for_their_next_evening(
        page: Flask, phone: Dial) -> None:
    request_id = one_request(page, phone, window=EVENINGS)  # a Kyiv number: 18:00-22:00
    olena = sign_in(page, "olena")
    stop_clock(page, LATE_EVENING)  # 21:50 for them; 22:05 would be too late

    flashed = no_answer(olena, request_id)

    request = the_request(page, request_id)
    assert request.next_try_at == datetime(2026, 12, 2, 18, 0, tzinfo=KYIV)
    assert "next try at 18:00" in flashed
    assert "next try at 18:00" in olena.get(
        f"/operators/requests/{request_id}").get_data(as_text=True)


def test_a_delay_that_ends_inside_their_window_is_kept_as_it_is(
        page: Flask, phone: Dial) -> None:
    request_id = one_request(page, phone, window=EVENINGS)
    olena = sign_in(page, "olena")
    early_evening = datetime(2026, 12, 1, 16, 10, tzinfo=UTC)  # 18:10 in Kyiv
    stop_clock(page, early_evening)

    no_answer(olena, request_id)

    assert the_request(page, request_id).next_try_at == early_evening + timedelta(minutes=15)


def test_the_window_is_in_the_callers_time_not_the_desks(page: Flask, phone: Dial) -> None:
    request_id = one_request(page, phone, caller=NEW_YORK_CALLER, language="en",
                             window=DAYTIME)
    sofia = sign_in(page, "sofia")
    stop_clock(page, datetime(2026, 12, 1, 23, 30, tzinfo=UTC))  # 18:30 in New York

    no_answer(sofia, request_id)

    # 9:00 in New York is 14:00 UTC, 16:00 at the desk in Kyiv.
    assert the_request(page, request_id).next_try_at == datetime(2026, 12, 2, 14, 0,
                                                                tzinfo=UTC)
    assert "next try at 16:00" in sofia.get("/operators/?status=later").get_data(as_text=True)


def test_the_hour_a_caller_told_us_places_the_next_try_and_an_unknown_zone_keeps_the_delay(
        ) -> None:
    seven_pm_for_them = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # they are 3 hours ahead

    told = retries.into_window(seven_pm_for_them, "day", retries.caller_zone(None, 180))
    unknown = retries.into_window(seven_pm_for_them, "day", retries.caller_zone(None, None))
    unreadable = retries.into_window(seven_pm_for_them, "day",
                                     retries.caller_zone("Mars/Olympus", None))

    assert told == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 9:00 their time
    assert unknown == unreadable == seven_pm_for_them


def test_a_caller_who_asked_us_to_wait_for_their_call_is_never_given_a_next_try(
        page: Flask, phone: Dial) -> None:
    request_id = one_request(page, phone, window=WAIT_FOR_THEIR_CALL)
    olena = sign_in(page, "olena")
    stop_clock(page, LATE_EVENING)

    no_answer(olena, request_id)

    request = the_request(page, request_id)
    assert (request.next_try_at, request.tries_in_round, request.status) == (None, 1, "open")
    assert "next try at" not in olena.get(
        f"/operators/requests/{request_id}").get_data(as_text=True)


def test_a_request_due_again_is_back_in_its_old_place_among_the_due(
        page: Flask, phone: Dial) -> None:
    first = one_request(page, phone, caller=UKRAINIAN_CALLER, window=ANY_TIME)
    second = one_request(page, phone, caller="+380671112299", window=ANY_TIME)
    third = one_request(page, phone, caller="+380671112288", window=ANY_TIME)
    olena = sign_in(page, "olena")
    stop_clock(page, LATE_EVENING)
    no_answer(olena, first)

    def order(status: str = "open") -> list[int]:
        html = olena.get(f"/operators/?status={status}").get_data(as_text=True)
        found = [(html.find(f'id="request-{each}"'), each) for each in (first, second, third)]
        return [each for at, each in sorted(found) if at >= 0]

    assert order() == [second, third, first]
    assert order("due") == [second, third] and order("later") == [first]
    assert "next try at 22:05" in olena.get("/operators/").get_data(as_text=True)  # desk time
    stop_clock(page, LATE_EVENING + timedelta(minutes=15))
    assert order() == [first, second, third]
    assert order("due") == [first, second, third] and order("later") == []


def test_the_queue_pages_through_due_then_later_then_decided_requests(app: Flask) -> None:
    """55 due, 3 waiting for their next try, 2 for a decision: the second page ends the due
    ones and goes on with the others, in their order, nothing twice and nothing left out."""
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    oldest = now - timedelta(days=2)
    def request(at: datetime, n: int) -> int:
        return add_request(app, at, number=f"+38050{n:07d}")

    later = [request(oldest + timedelta(minutes=i), i) for i in range(3)]
    decided = [request(oldest + timedelta(minutes=10 + i), 10 + i) for i in range(2)]
    due = [request(now - timedelta(hours=1) + timedelta(seconds=i), 100 + i) for i in range(55)]
    with app.app_context():
        for minutes, request_id in zip((30, 10, 20), later, strict=True):
            db.session.get_one(CallbackRequest, request_id).next_try_at = \
                now + timedelta(minutes=minutes)
        for request_id in decided:
            db.session.get_one(CallbackRequest, request_id).decision_since = now
        db.session.commit()

        def shown(page: int) -> list[int]:
            found = work_queue.page_of(db.session(), 0, ("uk",),
                                       work_queue.Filters(page=page), now, 30)
            return [row.request.id for row in found.rows]

        first, second = shown(1), shown(2)
    assert first == due[:50]
    assert second == [*due[50:], later[1], later[2], later[0], *decided]


def test_after_the_last_try_the_request_waits_for_a_supervisors_decision(
        strict_page: Callable[..., Flask]) -> None:
    app = strict_page(CALLBACK_MAX_ATTEMPTS="2")
    request_id = one_request(app, phone_for(app), window=ANY_TIME)
    olena = sign_in(app, "olena")
    stop_clock(app, LATE_EVENING)
    no_answer(olena, request_id)
    stop_clock(app, LATE_EVENING + timedelta(hours=1))

    flashed = no_answer(olena, request_id)

    assert "A supervisor decides now" in flashed
    assert the_request(app, request_id).decision_since is not None
    listed = olena.get("/operators/?status=decision").get_data(as_text=True)
    assert f'id="request-{request_id}"' in listed and "needs a decision" in listed
    refused = olena.post(f"/operators/requests/{request_id}/claim", follow_redirects=True)
    assert "a supervisor decides now" in refused.get_data(as_text=True)
    assert the_request(app, request_id).claimed_by is None
    assert 'id="try-again"' not in refused.get_data(as_text=True)
    shown = sign_in(app, "sofia").get(f"/operators/requests/{request_id}")
    assert 'id="try-again"' in shown.get_data(as_text=True)


def decision_awaited(app: Flask, phone: Dial) -> int:
    request_id = one_request(app, phone, window=ANY_TIME)
    olena = sign_in(app, "olena")
    stop_clock(app, LATE_EVENING)
    no_answer(olena, request_id)
    return request_id


def test_the_supervisors_decision_is_audited_try_again_then_close(
        strict_page: Callable[..., Flask]) -> None:
    app = strict_page(CALLBACK_MAX_ATTEMPTS="1")
    request_id = decision_awaited(app, phone_for(app))
    sofia = sign_in(app, "sofia")

    again = sofia.post(f"/operators/requests/{request_id}/decision",
                       data={"decision": "retry"}, follow_redirects=True)

    assert "It will be tried again" in again.get_data(as_text=True)
    request = the_request(app, request_id)
    assert (request.decision_since, request.tries_in_round, request.next_try_at) == (
        None, 0, None)
    no_answer(sign_in(app, "olena"), request_id)  # a new round: one more try
    sofia.post(f"/operators/requests/{request_id}/decision", data={"decision": "do_not_call"})
    request = the_request(app, request_id)
    assert (request.status, request.outcome) == ("do_not_call", "do_not_call")
    with app.app_context():
        decided = [(entry.login, entry.detail) for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "decision",
                                        AuditEntry.request_id == request_id))]
    assert decided == [("sofia", "retry"), ("sofia", "do_not_call")]


def test_an_operator_cannot_take_the_supervisors_decision(
        strict_page: Callable[..., Flask]) -> None:
    app = strict_page(CALLBACK_MAX_ATTEMPTS="1")
    request_id = decision_awaited(app, phone_for(app))

    refused = sign_in(app, "olena").post(f"/operators/requests/{request_id}/decision",
                                         data={"decision": "retry"})

    assert refused.status_code == 403
    assert the_request(app, request_id).decision_since is not None
    with app.app_context():
        olena = staff_of(db.session.scalars(
            sa.select(Operator).where(Operator.login == "olena")).one())
        with pytest.raises(PermissionError):
            claims.decide(db.session(), olena, request_id, "retry", LATE_EVENING, None)


def test_a_decision_that_is_none_or_not_awaited_or_forged_gets_a_readable_answer(
        strict_page: Callable[..., Flask]) -> None:
    app = strict_page(CALLBACK_MAX_ATTEMPTS="1")
    awaited = decision_awaited(app, phone_for(app))
    due = add_request(app, LATE_EVENING, number="+380671112277")
    sofia = sign_in(app, "sofia")

    absurd = sofia.post(f"/operators/requests/{awaited}/decision",
                        data={"decision": "delete"}, follow_redirects=True)
    not_awaited = sofia.post(f"/operators/requests/{due}/decision",
                             data={"decision": "closed"}, follow_redirects=True)
    forged = sofia.post("/operators/requests/99999999/decision", data={"decision": "retry"})

    assert "Choose what to do with the request." in absurd.get_data(as_text=True)
    assert "does not wait for a decision" in not_awaited.get_data(as_text=True)
    assert forged.status_code == 404
    assert the_request(app, awaited).decision_since is not None
    assert the_request(app, due).status == "open"
    app.config["WTF_CSRF_ENABLED"] = True  # a form forged elsewhere has no token
    unsigned = sofia.post(f"/operators/requests/{awaited}/decision", data={"decision": "retry"})
    assert unsigned.status_code == 400
    assert the_request(app, awaited).decision_since is not None


def test_a_call_back_whose_caller_does_not_answer_goes_back_for_a_later_try_once(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_id = one_request(page, phone, window=ANY_TIME)
    olena = sign_in(page, "olena")
    stop_clock(page, LATE_EVENING)
    olena.post(f"/operators/requests/{request_id}/claim")
    olena.post(f"/operators/requests/{request_id}/call")
    [placed] = twilio.placed
    attempt = placed["Url"].rsplit("attempt=", 1)[1]
    leg = twilio_params(CallSid=placed["Sid"], From=HOTLINE, To=placed["To"],
                        Direction="outbound-api")
    client = page.test_client()

    signed_post(client, f"/voice/callback-call/caller-status?attempt={attempt}",
                {**leg, "CallSid": "CA" + "7" * 32, "CallStatus": "no-answer"})
    signed_post(client, f"/voice/callback-call/dialed?attempt={attempt}",
                {**leg, "DialCallStatus": "no-answer"})

    request = the_request(page, request_id)
    assert (request.callback_attempts, request.tries_in_round, request.claimed_by) == (1, 1,
                                                                                       None)
    assert request.next_try_at == LATE_EVENING + timedelta(minutes=15)
    progress = olena.get(f"/operators/requests/{request_id}/progress").get_data(as_text=True)
    assert "No answer: the request is back in the queue." in progress
    with page.app_context():
        assert db.session.scalar(sa.select(AuditEntry.detail).where(
            AuditEntry.action == "outcome")) == "no_answer: no-answer"


def test_a_caller_who_calls_again_starts_a_new_round_of_tries(
        strict_page: Callable[..., Flask]) -> None:
    app = strict_page(CALLBACK_MAX_ATTEMPTS="1")
    dial = phone_for(app)
    request_id = decision_awaited(app, dial)

    request_by_call(dial, window=ANY_TIME)  # the same number leaves a request again

    request = the_request(app, request_id)
    assert (request.decision_since, request.tries_in_round, request.next_try_at) == (
        None, 0, None)


def test_notes_are_kept_per_try_newest_first_and_sealed_at_rest(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_id = one_request(page, phone, window=ANY_TIME)
    olena = sign_in(page, "olena")
    stop_clock(page, LATE_EVENING)
    olena.post(f"/operators/requests/{request_id}/claim")
    olena.post(f"/operators/requests/{request_id}/notes", data={"notes": "Read her message"})
    stop_clock(page, LATE_EVENING + timedelta(minutes=1))
    olena.post(f"/operators/requests/{request_id}/call")
    stop_clock(page, LATE_EVENING + timedelta(minutes=2))
    olena.post(f"/operators/requests/{request_id}/notes", data={"notes": "Rings out"})
    stop_clock(page, LATE_EVENING + timedelta(minutes=3))
    olena.post(f"/operators/requests/{request_id}/outcome",
               data={"outcome": "no_answer", "note": NOTE})

    with page.app_context():
        notes = db.session.scalars(sa.select(CallbackNote).order_by(CallbackNote.id)).all()
        raw = db.session.execute(sa.text("SELECT text FROM callback_notes")).scalars().all()
    assert [note.attempt_id is None for note in notes] == [True, False, False]
    assert notes[1].attempt_id == notes[2].attempt_id
    assert all("Marta" not in text and "Rings" not in text and "Read" not in text
               for text in raw)
    html = sign_in(page, "sofia").get(f"/operators/requests/{request_id}").get_data(
        as_text=True)
    history = html[html.index('id="history"'):]
    assert (history.index("Marta answered once") < history.index("Rings out")
            < history.index("Read her message"))


def test_notes_show_only_to_those_who_may_see_the_request_and_are_never_logged(
        page: Flask, phone: Dial, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    request_id = one_request(page, phone, window=ANY_TIME)
    olena = sign_in(page, "olena")
    no_answer(olena, request_id, note=NOTE)

    ivan = sign_in(page, "ivan").get(f"/operators/requests/{request_id}")  # Russian only
    export = sign_in(page, "sofia").get("/operators/export.csv").get_data(as_text=True)

    assert ivan.status_code == 404 and "Marta" not in ivan.get_data(as_text=True)
    assert "Marta" not in export and "1234567" not in export
    printed = capfd.readouterr()
    assert "Marta" not in printed.out + printed.err + caplog.text


def test_a_purged_request_takes_its_notes_with_it(page: Flask, twilio: FakeTwilio) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=200)
    request_id = add_request(page, long_ago, status="reached")
    with page.app_context():
        db.session.add(CallbackNote(request_id=request_id, at=long_ago,
                                    text=hotline_of(page).vault.seal(NOTE)))
        db.session.commit()

    result = page.test_cli_runner().invoke(args=["purge", "--older-than", "90d"])

    assert result.exit_code == 0, result.output
    assert count(page, CallbackNote) == count(page, CallbackRequest) == 0


def test_the_migration_moves_an_old_single_note_into_the_history(page: Flask) -> None:
    request_id = add_request(page, LATE_EVENING)
    hung_up = add_request(page, LATE_EVENING, number="+380671112299")
    sealed = hotline_of(page).vault.seal(NOTE)
    with page.app_context():
        hung_up_call = db.session.get_one(CallbackRequest, hung_up).first_call_sid
        flask_migrate.downgrade(revision="a1c4a1d17e01")  # one single note a request
        db.session.execute(sa.text("UPDATE callback_requests SET notes = :notes WHERE id = :id"),
                           {"notes": sealed, "id": request_id})
        db.session.execute(sa.text("UPDATE callback_requests SET reason = 'abandoned'"))
        db.session.add(CallEvent(call_sid=hung_up_call, kind="queue", outcome="queue:abandoned",
                                 at=LATE_EVENING))
        db.session.commit()

        flask_migrate.upgrade()

        [note] = db.session.scalars(sa.select(CallbackNote)).all()
        reasons = dict(db.session.execute(sa.select(CallbackRequest.id,
                                                    CallbackRequest.reason)).all())
    assert (note.request_id, note.attempt_id, note.operator_id, note.text) == (
        request_id, None, None, sealed)
    assert reasons == {request_id: "abandoned", hung_up: "queue_hangup"}
    html = sign_in(page, "olena").get(f"/operators/requests/{request_id}").get_data(
        as_text=True)
    assert "Marta answered once" in html and "before notes were kept per try" in html


def hang_ups(app: Flask, phone: Dial) -> tuple[int, int]:
    """Taras hangs up waiting in the queue for an operator; Maria hangs up before she says
    yes to the number her request would be called back on."""
    with app.app_context():
        accounts.set_duty(db.session(), "olena", True)
        db.session.commit()
    taras = phone(caller="+380671112299")
    taras.dial()
    taras.press("2")  # Ukrainian
    taras.press("1")  # an operator
    taras.hang_up()
    maria = phone(caller=UKRAINIAN_CALLER)
    maria.dial()
    maria.press("2")
    maria.press("2")  # a call back
    maria.hang_up()
    by_number = {request.number_hash: request.id for request in requests_in(app)}
    vault = hotline_of(app).vault
    return by_number[vault.digest("+380671112299")], by_number[vault.digest(UKRAINIAN_CALLER)]


def test_the_queue_tells_a_hang_up_in_the_queue_from_one_while_leaving_a_request(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    add_people(without_csrf(desk_app))
    in_queue, leaving = hang_ups(desk_app, phone)

    olena = sign_in(desk_app, "olena")
    html = olena.get("/operators/").get_data(as_text=True)

    assert (the_request(desk_app, in_queue).reason,
            the_request(desk_app, leaving).reason) == ("queue_hangup", "abandoned")
    for request_id, label in ((in_queue, "Hung up in the queue"),
                              (leaving, "Hung up while leaving a request")):
        row = html[html.index(f'id="request-{request_id}"'):]
        row = row[:row.index("</tr>")]
        assert label in row and "number never confirmed" in row
    shown = olena.get(f"/operators/requests/{leaving}").get_data(as_text=True)
    assert 'id="unconfirmed"' in shown and "Hung up while leaving a request" in shown


def test_the_figures_count_every_abandoned_request_the_queue_shows_by_kind(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    add_people(desk_app)
    hang_ups(desk_app, phone)
    created = requests_in(desk_app)[0].created_at

    with desk_app.app_context():
        counted = figures.figures(db.session(), ("uk",), created - timedelta(hours=1),
                                  created + timedelta(hours=1))["uk"]
    assert (counted.hung_up_in_queue, counted.hung_up_taking, counted.abandoned) == (1, 1, 2)
