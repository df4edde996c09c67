"""Sofia reads the audit log as sentences: the request's number as the caller was told it
(linked to its page), who did it (a person, or an engineer at the command line), what they
did in words, and when, on the desk's clock; never our internal ids, stored codes or a
caller's number."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.database import db
from ivr.models import AuditEntry, Operator
from ivr.operators import audit, audit_reading
from ivr.operators.audit_reading import Said
from ivr.twilio.phone_simulator import Phone
from tests.page_support import (
    RUSSIAN_CALLER,
    request_by_call,
    requests_in,
    sign_in,
    stop_clock,
)

Dial = Callable[..., Phone]
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 14:00 in Kyiv


COLUMNS = ("When", "Who", "What", "Request", "Address")


def rows(html: str) -> list[dict[str, str]]:
    """The audit table's rows, each cell's text by its column (named in English)."""
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [dict(zip(COLUMNS, [re.sub(r"<[^>]+>", "", cell).strip() for cell in
                               re.findall(r"<td data-label=[^>]*>(.*?)</td>", row, re.S)],
                     strict=True))
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def a_busy_day(page: Flask, phone: Dial, runner: FlaskCliRunner) -> int:
    """Olena tries a Russian caller (no answer), claims them again; Sofia gives the request
    to Ivan, turns the Russian surge on and blocks the caller, with the number in her
    reason; Alice, an engineer, puts Ivan on duty from the command line."""
    stop_clock(page, NOON)
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(page)
    olena, sofia = sign_in(page, "olena"), sign_in(page, "sofia")
    olena.post(f"/operators/requests/{request.id}/claim")
    olena.post(f"/operators/requests/{request.id}/outcome", data={"outcome": "no_answer"})
    olena.post(f"/operators/requests/{request.id}/claim")
    with page.app_context():
        team = {person.login: person.id for person in db.session.scalars(sa.select(Operator))}
    sofia.post(f"/operators/requests/{request.id}/hold/reassign",
               data={"holder": team["olena"], "to": team["ivan"]})
    sofia.post("/operators/surge/ru", data={"on": "1"})
    sofia.post(f"/operators/requests/{request.id}/block",
               data={"days": "7", "reason": f"calls from {RUSSIAN_CALLER} every minute"})
    assert runner.invoke(args=["operators", "duty", "ivan", "on"]).exit_code == 0
    return request.id


def test_the_audit_page_reads_as_sentences_with_the_callers_reference(
        page: Flask, phone: Dial, runner: FlaskCliRunner, engineer: str) -> None:
    request_id = a_busy_day(page, phone, runner)
    [request] = requests_in(page)

    html = sign_in(page, "sofia").get("/operators/audit").get_data(as_text=True)

    said = [(row["Who"], row["What"], row["Request"]) for row in rows(html)]
    reference = f"#{request.reference}"
    assert ("olena", "recorded an outcome: no answer", reference) in said
    assert ("sofia", "reassigned: from olena to ivan", reference) in said
    assert ("sofia", "surge switch: Russian: on", "") in said
    assert ("alice at the command line", "duty: ivan on duty", "") in said
    assert ("olena", "claimed", reference) in said
    [block] = [what for _, what, _ in said if what.startswith("block a number")]
    assert block.startswith("block a number: +7 916 •••-••-67 for 7 days: calls from +")
    assert f'href="/operators/requests/{request_id}">{reference}</a>' in html


def test_no_internal_id_code_or_number_is_shown(
        page: Flask, phone: Dial, runner: FlaskCliRunner, engineer: str) -> None:
    a_busy_day(page, phone, runner)

    html = sign_in(page, "sofia").get("/operators/audit").get_data(as_text=True)

    text = " ".join(" ".join(row.values()) for row in rows(html))
    for code in ("no_answer", "ru on", "block 1 ", "cli:alice", "outcome "):
        assert code not in text
    assert all(row["Request"] == "" or re.fullmatch(r"#\d{6}", row["Request"])
               for row in rows(html))
    digits = RUSSIAN_CALLER.lstrip("+")
    assert digits not in html and digits[-7:] not in html and "1234567" not in html
    with page.app_context():
        details = db.session.scalars(sa.select(AuditEntry.detail)).all()
    assert not any(detail and "1234567" in detail for detail in details)


def test_times_are_on_the_desks_clock(page: Flask, phone: Dial, runner: FlaskCliRunner,
                                      engineer: str) -> None:
    a_busy_day(page, phone, runner)

    html = sign_in(page, "sofia").get("/operators/audit").get_data(as_text=True)

    whens = {row["When"] for row in rows(html)}
    assert "2026-11-25 14:00:00" in whens and not any("12:00:00" in when for when in whens)
    assert "UTC" not in html.split("<table")[1]


def test_the_filter_by_action_still_works(page: Flask, phone: Dial, runner: FlaskCliRunner,
                                          engineer: str) -> None:
    a_busy_day(page, phone, runner)
    sofia = sign_in(page, "sofia")

    reassigns = rows(sofia.get("/operators/audit?action=reassign").get_data(as_text=True))
    everything = sofia.get("/operators/audit?action=nonsense").get_data(as_text=True)

    assert [row["What"] for row in reassigns] == ["reassigned: from olena to ivan"]
    assert '<option value="reassign" selected>reassigned</option>' in sofia.get(
        "/operators/audit?action=reassign").get_data(as_text=True)
    assert len(rows(everything)) > 5


def test_in_russian_the_page_says_it_in_russian(page: Flask, phone: Dial,
                                                runner: FlaskCliRunner, engineer: str) -> None:
    a_busy_day(page, phone, runner)
    sofia = sign_in(page, "sofia")
    sofia.post("/operators/language", data={"page_language": "ru"})

    said = [row["What"] for row in rows(sofia.get("/operators/audit").get_data(as_text=True))]

    assert "записал(а) итог: нет ответа" in said
    assert "переназначил(а): от olena к ivan" in said
    assert "режим перегрузки: Русский: вкл." in said
    assert "дежурство: ivan на дежурстве" in said


def test_presence_pauses_and_decisions_read_as_words(page: Flask) -> None:
    with page.app_context():
        for action, detail in (("presence", "signed_off -> break"),
                               ("paused", "olena after 2 missed calls"),
                               ("decision", "retry"), ("outcome", "no_answer: busy")):
            audit.record(db.session(), NOON, action, login="sofia", detail=detail)
        db.session.commit()

    said = [row["What"] for row in rows(sign_in(page, "sofia").get("/operators/audit")
                                        .get_data(as_text=True))]

    assert "presence: Signed off → On a break" in said
    assert "paused after missed calls: olena, after 2 missed calls in a row" in said
    assert "decided after the last try: try again: a new round of tries" in said
    assert "recorded an outcome: no answer (the call back: busy)" in said
    assert not any("->" in line or "no_answer" in line or "_" in line for line in said)


def test_an_operator_cannot_read_the_audit_log(page: Flask) -> None:
    response = sign_in(page, "olena").get("/operators/audit")

    assert response.status_code == 403


@pytest.mark.parametrize(("action", "detail", "expected"), [
    ("outcome", "no_answer", Said("outcome", {"outcome": "no_answer"})),
    ("outcome", "closed: trial call CA" + "0" * 32, Said("closed_trial_call")),
    ("duty", "olena off", Said("duty_off", {"login": "olena"})),
    ("surge", "uk on", Said("surge_on", {"language": "uk"})),
    ("account", "reset the password of ivan", Said("account_password", {"login": "ivan"})),
    ("login_failed", "wrong second factor", Said("failed_code")),
    ("unblock", "unblock 12 +7 916 ••• ••67", Said("number", {"number": "+7 916 ••• ••67"})),
    ("languages", "ivan ru,uk (was ru)",
     Said("languages", {"login": "ivan", "languages": "ru,uk", "before": "ru"})),
    ("release", "from olena", Said("release_from", {"login": "olena"})),
    ("outcome", "no_answer: busy", Said("no_answer_status", {"status": "busy"})),
    ("presence", "signed_off -> available",
     Said("presence", {"before": "signed_off", "after": "available"})),
    ("presence", "ready (wrap-up ended)", Said("presence_ready")),
    ("paused", "olena after 2 missed calls", Said("paused", {"login": "olena", "missed": "2"})),
    ("decision", "retry", Said("decision_retry")),
    ("decision", "wrong_number", Said("outcome", {"outcome": "wrong_number"})),
    ("export", "something new", Said("as_written", {"text": "something new"})),
    ("notes", None, None),
])
def test_each_detail_the_code_writes_is_taken_apart(action: str, detail: str | None,
                                                    expected: Said | None) -> None:
    assert audit_reading.said(action, detail) == expected


def test_a_number_in_an_old_entry_is_masked_on_the_page(page: Flask) -> None:
    """Written before details were masked (straight into the table, as an old version
    might have)."""
    with page.app_context():
        audit.record(db.session(), NOON, "dismiss_flag", login="sofia", detail="dismiss x")
        db.session.execute(sa.update(AuditEntry).values(detail="called +79161234567 twice"))
        db.session.commit()

    html = sign_in(page, "sofia").get("/operators/audit").get_data(as_text=True)

    assert "79161234567" not in html and "1234567" not in html
    assert any("called +" in row["What"] and "67 twice" in row["What"] for row in rows(html))


def test_a_login_typed_at_sign_in_is_never_taken_for_an_engineer_or_shown_as_a_number(
        page: Flask) -> None:
    client = page.test_client()
    for typed in ("cli:root", "+79161234567"):
        client.post("/operators/login", data={"login": typed, "password": "a guess"})

    html = sign_in(page, "sofia").get("/operators/audit").get_data(as_text=True)

    who = [row["Who"] for row in rows(html)]
    assert "cli:root" in who and "root at the command line" not in html
    assert "79161234567" not in html and "1234567" not in html


def test_an_engineer_whose_user_was_not_known_is_shown_so() -> None:
    assert audit_reading.engineer("cli:unknown") == ""
    assert audit_reading.engineer("cli") == ""
    assert audit_reading.engineer("cli:alice") == "alice"
    assert audit_reading.engineer("olena") is None
