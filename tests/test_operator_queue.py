"""Operators sign in, see who waits for a call back, claim a request and record what came of
it, without ever seeing more of a number than they need."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy.orm import Session

from ivr.database import db
from ivr.models import CallBackAttempt, CallbackRequest, Operator
from ivr.operators import audit, claims
from ivr.operators import sign_in as signing
from ivr.operators.identity import staff_of
from ivr.twilio.phone_simulator import Phone
from tests.page_support import (
    PEOPLE,
    RUSSIAN_CALLER,
    UKRAINIAN_CALLER,
    add_people,
    audit_trail,
    request_by_call,
    requests_in,
    sign_in,
    stop_clock,
    without_csrf,
)
from tests.support import hotline_of

Dial = Callable[..., Phone]


def test_someone_not_signed_in_is_sent_to_the_sign_in_page(page: Flask) -> None:
    response = page.test_client().get("/operators/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/operators/login")


def test_operator_who_signs_in_sees_the_queue_with_numbers_masked(page: Flask,
                                                                  phone: Dial) -> None:
    request_by_call(phone)
    olena = sign_in(page, "olena")

    html = olena.get("/operators/").get_data(as_text=True)

    assert "+380 50 ••• ••67" in html
    assert "1234567" not in html and "Claim" in html
    assert "Do not say who we are" in html
    assert "Ukrainian" in html and "yes, 12 s" in html
    assert ("olena", "login", None) in audit_trail(page)


def test_operator_with_a_wrong_password_is_told_so_and_nothing_more(page: Flask) -> None:
    response = page.test_client().post("/operators/login",
                                       data={"login": "olena", "password": "wrong password!"})

    assert response.status_code == 401
    assert "Wrong login or password." in response.get_data(as_text=True)
    assert ("olena", "login_failed", None) in audit_trail(page)


def test_an_unknown_login_reads_the_same_as_a_wrong_password(page: Flask) -> None:
    response = page.test_client().post("/operators/login",
                                       data={"login": "nobody", "password": "whatever it is"})

    assert response.status_code == 401
    assert "Wrong login or password." in response.get_data(as_text=True)


def test_sign_in_is_refused_after_five_failures_even_with_the_right_password(
        page: Flask) -> None:
    client = page.test_client()
    for _ in range(5):
        client.post("/operators/login", data={"login": "olena", "password": "not it at all"})

    response = client.post("/operators/login",
                           data={"login": "olena", "password": "correct horse battery staple"})

    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_a_disabled_operator_cannot_sign_in(page: Flask) -> None:
    sofia = sign_in(page, "sofia")
    sofia.post("/operators/team/olena/active", data={"on": "0"})

    response = page.test_client().post(
        "/operators/login", data={"login": "olena", "password": "correct horse battery staple"})

    assert response.status_code == 401


def test_an_empty_sign_in_form_gets_a_readable_page(page: Flask) -> None:
    response = page.test_client().post("/operators/login", data={})

    assert response.status_code == 400
    assert "<form" in response.get_data(as_text=True)


def test_operator_sees_only_their_languages(page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=UKRAINIAN_CALLER, language="uk")
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    ivan = sign_in(page, "ivan")

    html = ivan.get("/operators/").get_data(as_text=True)

    assert "+7 916 •••-••-67" in html
    assert "+380 50" not in html


def test_operator_who_opens_another_languages_request_by_its_url_gets_not_found(
        page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=UKRAINIAN_CALLER, language="uk")
    [ukrainian] = requests_in(page)
    ivan = sign_in(page, "ivan")

    for response in (ivan.get(f"/operators/requests/{ukrainian.id}"),
                     ivan.post(f"/operators/requests/{ukrainian.id}/claim"),
                     ivan.post(f"/operators/requests/{ukrainian.id}/reveal")):
        assert response.status_code == 404
        assert "no such request in your languages" in response.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by is None


def test_an_unknown_request_gets_a_readable_not_found_page(page: Flask) -> None:
    response = sign_in(page, "olena").get("/operators/requests/999999")

    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def test_operator_who_claims_a_request_holds_it_and_others_see_who(page: Flask,
                                                                    phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(page)
    olena, ivan = sign_in(page, "olena"), sign_in(page, "ivan")

    first = olena.post(f"/operators/requests/{request.id}/claim")
    second = ivan.post(f"/operators/requests/{request.id}/claim", follow_redirects=True)

    assert first.headers["Location"] == f"/operators/requests/{request.id}"
    assert "Someone else claimed this request a moment ago" in second.get_data(as_text=True)
    assert "Claimed by Olena K" in second.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by is not None
    assert [action for login, action, _ in audit_trail(page) if action == "claim"] == ["claim"]


def test_a_claim_lapses_and_the_request_can_be_claimed_again(page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(page)
    olena, ivan = sign_in(page, "olena"), sign_in(page, "ivan")
    olena.post(f"/operators/requests/{request.id}/claim")

    stop_clock(page, datetime.now(UTC) + timedelta(minutes=31))
    response = ivan.post(f"/operators/requests/{request.id}/claim")

    assert response.headers["Location"] == f"/operators/requests/{request.id}"
    late = olena.post(f"/operators/requests/{request.id}/reveal", follow_redirects=True)
    assert "This request is not yours now" in late.get_data(as_text=True)


def test_claiming_a_closed_request_says_it_is_closed(page: Flask, phone: Dial) -> None:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")
    olena.post(f"/operators/requests/{request.id}/outcome", data={"outcome": "reached"})

    response = olena.post(f"/operators/requests/{request.id}/claim", follow_redirects=True)

    assert "This request is closed already" in response.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by is None


def test_session_cookies_are_secure_in_production(make_app: Callable[..., Flask]) -> None:
    app = without_csrf(make_app(
        IVR_ENV="production", TWILIO_ACCOUNT_SID="AC" + "a1" * 16,
        TWILIO_AUTH_TOKEN="a-real-auth-token", PUBLIC_BASE_URL="https://ivr.example.org",
        SECRET_KEY="s" * 40, PHONE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        PHONE_HASH_KEY="h" * 40, CALLBACK_CALLER_IDS="+442071838750"))
    add_people(app, "olena")

    response = app.test_client().post(
        "/operators/login", data={"login": "olena", "password": "correct horse battery staple"})

    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_claim_minutes_is_a_setting(make_app: Callable[..., Flask], phone: Dial) -> None:
    app = without_csrf(make_app(CLAIM_MINUTES="5"))

    assert hotline_of(app).settings.claim_minutes == 5


def test_revealing_the_number_shows_it_and_writes_the_audit_log(page: Flask,
                                                                 phone: Dial) -> None:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    before = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    assert "+380 50 123 4567" not in before

    olena.post(f"/operators/requests/{request.id}/claim")
    response = olena.post(f"/operators/requests/{request.id}/reveal")

    assert "+380 50 123 4567" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert ("olena", "reveal", request.id) in audit_trail(page)


def test_nobody_reveals_a_number_without_holding_the_request(page: Flask, phone: Dial) -> None:
    request_by_call(phone)
    [request] = requests_in(page)

    response = sign_in(page, "olena").post(f"/operators/requests/{request.id}/reveal",
                                           follow_redirects=True)

    assert "This request is not yours now" in response.get_data(as_text=True)
    assert "+380 50 123 4567" not in response.get_data(as_text=True)
    assert "reveal" not in [action for _, action, _ in audit_trail(page)]


def test_no_answer_puts_the_request_back_in_its_old_place_with_the_attempt_counted(
        page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=UKRAINIAN_CALLER)
    request_by_call(phone, caller="+380671112299")
    first, second = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{first.id}/claim")

    response = olena.post(f"/operators/requests/{first.id}/outcome",
                          data={"outcome": "no_answer"})

    assert response.status_code == 302
    again = requests_in(page)[0]
    assert (again.status, again.callback_attempts, again.claimed_by) == ("open", 1, None)
    assert again.created_at == first.created_at
    html = olena.get("/operators/").get_data(as_text=True)
    assert html.index(f"request-{first.id}") > html.index(f"request-{second.id}")  # later
    stop_clock(page, datetime.now(UTC) + timedelta(days=2))  # its next try has come
    html = olena.get("/operators/").get_data(as_text=True)
    assert html.index(f"request-{first.id}") < html.index(f"request-{second.id}")


@pytest.mark.parametrize("outcome", ["reached", "wrong_number", "do_not_call", "closed"])
def test_an_outcome_other_than_no_answer_takes_the_request_out_of_the_queue(
        page: Flask, phone: Dial, outcome: str) -> None:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")

    olena.post(f"/operators/requests/{request.id}/outcome", data={"outcome": outcome})

    done = requests_in(page)[0]
    assert (done.status, done.outcome, done.closed_at is not None) == (outcome, outcome, True)
    assert "Nobody is waiting here" in olena.get("/operators/").get_data(as_text=True)
    assert ("olena", "outcome", request.id) in audit_trail(page)
    with page.app_context():
        [attempt] = db.session.scalars(sa.select(CallBackAttempt))
    assert attempt.outcome == outcome


def test_a_made_up_outcome_is_refused_with_a_message(page: Flask, phone: Dial) -> None:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")

    response = olena.post(f"/operators/requests/{request.id}/outcome",
                          data={"outcome": "vanished"})

    assert response.status_code == 400
    assert "Choose what happened first." in response.get_data(as_text=True)
    assert requests_in(page)[0].status == "open"


def test_notes_are_kept_and_shown_escaped(page: Flask, phone: Dial) -> None:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")

    olena.post(f"/operators/requests/{request.id}/notes",
               data={"notes": "<script>alert(1)</script> call after 19"})

    html = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; call after 19" in html
    assert "<script>alert" not in html


def test_the_history_shows_who_tried_and_what_came_of_it(page: Flask, phone: Dial) -> None:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")
    olena.post(f"/operators/requests/{request.id}/outcome", data={"outcome": "no_answer"})
    olena.post(f"/operators/requests/{request.id}/claim")

    html = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)

    assert "Olena K" in html and "No answer (back to the queue)" in html


def test_the_queue_is_filtered_by_language_reason_and_status(page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=UKRAINIAN_CALLER, language="uk")
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    sofia = sign_in(page, "sofia")

    russian = sofia.get("/operators/?language=ru").get_data(as_text=True)
    claimed = sofia.get("/operators/?status=claimed").get_data(as_text=True)
    odd = sofia.get("/operators/?language=xx&status=nope&reason=zz&page=abc")

    assert "+7 916" in russian and "+380 50" not in russian
    assert "Nobody is waiting here" in claimed
    assert odd.status_code == 200 and "+7 916" in odd.get_data(as_text=True)


def test_the_queue_counts_requests_per_language_and_pages(page: Flask) -> None:
    _fill(page, 60)
    sofia = sign_in(page, "sofia")

    first = sofia.get("/operators/").get_data(as_text=True)
    second = sofia.get("/operators/?page=2").get_data(as_text=True)

    assert "<strong>60</strong> Russian" in first
    assert "page 1 of 2" in first and "page 2 of 2" in second
    assert first.count('class="actions"') == 50 and second.count('class="actions"') == 10


def test_the_rows_fragment_for_polling_has_the_rows_and_counts(page: Flask, phone: Dial) -> None:
    request_by_call(phone)

    html = sign_in(page, "olena").get("/operators/queue/rows").get_data(as_text=True)

    assert "<html" not in html and "+380 50 ••• ••67" in html and 'id="counts"' in html


def test_the_page_sends_a_content_security_policy_and_no_inline_script(page: Flask) -> None:
    response = page.test_client().get("/operators/login")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "https://" not in html


def test_session_cookies_are_secure_and_http_only_in_production(page: Flask) -> None:
    response = page.test_client().post(
        "/operators/login", data={"login": "olena", "password": "correct horse battery staple"})

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert page.config["SESSION_COOKIE_SECURE"] is False  # development runs on http


def test_an_operator_chooses_russian_for_the_page(page: Flask) -> None:
    olena = sign_in(page, "olena")

    olena.post("/operators/language", data={"page_language": "ru", "next": "/operators/"})

    html = olena.get("/operators/").get_data(as_text=True)
    assert "Очередь" in html and 'lang="ru"' in html


def test_signing_out_ends_the_session(page: Flask) -> None:
    olena = sign_in(page, "olena")

    olena.post("/operators/logout")

    assert olena.get("/operators/").status_code == 302


def test_a_forged_form_is_refused_when_csrf_is_on(app: Flask, phone: Dial) -> None:
    add_people(app)
    request_by_call(phone)
    [request] = requests_in(app)
    client = app.test_client()
    login_page = client.get("/operators/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/operators/login", data={"login": "olena", "csrf_token": token,
                                          "password": "correct horse battery staple"})

    forged = client.post(f"/operators/requests/{request.id}/claim")

    assert forged.status_code == 400
    assert "This form has expired" in forged.get_data(as_text=True)
    assert requests_in(app)[0].claimed_by is None


def test_a_supervisor_only_page_is_refused_to_an_operator_readably(page: Flask) -> None:
    response = sign_in(page, "olena").get("/operators/figures")

    assert response.status_code == 403
    assert "This page is for supervisors." in response.get_data(as_text=True)


def _fill(app: Flask, count: int) -> None:
    vault = hotline_of(app).vault
    now = datetime.now(UTC)
    with app.app_context():
        for index in range(count):
            number = f"+7916{index:07d}"
            db.session.add(CallbackRequest(
                reference=f"{100000 + index}", number=vault.encrypt(number),
                number_hash=vault.digest(number), number_source="caller_id",
                number_confirmed=True, language="ru", reason="chosen", priority=3,
                status="open", may_identify=True, safe_window="any",
                caller_timezone="Europe/Moscow", first_call_sid=f"CA{index:032x}",
                last_call_sid=f"CA{index:032x}", attempts=1,
                created_at=now - timedelta(minutes=index), updated_at=now))
        db.session.commit()


def test_operators_who_claim_at_the_same_moment_on_postgresql_leave_one_winner(
        postgres_app: Flask) -> None:
    add_people(postgres_app)
    _fill(postgres_app, 1)
    engine = hotline_of(postgres_app).engine
    start = threading.Barrier(len(PEOPLE))
    results: list[str] = []

    def race(login: str) -> None:
        with Session(engine) as session:
            staff = staff_of(session.scalars(sa.select(Operator).where(
                Operator.login == login)).one())
            start.wait()
            results.append(claims.claim(session, staff, 1, datetime.now(UTC), 30))
            session.commit()

    threads = [threading.Thread(target=race, args=(login,)) for login in PEOPLE]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["taken", "taken", "yours"]


def test_a_failure_on_our_side_is_a_readable_page_not_a_trace(
        page: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    olena = sign_in(page, "olena")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("ivr.operators.web.views.page_of", broken)
    response = olena.get("/operators/")

    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html and "database went away" not in html


def test_over_https_a_real_form_from_the_page_is_accepted(app: Flask, phone: Dial) -> None:
    add_people(app)
    request_by_call(phone)
    [request] = requests_in(app)
    client = app.test_client()
    https = {"base_url": "https://localhost"}
    token = client.get("/operators/login", **https).get_data(as_text=True).split(
        'name="csrf_token" type="hidden" value="')[1].split('"')[0]
    came_from = {"Referer": "https://localhost/operators/login"}
    client.post("/operators/login", headers=came_from, **https, data={
        "login": "olena", "password": "correct horse battery staple", "csrf_token": token})
    queue = client.get("/operators/", **https)
    assert queue.headers["Referrer-Policy"] == "same-origin"
    token = queue.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]

    claimed = client.post(f"/operators/requests/{request.id}/claim", **https,
                          headers={"Referer": "https://localhost/operators/"},
                          data={"csrf_token": token})

    assert claimed.status_code == 302
    assert requests_in(app)[0].claimed_by is not None


def test_many_failures_from_one_address_lock_it_for_every_login(page: Flask) -> None:
    now = datetime.now(UTC)
    with page.app_context():
        for index in range(50):
            audit.record(db.session(), now, "login_failed", login=f"guess{index}",
                         address="203.0.113.9")
        locked = signing.sign_in(db.session(), "olena", "correct horse battery staple",
                                "203.0.113.9", now)
        elsewhere = signing.sign_in(db.session(), "olena", "correct horse battery staple",
                                   "198.51.100.7", now)

    assert locked == signing.Refused("locked")
    assert not isinstance(elsewhere, signing.Refused)
