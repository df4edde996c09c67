"""What supervisors see and change: the figures, who is on duty, the surge switches, the
team's accounts, the CSV export and the audit log (read only)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import TypeVar, cast

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from ivr.extensions import db
from ivr.models import CallbackRequest
from ivr.operators import accounts, desk
from ivr.operators.accounts import AccountError
from ivr.operators.web import audit, protect_forms, stats
from ivr.operators.web.forms import ButtonForm, NewOperatorForm, PasswordForm, SwitchForm
from ivr.operators.web.staff import signed_in
from ivr.operators.web.views import hotline, languages, me, now

bp = Blueprint("supervision", __name__, url_prefix="/operators")
View = TypeVar("View", bound=Callable[..., object])
EXPORT_COLUMNS = ("reference", "language", "reason", "priority", "status", "outcome",
                  "created_at", "updated_at", "closed_at", "calls_from_them",
                  "callback_attempts", "may_identify", "safe_window", "has_message")


bp.before_request(protect_forms)


def supervisors_only(view: View) -> View:
    @wraps(view)
    @signed_in
    def guarded(*args: object, **kwargs: object) -> object:
        if not me().supervisor:
            abort(403)
        return view(*args, **kwargs)

    return cast(View, guarded)


@bp.route("/figures")
@supervisors_only
def figures() -> str:
    session, moment = db.session(), now()
    today = stats.start_of_day(moment)
    days = stats.by_day(session, languages(), moment)
    return render_template(
        "operators/figures.html",
        today=stats.figures(session, languages(), today, moment + timedelta(seconds=1)),
        week=stats.figures(session, languages(), today - timedelta(days=stats.DAYS - 1),
                           moment + timedelta(seconds=1)),
        chart=stats.chart(days), team=accounts.all_operators(session),
        surges=desk.surges(session), languages=languages(), switch=SwitchForm(),
        button=ButtonForm())


@bp.route("/duty/<login>", methods=["POST"])
@supervisors_only
def duty(login: str) -> BaseResponse:
    form = SwitchForm()
    if form.validate_on_submit():
        try:
            accounts.set_duty(db.session(), login, form.on.data == "1")
            _audit("duty", f"{login} {'on' if form.on.data == '1' else 'off'}")
            db.session.commit()
        except AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
    return redirect(url_for("supervision.figures"))


@bp.route("/surge/<language>", methods=["POST"])
@supervisors_only
def surge(language: str) -> BaseResponse:
    form = SwitchForm()
    if language not in languages():
        abort(404)
    if form.validate_on_submit():
        desk.set_surge(db.session(), language, form.on.data == "1", by=me().login)
        _audit("surge", f"{language} {'on' if form.on.data == '1' else 'off'}")
        db.session.commit()
    return redirect(url_for("supervision.figures"))


@bp.route("/export.csv")
@supervisors_only
def export() -> Response:
    """Every request, without its number."""
    _audit("export", "requests.csv")
    db.session.commit()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    rows = db.session.scalars(sa.select(CallbackRequest).order_by(CallbackRequest.id)
                              .execution_options(yield_per=1000))
    for row in rows:
        writer.writerow(_csv_row(row))
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=callback-requests.csv"})


def _csv_row(row: CallbackRequest) -> list[object]:
    return [row.reference, row.language, row.reason, row.priority, row.status,
            row.outcome or "", row.created_at.isoformat(), row.updated_at.isoformat(),
            row.closed_at.isoformat() if row.closed_at else "", row.attempts,
            row.callback_attempts, row.may_identify, row.safe_window or "",
            row.recording_sid is not None]


@bp.route("/team", methods=["GET", "POST"])
@supervisors_only
def team() -> tuple[str, int] | BaseResponse:
    form = NewOperatorForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                operator = accounts.add_operator(
                    db.session(), hotline().vault, login=form.login.data or "",
                    name=form.name.data or "", phone=form.phone.data or "",
                    languages=request.form.getlist("languages"), known_languages=languages(),
                    role=form.role.data or "operator", password=form.password.data or "")
                _audit("account", f"added {operator.login}")
                db.session.commit()
                flash(_("Added %(login)s.", login=operator.login), "info")
                return redirect(url_for("supervision.team"))
            except AccountError as error:
                db.session.rollback()
                flash(str(error), "error")
        else:
            flash(_("Fill in every field."), "error")
        status = 400
    return render_template("operators/team.html", form=form, languages=languages(),
                           chosen=request.form.getlist("languages"),
                           team=accounts.all_operators(db.session()), switch=SwitchForm(),
                           password=PasswordForm(), vault=hotline().vault), status


@bp.route("/team/<login>/active", methods=["POST"])
@supervisors_only
def active(login: str) -> BaseResponse:
    form = SwitchForm()
    if form.validate_on_submit():
        try:
            accounts.set_active(db.session(), login, form.on.data == "1")
            _audit("account", f"{'enabled' if form.on.data == '1' else 'disabled'} {login}")
            db.session.commit()
        except AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
    return redirect(url_for("supervision.team"))


@bp.route("/team/<login>/password", methods=["POST"])
@supervisors_only
def password(login: str) -> BaseResponse:
    form = PasswordForm()
    try:
        if not form.validate_on_submit():
            raise AccountError(_("Give a new password."))
        accounts.set_password(db.session(), login, form.password.data or "")
        _audit("account", f"reset the password of {login}")
        db.session.commit()
        flash(_("The password of %(login)s is changed; they are signed out everywhere.",
                login=login), "info")
    except AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("supervision.team"))


@bp.route("/audit")
@supervisors_only
def audit_log() -> str:
    action = request.args.get("action")
    page = request.args.get("page", "1")
    found = audit.entries(db.session(), int(page) if page.isdigit() and len(page) < 7 else 1,
                          action if action in audit.ACTIONS else None)
    return render_template("operators/audit.html", found=found, action=action,
                           actions=audit.ACTIONS)


def _audit(action: str, detail: str) -> None:
    audit.record(db.session(), now(), action, login=me().login, operator_id=me().id,
                 detail=detail, address=request.remote_addr)
