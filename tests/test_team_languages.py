"""Sofia, a supervisor, changes the languages Ivan takes on the team page: he sees and is
rung for those from now on, a claim he held in a language he no longer takes goes back to
the queue, and the change is in the audit log. Nobody else can do it, and nonsense is
refused with a reason."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask

from ivr.database import db
from ivr.models import AuditEntry, Operator
from ivr.operators import presence
from ivr.twilio.phone_simulator import Phone
from tests.page_support import (
    RUSSIAN_CALLER,
    UKRAINIAN_CALLER,
    add_people,
    request_by_call,
    requests_in,
    sign_in,
)

Dial = Callable[..., Phone]


def languages_of(app: Flask, login: str) -> tuple[str, ...]:
    with app.app_context():
        return db.session.scalars(sa.select(Operator).where(Operator.login == login)).one() \
            .language_codes


def language_changes(app: Flask) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(entry.login, entry.detail) for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "languages"))]


def test_the_team_page_ticks_each_persons_languages(page: Flask) -> None:
    html = sign_in(page, "sofia").get("/operators/team").get_data(as_text=True)

    ivans = html.split('id="languages-ivan"')[1].split("</form>")[0]
    assert 'value="ru" checked' in ivans
    assert 'value="uk" >' in ivans and 'value="en" >' in ivans
    assert "Russian" in ivans and "Ukrainian" in ivans and "English" in ivans


def test_sofia_gives_ivan_ukrainian_and_he_sees_ukrainian_callers_at_once(
        page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=UKRAINIAN_CALLER, language="uk")
    ivan = sign_in(page, "ivan")
    assert "+380 50 ••• ••67" not in ivan.get("/operators/").get_data(as_text=True)

    done = sign_in(page, "sofia").post("/operators/team/ivan/languages",
                                       data={"languages": ["ru", "uk"]}, follow_redirects=True)

    assert "Ivan P takes Russian, Ukrainian now." in done.get_data(as_text=True)
    assert languages_of(page, "ivan") == ("ru", "uk")
    assert language_changes(page) == [("sofia", "ivan ru,uk (was ru)")]
    assert "+380 50 ••• ••67" in ivan.get("/operators/").get_data(as_text=True)
    with page.app_context():
        db.session.execute(sa.update(Operator).values(on_duty=True, presence="available"))
        db.session.commit()
        assert "ivan" in [person.login for person in presence.staffed(db.session(), "uk")]


def test_a_claim_in_a_language_ivan_no_longer_takes_goes_back_to_the_queue(
        page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(page)
    ivan = sign_in(page, "ivan")
    ivan.post(f"/operators/requests/{request.id}/claim")

    sign_in(page, "sofia").post("/operators/team/ivan/languages", data={"languages": ["en"]})

    assert requests_in(page)[0].claimed_by is None
    with page.app_context():
        released = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "release")).one()
    assert (released.login, released.request_id, released.detail) == (
        "sofia", request.id, "from ivan")
    assert ivan.get(f"/operators/requests/{request.id}").status_code == 404


@pytest.mark.parametrize("chosen", [[], ["de"], ["ru", "xx"], ["ru\x00"], ["r" * 500]])
def test_no_language_or_an_unknown_one_is_refused_with_a_reason(
        page: Flask, chosen: list[str]) -> None:
    response = sign_in(page, "sofia").post("/operators/team/ivan/languages",
                                           data={"languages": chosen}, follow_redirects=True)

    assert response.status_code == 200
    assert "Tick at least one language; only the menu&#39;s languages can be chosen." in \
        response.get_data(as_text=True)
    assert languages_of(page, "ivan") == ("ru",)
    assert language_changes(page) == []


def test_an_unknown_person_is_named_in_the_refusal(page: Flask) -> None:
    response = sign_in(page, "sofia").post("/operators/team/nobody/languages",
                                           data={"languages": ["ru"]}, follow_redirects=True)

    assert "no operator with login &#39;nobody&#39;" in response.get_data(as_text=True)
    assert language_changes(page) == []


def test_an_operator_cannot_change_anyones_languages(page: Flask) -> None:
    olena = sign_in(page, "olena")

    for login in ("ivan", "olena"):
        response = olena.post(f"/operators/team/{login}/languages", data={"languages": ["en"]})
        assert response.status_code == 403
        assert "This page is for supervisors." in response.get_data(as_text=True)
    assert languages_of(page, "olena") == ("uk", "ru")


def test_without_the_forms_token_languages_stay_as_they_are(app: Flask) -> None:
    add_people(app)
    sofia = app.test_client()
    login_page = sofia.get("/operators/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    sofia.post("/operators/login", data={"login": "sofia", "csrf_token": token,
                                         "password": "correct horse battery staple"})

    response = sofia.post("/operators/team/ivan/languages", data={"languages": ["en"]})

    assert response.status_code == 400
    assert languages_of(app, "ivan") == ("ru",)
