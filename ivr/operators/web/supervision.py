"""What supervisors see and change: the figures, who is on duty, the surge switches, the
team's accounts, the CSV export, the audit log and Twilio's alerts (both read only), and the
callers' numbers flagged for many calls or blocked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from ivr.database import db, page_asked
from ivr.operators import (
    accounts,
    audit,
    audit_reading,
    availability,
    blocking,
    claims,
    export,
    figures,
    handover,
    presence,
)
from ivr.operators.accounts import AccountError, LanguagesRefused
from ivr.operators.web import labels, protect_forms
from ivr.operators.web.context import actor, hotline, languages, minutes, now
from ivr.operators.web.forms import (
    BlockForm,
    ButtonForm,
    DecisionForm,
    FlagForm,
    HandoverForm,
    NewOperatorForm,
    PasswordForm,
    ReassignForm,
    SwitchForm,
)
from ivr.operators.web.login import me, supervisors_only
from ivr.twilio import alerts

bp = Blueprint("supervision", __name__, url_prefix="/operators")
Reply = BaseResponse | tuple[str, int]


bp.before_request(protect_forms)


@bp.route("/figures", endpoint="figures")
@supervisors_only
def figures_page() -> str:
    session, moment = db.session(), now()
    shown = figures.page(session, languages(), moment, hotline().settings.desk_timezone)
    return render_template(
        "operators/figures.html", today=shown.today, week=shown.week,
        channels_today=shown.channels_today,
        chart=figures.chart(shown.days), team=accounts.all_operators(session),
        states=presence.states(session, moment),
        surges=availability.surges(session), languages=languages(), switch=SwitchForm(),
        button=ButtonForm(),
        alerts_last_day=alerts.alerts_since(session, moment - timedelta(days=1)))


@bp.route("/duty/<login>", methods=["POST"])
@supervisors_only
def duty(login: str) -> BaseResponse:
    form = SwitchForm()
    if form.validate_on_submit():
        _change_account(lambda: accounts.switch_duty(db.session(), actor(), now(), login,
                                                     form.on.data == "1"))
    return redirect(url_for("supervision.figures"))


@bp.route("/surge/<language>", methods=["POST"])
@supervisors_only
def surge(language: str) -> BaseResponse:
    form = SwitchForm()
    if language not in languages():
        abort(404)
    if form.validate_on_submit():
        availability.switch_surge(db.session(), actor(), now(), language, form.on.data == "1")
        db.session.commit()
    return redirect(url_for("supervision.figures"))


@bp.route("/export.csv", endpoint="export")
@supervisors_only
def export_csv() -> Response:
    """Every request, without its number."""
    body = export.requests_csv(db.session(), actor(), now(), hotline().settings.desk_timezone)
    db.session.commit()
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={export.FILE_NAME}"})


@bp.route("/team", methods=["GET", "POST"])
@supervisors_only
def team() -> tuple[str, int] | BaseResponse:
    form = NewOperatorForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            added = _change_account(lambda: accounts.add_audited(
                db.session(), hotline().vault, actor(), now(), login=form.login.data or "",
                name=form.name.data or "", phone=form.phone.data or "",
                languages=request.form.getlist("languages"), known_languages=languages(),
                role=form.role.data or "operator", password=form.password.data or ""))
            if added:
                flash(_("Added %(login)s.", login=form.login.data), "info")
                return redirect(url_for("supervision.team"))
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
        _change_account(lambda: accounts.switch_active(db.session(), actor(), now(), login,
                                                       form.on.data == "1"))
    return redirect(url_for("supervision.team"))


@bp.route("/team/<login>/password", methods=["POST"])
@supervisors_only
def password(login: str) -> BaseResponse:
    form = PasswordForm()
    if not form.validate_on_submit():
        flash(_("Give a new password."), "error")
    elif _change_account(lambda: accounts.reset_password(db.session(), actor(), now(), login,
                                                         form.password.data or "")):
        flash(_("The password of %(login)s is changed; they are signed out everywhere.",
                login=login), "info")
    return redirect(url_for("supervision.team"))


@bp.route("/team/<login>/languages", methods=["POST"])
@supervisors_only
def operator_languages(login: str) -> BaseResponse:
    """The languages an operator takes, ticked on the team page."""
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("supervision.team"))
    chosen = request.form.getlist("languages")
    try:
        operator = accounts.change_languages(db.session(), actor(), now(), login, chosen,
                                             languages())
        db.session.commit()
    except LanguagesRefused:
        db.session.rollback()
        flash(_("Tick at least one language; only the menu's languages can be chosen."),
              "error")
    except AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_("%(name)s takes %(languages)s now.", name=operator.name,
                languages=", ".join(labels.language(code) for code in operator.language_codes)),
              "info")
    return redirect(url_for("supervision.team"))


@bp.route("/requests/<int:request_id>/hold/release", methods=["POST"])
@supervisors_only
def release_hold(request_id: int) -> BaseResponse:
    """A supervisor puts a held request back in the queue."""
    form = HandoverForm()
    if not form.validate_on_submit():
        flash(str(HANDOVER_REFUSED["moved"]), "error")
    elif _hand_over(lambda: handover.release(db.session(), me(), actor(), request_id,
                                             form.holder.data or 0, now(), minutes())):
        flash(_("The request is back in the queue."), "info")
    return redirect(url_for("operators.request_page", request_id=request_id))


@bp.route("/requests/<int:request_id>/hold/reassign", methods=["POST"])
@supervisors_only
def reassign_hold(request_id: int) -> BaseResponse:
    """A supervisor gives a held request to another operator who takes its language."""
    form = ReassignForm()
    if not form.validate_on_submit():
        flash(str(HANDOVER_REFUSED["moved"]) if form.holder.errors else _("Choose who takes it."),
              "error")
    elif taker := _hand_over(lambda: handover.reassign(
            db.session(), me(), actor(), request_id, form.holder.data or 0,
            form.to.data or 0, now(), minutes())):
        flash(_("%(name)s holds the request now.", name=taker.name), "info")
    return redirect(url_for("operators.request_page", request_id=request_id))


HANDOVER_REFUSED = {
    "closed": _l("This request is closed already: nothing was changed."),
    "free": _l("Nobody holds this request now (the claim ended or was given up): it is in the "
               "queue. Nothing was changed."),
    "moved": _l("This request changed hands while the page was open: nothing was changed. "
                "Look at who holds it now, then choose again."),
    "ineligible": _l("That person cannot take this request: their account is disabled or they "
                     "do not take its language. Nothing was changed."),
    "same": _l("They hold this request already."),
}

Done = TypeVar("Done")


def _hand_over(change: Callable[[], Done]) -> Done | None:
    """Release or reassign, committed; a refusal says what happened instead (None)."""
    try:
        done = change()
        db.session.commit()
    except claims.NotFound:
        db.session.rollback()
        abort(404)
    except handover.Refused as refused:
        db.session.rollback()
        if refused.why == "not_supervisor":
            abort(403)
        flash(str(HANDOVER_REFUSED[refused.why]), "error")
        return None
    return done


@bp.route("/audit")
@supervisors_only
def audit_log() -> str:
    action = request.args.get("action")
    found = audit_reading.lines(db.session(), page_asked(request.args.get("page")),
                                action if action in audit.ACTIONS else None)
    chain = audit.verify(db.session(), latest=audit.PAGE_CHECKS)
    return render_template("operators/audit.html", found=found, action=action,
                           actions=audit.ACTIONS, chain=chain)


@bp.route("/alerts")
@supervisors_only
def twilio_alerts() -> str:
    """What Twilio's Debugger told us, newest first (numbers were masked before storing)."""
    found = alerts.alerts_page(db.session(), page_asked(request.args.get("page")))
    return render_template("operators/alerts.html", found=found)


@bp.route("/callers", endpoint="callers")
@supervisors_only
def callers_page() -> str:
    """Numbers that called many times in a short while, for a decision; blocks in force."""
    settings, moment = hotline().settings, now()
    return render_template(
        "operators/callers.html", button=ButtonForm(), block_form=BlockForm(),
        days=blocking.BLOCK_DAYS, threshold=settings.flag_calls_from_one_number,
        window=settings.flag_window_minutes,
        flags=blocking.flags(db.session(), hotline().vault, moment,
                             settings.flag_calls_from_one_number,
                             timedelta(minutes=settings.flag_window_minutes)),
        blocks=blocking.blocks_in_force(db.session(), moment))


@bp.route("/callers/block", methods=["POST"])
@supervisors_only
def block_flagged() -> BaseResponse:
    form = BlockForm()
    if form.validate_on_submit():
        _change_blocks(lambda: blocking.block(
            db.session(), actor(), now(), *blocking.flagged(hotline().vault, form.flag.data or ""),
            int(form.days.data or 0), form.reason.data or ""))
    else:
        flash(_("Give a reason and how long."), "error")
    return redirect(url_for("supervision.callers"))


@bp.route("/callers/dismiss", methods=["POST"])
@supervisors_only
def dismiss_flag() -> BaseResponse:
    form = FlagForm()
    if form.validate_on_submit():
        _change_blocks(lambda: blocking.dismiss(
            db.session(), actor(), now(), *blocking.flagged(hotline().vault, form.flag.data or "")))
    return redirect(url_for("supervision.callers"))


@bp.route("/requests/<int:request_id>/block", methods=["POST"])
@supervisors_only
def block_request_caller(request_id: int) -> BaseResponse:
    form = BlockForm()
    if form.validate_on_submit():
        _change_blocks(lambda: blocking.block_request_caller(
            db.session(), hotline().vault, actor(), now(), request_id,
            int(form.days.data or 0), form.reason.data or ""))
    else:
        flash(_("Give a reason and how long."), "error")
    return redirect(url_for("operators.request_page", request_id=request_id))


@bp.route("/requests/<int:request_id>/decision", methods=["POST"])
@supervisors_only
def decision(request_id: int) -> Reply:
    """After the last try without an answer: try again, or close the request."""
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("Choose what to do with the request."), "error")
        return redirect(url_for("operators.request_page", request_id=request_id))
    try:
        decided = claims.decide(db.session(), me(), request_id, str(form.decision.data), now(),
                                request.remote_addr)
    except claims.NotFound:
        return render_template("operators/error.html", code=404), 404
    except claims.NoDecisionAwaited:
        db.session.rollback()
        flash(_("This request does not wait for a decision (any more)."), "error")
        return redirect(url_for("operators.request_page", request_id=request_id))
    db.session.commit()
    flash(_("It will be tried again: it is due now.") if decided.status == "open"
          else _("The request is closed."), "info")
    return redirect(url_for("operators.request_page", request_id=request_id))


@bp.route("/blocks/<int:block_id>/unblock", methods=["POST"])
@supervisors_only
def unblock(block_id: int) -> BaseResponse:
    if ButtonForm().validate_on_submit():
        _change_blocks(lambda: blocking.unblock(db.session(), actor(), now(), block_id))
    return redirect(url_for("supervision.callers"))


def _change_blocks(change: Callable[[], object]) -> None:
    """Block, unblock or let be, committed; this process reads the blocks again at once."""
    try:
        change()
        db.session.commit()
    except blocking.BlockError as error:
        db.session.rollback()
        flash(_(str(error)), "error")
        return
    hotline().blocks.forget()
    flash(_("Done."), "info")


def _change_account(change: Callable[[], object]) -> bool:
    """Carry out an account change and commit it; a refusal is flashed, and nothing kept."""
    try:
        change()
        db.session.commit()
    except AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
        return False
    return True
