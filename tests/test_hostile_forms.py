"""Whatever is typed or forged into the operators' page (huge values, control characters,
markup, SQL, numbers in every spelling, ids guessed in URLs), a person gets a readable page or
a redirect, never a 500, and nothing typed comes back as markup."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.twilio.phone_simulator import Phone
from tests.page_support import (
    PASSWORD,
    add_people,
    request_by_call,
    requests_in,
    sign_in,
    without_csrf,
)

INJECTED = "<script>injected()</script>"
hostile_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from([
        "", " ", INJECTED, "<b>bold</b>", "'; DROP TABLE audit_log; --", "\x00\x07\r\n",
        "+380501234567", "8 (916) 123-45-67", "x" * 5000, "../../etc/passwd", "%00", "on",
        "off", "reached", "no_answer", "supervisor", "ru", "en", "-1", "99999999999999999999",
    ]),
)
FORMS: list[tuple[str, tuple[str, ...]]] = [
    ("/operators/requests/{id}/notes", ("notes",)),
    ("/operators/requests/{id}/outcome", ("outcome", "note")),
    ("/operators/requests/{id}/decision", ("decision",)),
    ("/operators/requests/{id}/claim", ()),
    ("/operators/requests/{id}/reveal", ()),
    ("/operators/requests/{id}/release", ()),
    ("/operators/language", ("page_language", "next")),
    ("/operators/password", ("current", "new", "again", "code")),
    ("/operators/team", ("login", "name", "phone", "role", "password")),
    ("/operators/team/{login}/active", ("on",)),
    ("/operators/team/{login}/password", ("password",)),
    ("/operators/duty/{login}", ("on",)),
    ("/operators/surge/{language}", ("on",)),
]
PAGES = ["/operators/", "/operators/queue/rows", "/operators/requests/{id}",
         "/operators/requests/{id}/progress", "/operators/figures", "/operators/audit",
         "/operators/team", "/operators/export.csv", "/operators/alerts",
         "/operators/password", "/operators/callers"]
QUERY_NAMES = ["language", "status", "reason", "page", "next"]


@pytest.fixture
def signed_in(app: Flask, phone: Callable[..., Phone]) -> tuple[FlaskClient, int]:
    without_csrf(app)
    add_people(app, "sofia")
    request_by_call(phone, message=None)
    [request] = requests_in(app)
    return sign_in(app, "sofia"), request.id


def readable(status: int, body: str) -> None:
    assert status in (200, 302, 303, 400, 403, 404, 405, 409, 413, 429), body[:300]
    assert "Traceback" not in body
    assert INJECTED not in body


ids = st.one_of(st.just("{id}"), st.integers(-5, 10**12).map(str))
names = st.one_of(hostile_text.filter(lambda text: "/" not in text and "?" not in text
                                      and "#" not in text and text.strip()),
                  st.sampled_from(["sofia", "nobody", "ru", "de"]))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), request_id=ids, name=names)
def test_hostile_forms_never_crash_the_page_or_inject(
        signed_in: tuple[FlaskClient, int], data: st.DataObject, request_id: str,
        name: str) -> None:
    client, real_id = signed_in
    path, fields = data.draw(st.sampled_from(FORMS))
    form = {field: data.draw(hostile_text) for field in fields}
    url = path.format(id=request_id.format(id=real_id), login=name, language=name)

    response = client.post(url, data=form)

    readable(response.status_code, response.get_data(as_text=True))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), request_id=ids,
       query=st.dictionaries(st.sampled_from(QUERY_NAMES), hostile_text, max_size=4))
def test_hostile_pages_and_filters_never_crash_or_inject(
        signed_in: tuple[FlaskClient, int], data: st.DataObject, request_id: str,
        query: dict[str, str]) -> None:
    client, real_id = signed_in
    path = data.draw(st.sampled_from(PAGES)).format(id=request_id.format(id=real_id))

    response = client.get(path, query_string=query)

    readable(response.status_code, response.get_data(as_text=True))


# Past what a 64-bit id column holds; the database would refuse to compare it.
HUGE_IDS = ["99999999999999999999", "9223372036854775808"]
REQUEST_PATHS = [("GET", "/operators/requests/{id}"), ("GET", "/operators/requests/{id}/progress"),
                 ("GET", "/operators/requests/{id}/recording"),
                 *(("POST", f"/operators/requests/{{id}}/{action}") for action in (
                     "claim", "reveal", "release", "notes", "outcome", "call"))]
ABSURD_NAMES = ["x" * 5000, "%00", "a%00b", "%0D%0ASet-Cookie:x=1", "%07", "%C3%A9" * 300,
                "%F0%9F%98%80", "%FF", "..", "%20"]
NOT_FOUND = "There is no such page, or no such request in your languages."
SUPERVISORS_PATHS = ["/operators/team/{name}/active", "/operators/team/{name}/password",
                     "/operators/duty/{name}", "/operators/surge/{name}"]


@pytest.fixture(params=["sqlite", "postgresql"])
def either_app(request: pytest.FixtureRequest) -> Flask:
    """The app on SQLite, then on PostgreSQL: each refuses what it cannot store its own way."""
    app: Flask = request.getfixturevalue("app" if request.param == "sqlite" else "postgres_app")
    add_people(without_csrf(app), "sofia", "olena")
    return app


def test_a_next_page_with_a_line_break_signs_the_person_in_and_shows_the_queue(
        app: Flask) -> None:
    add_people(without_csrf(app), "olena")
    olena = app.test_client()

    response = olena.post("/operators/login?next=/operators/%0D%0ASet-Cookie:x=1",
                          data={"login": "olena", "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/operators/"
    assert "x=1" not in str(response.headers)
    assert olena.get("/operators/").status_code == 200
    chose = olena.post("/operators/language", data={"page_language": "en",
                                                    "next": "/operators/\r\nSet-Cookie:x=1"})
    assert (chose.status_code, chose.headers["Location"]) == (302, "/operators/")


def test_a_next_page_of_ours_is_still_where_the_person_goes(app: Flask) -> None:
    add_people(without_csrf(app), "olena")

    response = app.test_client().post("/operators/login?next=/operators/%3Fstatus%3Dclaimed",
                                      data={"login": "olena", "password": PASSWORD})

    assert response.headers["Location"] == "/operators/?status=claimed"


def test_a_request_id_past_64_bits_gets_the_not_found_page_on_every_request_path(
        either_app: Flask) -> None:
    sofia = sign_in(either_app, "sofia")
    unknown = sofia.get("/operators/requests/9223372036854775807")
    assert unknown.status_code == 404

    for method, path in REQUEST_PATHS:
        for huge in HUGE_IDS:
            response = sofia.open(path.format(id=huge), method=method,
                                  data={"outcome": "reached"})

            assert response.status_code == 404, (method, path, huge)
            assert NOT_FOUND in response.get_data(as_text=True)
    assert NOT_FOUND in unknown.get_data(as_text=True)  # what an unknown request reads


def test_an_absurd_login_or_language_in_a_supervisors_path_gets_a_readable_answer(
        either_app: Flask) -> None:
    sofia = sign_in(either_app, "sofia")

    for path in SUPERVISORS_PATHS:
        for name in ABSURD_NAMES:
            response = sofia.post(path.format(name=name),
                                  data={"on": "1", "password": "a new password, long enough"},
                                  follow_redirects=True)

            assert response.status_code in (200, 404), (path, name[:20], response.status_code)
            readable(response.status_code, response.get_data(as_text=True))
    assert sofia.get("/operators/team").status_code == 200  # still signed in


def test_a_login_with_a_nul_in_it_is_only_a_wrong_login(either_app: Flask) -> None:
    response = either_app.test_client().post(
        "/operators/login", data={"login": "olena\x00", "password": PASSWORD})

    assert response.status_code == 401
    assert "Wrong login or password." in response.get_data(as_text=True)
