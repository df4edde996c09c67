"""Sofia, a supervisor, sees who holds a request and takes it from them: back to the queue,
or to another operator who speaks the caller's language. Olena, whose request it was, finds
it is not hers at her next step; a form opened before the request changed hands changes
nothing; operators cannot do it at all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ivr.database import db
from ivr.models import AuditEntry, CallBackAttempt, CallbackNote, CallbackRequest, Operator
from ivr.operators import audit, claims, handover
from ivr.operators.audit import Actor
from ivr.operators.identity import staff_of
from ivr.twilio.phone_simulator import Phone
from tests.page_support import (
    RUSSIAN_CALLER,
    UKRAINIAN_CALLER,
    add_people,
    people,
    request_by_call,
    requests_in,
    sign_in,
    stop_clock,
)
from tests.support import hotline_of

Dial = Callable[..., Phone]


def held_by_olena(page: Flask, phone: Dial, language: str = "ru") -> tuple[CallbackRequest,
                                                                           FlaskClient]:
    """A caller's request, claimed by Olena (who takes Ukrainian and Russian)."""
    request_by_call(phone, caller=RUSSIAN_CALLER if language == "ru" else UKRAINIAN_CALLER,
                    language=language)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")
    return request, olena


def handovers(page: Flask) -> list[tuple[str, str, int | None, str | None]]:
    """Releases and reassigns by supervisors (an operator's own release names nobody)."""
    with page.app_context():
        return [(entry.login, entry.action, entry.request_id, entry.detail)
                for entry in db.session.scalars(
                    sa.select(AuditEntry).where(AuditEntry.action.in_(("release", "reassign")),
                                                AuditEntry.detail.is_not(None))
                    .order_by(AuditEntry.id))]


def test_a_supervisor_sees_who_holds_a_request_and_who_else_could_take_it(
        page: Flask, phone: Dial) -> None:
    request, _ = held_by_olena(page, phone)

    html = sign_in(page, "sofia").get(f"/operators/requests/{request.id}").get_data(
        as_text=True)

    handover_card = html.split('id="handover"')[1].split("</section>")[0]
    assert "Held by Olena K" in handover_card and "Release it to the queue" in handover_card
    assert "Ivan P (ivan)" in handover_card and "Sofia M (sofia)" in handover_card
    assert "Olena K (olena)" not in handover_card  # she holds it already


def test_a_supervisor_is_warned_while_the_holder_is_on_a_call_back(
        page: Flask, phone: Dial) -> None:
    request, _ = held_by_olena(page, phone)
    with page.app_context():
        db.session.add(CallBackAttempt(request_id=request.id, operator_id=people(page)[
            "olena"].id, started_at=datetime.now(UTC), operator_status="in-progress"))
        db.session.commit()

    html = sign_in(page, "sofia").get(f"/operators/requests/{request.id}").get_data(
        as_text=True)

    handover_card = html.split('id="handover"')[1].split("</section>")[0]
    assert "A call for this request is already under way." in handover_card


def test_an_operator_does_not_see_the_supervisors_controls(page: Flask, phone: Dial) -> None:
    request, olena = held_by_olena(page, phone)

    for person in (olena, sign_in(page, "ivan")):
        html = person.get(f"/operators/requests/{request.id}").get_data(as_text=True)
        assert 'id="handover"' not in html and "Release it to the queue" not in html


def test_a_supervisor_releases_olenas_request_and_olenas_next_step_is_refused(
        page: Flask, phone: Dial) -> None:
    request, olena = held_by_olena(page, phone)
    sofia = sign_in(page, "sofia")

    released = sofia.post(f"/operators/requests/{request.id}/hold/release",
                          data={"holder": people(page)["olena"].id}, follow_redirects=True)

    assert "The request is back in the queue." in released.get_data(as_text=True)
    [back] = requests_in(page)
    assert (back.status, back.claimed_by, back.claimed_at) == ("open", None, None)
    assert handovers(page) == [("sofia", "release", request.id, "from olena")]
    late = olena.post(f"/operators/requests/{request.id}/notes", data={"notes": "Called."},
                      follow_redirects=True)
    assert "This request is not yours now" in late.get_data(as_text=True)
    assert notes_of(page, request.id) == []
    claimed = sign_in(page, "ivan").post(f"/operators/requests/{request.id}/claim")
    assert claimed.headers["Location"] == f"/operators/requests/{request.id}"


def test_a_supervisor_gives_olenas_request_to_ivan_who_then_holds_it_afresh(
        page: Flask, phone: Dial) -> None:
    request, olena = held_by_olena(page, phone)
    later = datetime.now(UTC) + timedelta(minutes=20)
    stop_clock(page, later)
    sofia, ivan = sign_in(page, "sofia"), sign_in(page, "ivan")
    team = people(page)

    given = sofia.post(f"/operators/requests/{request.id}/hold/reassign",
                       data={"holder": team["olena"].id, "to": team["ivan"].id},
                       follow_redirects=True)

    assert "Ivan P holds the request now." in given.get_data(as_text=True)
    [moved] = requests_in(page)
    assert (moved.claimed_by, moved.claimed_at) == (team["ivan"].id, later)
    assert handovers(page) == [("sofia", "reassign", request.id, "from olena to ivan")]
    # A fresh claim: still Ivan's when Olena's would have lapsed.
    stop_clock(page, later + timedelta(minutes=25))
    mine = ivan.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    assert "Save the note" in mine and "Record the outcome" in mine
    refused = olena.post(f"/operators/requests/{request.id}/outcome",
                         data={"outcome": "reached"}, follow_redirects=True)
    assert "This request is not yours now" in refused.get_data(as_text=True)
    assert requests_in(page)[0].status == "open"
    done = ivan.post(f"/operators/requests/{request.id}/outcome", data={"outcome": "reached"})
    assert done.headers["Location"] == "/operators/"
    assert requests_in(page)[0].status == "reached"


def test_operators_cannot_release_or_reassign(page: Flask, phone: Dial) -> None:
    request, olena = held_by_olena(page, phone)
    team = people(page)
    ivan = sign_in(page, "ivan")

    taken = ivan.post(f"/operators/requests/{request.id}/hold/reassign",
                      data={"holder": team["olena"].id, "to": team["ivan"].id})
    released = olena.post(f"/operators/requests/{request.id}/hold/release",
                          data={"holder": team["olena"].id})

    for response in (taken, released):
        assert response.status_code == 403
        assert "This page is for supervisors." in response.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by == team["olena"].id
    assert handovers(page) == []


def test_the_domain_refuses_an_operator_too(page: Flask, phone: Dial) -> None:
    request, _ = held_by_olena(page, phone)
    team = people(page)
    with page.app_context():
        ivan = staff_of(db.session.get_one(Operator, team["ivan"].id))
        with pytest.raises(handover.Refused) as refused:
            handover.reassign(db.session(), ivan, Actor("ivan", ivan.id), request.id,
                              team["olena"].id, ivan.id, datetime.now(UTC), 30)
    assert refused.value.why == "not_supervisor"


def test_a_request_goes_only_to_an_active_operator_who_takes_its_language(
        page: Flask, phone: Dial) -> None:
    request, _ = held_by_olena(page, phone, language="uk")
    sofia = sign_in(page, "sofia")
    team = people(page)
    sofia.post("/operators/team/sofia/active", data={"on": "1"})  # (she is active already)

    html = sofia.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    assert "Ivan P (ivan)" not in html  # Ivan takes only Russian: not offered
    for to in (team["ivan"].id, 987654321):
        refused = sofia.post(f"/operators/requests/{request.id}/hold/reassign",
                             data={"holder": team["olena"].id, "to": to}, follow_redirects=True)
        assert "That person cannot take this request" in refused.get_data(as_text=True)
    same = sofia.post(f"/operators/requests/{request.id}/hold/reassign",
                      data={"holder": team["olena"].id, "to": team["olena"].id},
                      follow_redirects=True)
    assert "They hold this request already." in same.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by == team["olena"].id
    assert handovers(page) == []


def test_a_disabled_operator_is_neither_offered_nor_given_a_request(
        page: Flask, phone: Dial) -> None:
    request, _ = held_by_olena(page, phone)
    sofia = sign_in(page, "sofia")
    team = people(page)
    sofia.post("/operators/team/ivan/active", data={"on": "0"})

    html = sofia.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    refused = sofia.post(f"/operators/requests/{request.id}/hold/reassign",
                         data={"holder": team["olena"].id, "to": team["ivan"].id},
                         follow_redirects=True)

    assert "Ivan P (ivan)" not in html
    assert "That person cannot take this request" in refused.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by == team["olena"].id


def test_a_form_opened_before_the_request_changed_hands_changes_nothing(
        page: Flask, phone: Dial) -> None:
    request, olena = held_by_olena(page, phone)
    team = people(page)
    sofia = sign_in(page, "sofia")
    sofia.get(f"/operators/requests/{request.id}")  # the page shows Olena as the holder
    olena.post(f"/operators/requests/{request.id}/release")
    sign_in(page, "ivan").post(f"/operators/requests/{request.id}/claim")

    stale = sofia.post(f"/operators/requests/{request.id}/hold/reassign",
                       data={"holder": team["olena"].id, "to": team["sofia"].id},
                       follow_redirects=True)
    released = sofia.post(f"/operators/requests/{request.id}/hold/release",
                          data={"holder": team["olena"].id}, follow_redirects=True)

    for response in (stale, released):
        assert response.status_code == 200
        assert "This request changed hands while the page was open: nothing was changed." in \
            response.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by == team["ivan"].id
    assert "Held by Ivan P" in stale.get_data(as_text=True)
    assert handovers(page) == []


def test_of_two_supervisors_reassigning_at_once_the_second_is_told(
        page: Flask, phone: Dial) -> None:
    request, _ = held_by_olena(page, phone)
    team = people(page)
    sofia, sofia_elsewhere = sign_in(page, "sofia"), sign_in(page, "sofia")
    form = {"holder": team["olena"].id}

    first = sofia.post(f"/operators/requests/{request.id}/hold/reassign",
                       data={**form, "to": team["ivan"].id}, follow_redirects=True)
    second = sofia_elsewhere.post(f"/operators/requests/{request.id}/hold/reassign",
                                  data={**form, "to": team["sofia"].id}, follow_redirects=True)

    assert "Ivan P holds the request now." in first.get_data(as_text=True)
    assert "changed hands while the page was open" in second.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by == team["ivan"].id
    assert len(handovers(page)) == 1


def test_a_lapsed_or_closed_request_is_not_taken_from_anyone(page: Flask, phone: Dial) -> None:
    request, olena = held_by_olena(page, phone)
    team = people(page)
    sofia = sign_in(page, "sofia")
    stop_clock(page, datetime.now(UTC) + timedelta(minutes=31))

    lapsed = sofia.post(f"/operators/requests/{request.id}/hold/release",
                        data={"holder": team["olena"].id}, follow_redirects=True)
    assert "Nobody holds this request now" in lapsed.get_data(as_text=True)
    assert 'id="handover"' not in lapsed.get_data(as_text=True)

    stop_clock(page, datetime.now(UTC))
    olena.post(f"/operators/requests/{request.id}/claim")
    olena.post(f"/operators/requests/{request.id}/outcome", data={"outcome": "reached"})
    closed = sofia.post(f"/operators/requests/{request.id}/hold/reassign",
                        data={"holder": team["olena"].id, "to": team["ivan"].id},
                        follow_redirects=True)
    assert "This request is closed already: nothing was changed." in closed.get_data(
        as_text=True)
    assert requests_in(page)[0].claimed_by is None
    assert handovers(page) == []


@pytest.mark.parametrize("holder", ["", "olena", "1e9", str(10**30), "-4", "\x00", "987654"])
def test_a_forged_holder_gets_a_readable_answer(page: Flask, phone: Dial, holder: str) -> None:
    request, _ = held_by_olena(page, phone)
    sofia = sign_in(page, "sofia")

    for action in ("release", "reassign"):
        response = sofia.post(f"/operators/requests/{request.id}/hold/{action}",
                              data={"holder": holder, "to": people(page)["ivan"].id},
                              follow_redirects=True)
        assert response.status_code == 200
        assert "changed hands while the page was open" in response.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by == people(page)["olena"].id


@pytest.mark.parametrize("to", ["", "ivan", str(10**30), "0", "\x00"])
def test_a_forged_choice_of_who_takes_it_gets_a_readable_answer(page: Flask, phone: Dial,
                                                                 to: str) -> None:
    request, _ = held_by_olena(page, phone)

    response = sign_in(page, "sofia").post(
        f"/operators/requests/{request.id}/hold/reassign",
        data={"holder": people(page)["olena"].id, "to": to}, follow_redirects=True)

    assert response.status_code == 200
    assert "Choose who takes it." in response.get_data(as_text=True)
    assert requests_in(page)[0].claimed_by == people(page)["olena"].id


def test_a_request_that_is_not_there_is_not_found(page: Flask) -> None:
    sofia = sign_in(page, "sofia")

    for action in ("release", "reassign"):
        response = sofia.post(f"/operators/requests/424242/hold/{action}",
                              data={"holder": "1", "to": "2"})
        assert response.status_code == 404
        assert "no such request" in response.get_data(as_text=True)


def test_without_the_forms_token_nothing_is_taken(app: Flask, phone: Dial) -> None:
    add_people(app)
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(app)
    with app.app_context():
        olena = db.session.scalars(sa.select(Operator).where(Operator.login == "olena")).one()
        claims.claim(db.session(), staff_of(olena), request.id, datetime.now(UTC), 30)
        db.session.commit()
        olena_id = olena.id

    sofia = app.test_client()
    login_page = sofia.get("/operators/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    sofia.post("/operators/login", data={"login": "sofia", "csrf_token": token,
                                         "password": "correct horse battery staple"})

    response = sofia.post(f"/operators/requests/{request.id}/hold/release",
                          data={"holder": olena_id})

    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert requests_in(app)[0].claimed_by == olena_id


def test_supervisors_reassigning_at_the_same_moment_on_postgresql_leave_one_holder(
        postgres_app: Flask) -> None:
    add_people(postgres_app)
    now = datetime.now(UTC)
    vault = hotline_of(postgres_app).vault
    with postgres_app.app_context():
        team = {person.login: person.id for person in db.session.scalars(sa.select(Operator))}
        db.session.add(CallbackRequest(
            reference="100000", number=vault.encrypt(RUSSIAN_CALLER),
            number_hash=vault.digest(RUSSIAN_CALLER), number_source="caller_id",
            number_confirmed=True, language="ru", reason="chosen", priority=3, status="open",
            may_identify=True, safe_window="any", caller_timezone="Europe/Moscow",
            first_call_sid="CA" + "0" * 32, last_call_sid="CA" + "0" * 32, attempts=1,
            created_at=now, updated_at=now, claimed_by=team["olena"], claimed_at=now))
        db.session.commit()
        request_id = db.session.scalars(sa.select(CallbackRequest.id)).one()
    engine = hotline_of(postgres_app).engine
    start = threading.Barrier(3)
    results: list[str] = []

    def give_to(login: str) -> None:
        with Session(engine) as session:
            sofia = staff_of(session.get_one(Operator, team["sofia"]))
            start.wait()
            try:
                handover.reassign(session, sofia, Actor("sofia", sofia.id), request_id,
                                  team["olena"], team[login], datetime.now(UTC), 30)
                session.commit()
                results.append(login)
            except handover.Refused as refused:
                session.rollback()
                results.append(refused.why)

    def olena_lets_go() -> None:
        with Session(engine) as session:
            olena = staff_of(session.get_one(Operator, team["olena"]))
            start.wait()
            try:
                claims.release(session, olena, request_id, datetime.now(UTC), 30)
                session.commit()
                results.append("released")
            except claims.NotYours:
                session.rollback()
                results.append("not hers")

    threads = [threading.Thread(target=give_to, args=("ivan",)),
               threading.Thread(target=give_to, args=("sofia",)),
               threading.Thread(target=olena_lets_go)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [result for result in results if result in ("ivan", "sofia", "released")]
    assert len(winners) == 1, results
    with postgres_app.app_context():
        holder = db.session.get_one(CallbackRequest, request_id).claimed_by
        assert holder == (team[winners[0]] if winners[0] != "released" else None)
        assert audit.verify(db.session()).intact


def notes_of(app: Flask, request_id: int) -> list[CallbackNote]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CallbackNote).where(
            CallbackNote.request_id == request_id)))
