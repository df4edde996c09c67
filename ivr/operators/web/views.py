"""The operators' page: sign-in, the queue and one request. Thin: each view reads the
request, calls a plain function of the desk (claims, call_back, work_queue, sign_in) and
renders a template."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from ivr.database import db
from ivr.models import CallbackRequest, Operator
from ivr.operators import (
    accounts,
    call_back,
    claims,
    desk_time,
    handover,
    own_password,
    presence,
    second_factor,
    sign_in,
)
from ivr.operators.blocking import BLOCK_DAYS
from ivr.operators.caller_display import LocalTime, local_time, masked, waited
from ivr.operators.identity import Staff, staff_of
from ivr.operators.request_view import view_of
from ivr.operators.web import PAGE_LANGUAGES, labels, protect_forms
from ivr.operators.web import page_language as page_language_code
from ivr.operators.web.context import actor, hotline, languages, minutes, now
from ivr.operators.web.forms import (
    ButtonForm,
    CodeForm,
    LanguageForm,
    NotesForm,
    OutcomeForm,
    OwnPasswordForm,
    SignInForm,
)
from ivr.operators.web.login import PageUser, me, pending, signed_in
from ivr.operators.web.qr_code import qr_svg
from ivr.operators.work_queue import Filters, channel_of, page_of
from ivr.twilio.rest_api import TwilioApiError
from ivr.twilio.webhook_request import public_root

bp = Blueprint("operators", __name__, url_prefix="/operators", template_folder="templates",
               static_folder="static")
Reply = str | BaseResponse | tuple[str, int]


bp.before_request(protect_forms)


@bp.errorhandler(claims.NotFound)
def _not_found(_error: claims.NotFound) -> tuple[str, int]:
    return render_template("operators/error.html", code=404), 404


@bp.errorhandler(claims.NotYours)
def _not_yours(_error: claims.NotYours) -> BaseResponse:
    db.session.rollback()
    flash(_("This request is not yours now: someone else claimed it, your claim lapsed, "
            "or it was closed."), "error")
    return redirect(url_for("operators.request_page",
                            request_id=request.view_args.get("request_id", 0)
                            if request.view_args else 0))


@bp.app_template_filter("desk_time")
def _desk_time(at: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """`{{ entry.at|desk_time }}`: a stored UTC time as the desk reads it (DESK_TIMEZONE)."""
    return desk_time.shown(at, hotline().settings.desk_timezone, pattern)


@bp.app_context_processor
def _page_words() -> dict[str, object]:
    return {"labels": labels, "page_language": page_language_code(), "my_presence": _my_presence,
            "masked_of": _masked_of, "local_of": _local_of, "waited_of": _waited_of,
            "waited_since": _waited_since, "channel_of": channel_of,
            "masked_phone": _masked_phone, "safety_words": labels.safety_words}


def _my_presence() -> presence.Mine:
    """The signed-in person's presence, for the header of every page."""
    return presence.mine(db.session(), me().id, now())


def _masked_phone(operator: Operator) -> str:
    return masked(hotline().vault.decrypt(operator.phone_number))


def _masked_of(row: CallbackRequest) -> str:
    return masked(hotline().vault.decrypt(row.number))


def _local_of(row: CallbackRequest) -> LocalTime:
    return local_time(row.caller_timezone, row.safe_window, now(), row.caller_utc_offset)


def _waited_of(row: CallbackRequest) -> tuple[int, int, int]:
    return waited(row.created_at, now())


def _waited_since(at: datetime) -> tuple[int, int, int]:
    return waited(at, now())


@bp.route("/login", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> Reply:
    if request.args.get("lang") in PAGE_LANGUAGES:
        session["page_language"] = request.args["lang"]
    if current_user.is_authenticated:
        return redirect(url_for("operators.queue"))
    form = SignInForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("operators/login.html", form=form), status
    outcome = sign_in.sign_in(db.session(), form.login.data or "", form.password.data or "",
                              request.remote_addr, now())
    db.session.commit()
    if isinstance(outcome, sign_in.Refused):
        message = (_("Too many failed attempts. Wait 15 minutes, then try again.")
                   if outcome.reason == "locked" else _("Wrong login or password."))
        flash(message, "error")
        return render_template("operators/login.html", form=form), (
            429 if outcome.reason == "locked" else 401)
    target = _safe_next(request.args.get("next"))
    operator = db.session.get_one(Operator, outcome.id)
    if second_factor.enrolled(operator) or hotline().settings.operators_2fa == "required":
        # Signed in only once the second factor is given (or enrolled): until then the
        # session names who is halfway, and nothing else on the page opens.
        session.clear()
        session["halfway"] = f"{outcome.id}:{outcome.token}"
        session["next"] = target
        return redirect(url_for("operators.second_factor"))
    _signed_in(outcome, checked_at=None)
    return redirect(target)


def _signed_in(staff: Staff, checked_at: datetime | None) -> None:
    session.clear()  # a new session for the signed-in person (no fixation)
    session.permanent = True
    login_user(PageUser.of(staff))
    if checked_at is not None:
        session["second_factor_at"] = checked_at.isoformat()


def _refused(outcome: sign_in.Refused) -> None:
    flash(_("Too many failed attempts. Wait 15 minutes, then try again.")
          if outcome.reason == "locked" else _("Wrong code."), "error")


@bp.route("/second-factor", methods=["GET", "POST"], endpoint="second_factor")
def second_factor_page() -> Reply:
    """After the password: a code from the app, or a recovery code."""
    operator = pending(db.session(), session.get("halfway"))
    if operator is None:
        return redirect(url_for("operators.sign_in"))
    if not second_factor.enrolled(operator):
        return redirect(url_for("operators.enrol"))
    form = CodeForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("operators/second_factor.html", form=form,
                               action=url_for("operators.second_factor")), status
    outcome = second_factor.check(db.session(), hotline().vault, operator, form.code.data or "",
                                  request.remote_addr, now())
    db.session.commit()
    if isinstance(outcome, sign_in.Refused):
        _refused(outcome)
        return render_template("operators/second_factor.html", form=CodeForm(formdata=None),
                               action=url_for("operators.second_factor")), (
            429 if outcome.reason == "locked" else 401)
    target = _safe_next(session.get("next"))
    _signed_in(outcome, checked_at=now())
    return redirect(target)


@bp.route("/enrol", methods=["GET", "POST"])
def enrol() -> Reply:
    """The first sign-in with a second factor: the app scans a QR code, a code from it
    proves it, and the person is shown their recovery codes once."""
    operator = pending(db.session(), session.get("halfway"))
    if operator is None:
        return redirect(url_for("operators.sign_in"))
    if second_factor.enrolled(operator):
        return redirect(url_for("operators.second_factor"))
    vault = hotline().vault
    secret = vault.unseal(session.get("enrolling", "")) or second_factor.new_secret()
    session["enrolling"] = vault.seal(secret)  # the cookie is signed, not secret: sealed
    form = CodeForm()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        outcome = second_factor.enrol(db.session(), vault, operator, secret,
                                      form.code.data or "", request.remote_addr, now())
        db.session.commit()
        if isinstance(outcome, second_factor.Enrolled):
            staff = staff_of(operator)
            _signed_in(staff, checked_at=now())
            return render_template("operators/recovery_codes.html",
                                   codes=outcome.recovery_codes)
        _refused(outcome)
        form = CodeForm(formdata=None)
        status = 429 if outcome.reason == "locked" else 401
    uri = second_factor.provisioning_uri(secret, operator.login)
    return render_template("operators/enrol.html", form=form, secret=secret,
                           qr=qr_svg(uri)), status


def _safe_next(target: str | None) -> str:
    """A page of ours to go on to, or the queue. Nothing but printable ASCII: a line break
    would end the Location header (Werkzeug refuses it), a space or a control character has
    no place in a path we made."""
    if (target and target.startswith("/operators/") and "//" not in target
            and "\\" not in target and all("!" <= character <= "~" for character in target)):
        return target
    return url_for("operators.queue")


@bp.route("/logout", methods=["POST"])
@signed_in
def sign_out() -> BaseResponse:
    sign_in.sign_out(db.session(), me(), now())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("operators.sign_in"))


@bp.route("/presence", methods=["POST"])
@signed_in
def set_presence() -> Reply:
    """Available, on a break or signed off; "ready" (available) ends a wrap-up early."""
    try:
        presence.choose(db.session(), actor(), me().id, request.form.get("presence", ""), now())
    except presence.BadPresence:
        db.session.rollback()
        return render_template("operators/error.html", code=400), 400
    db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/password", methods=["GET", "POST"], endpoint="own_password")
@signed_in
def own_password_page() -> Reply:
    """A person changes their own password; their other sessions end."""
    form = OwnPasswordForm()
    asks_code = second_factor.enrolled(db.session.get_one(Operator, me().id))
    if not form.validate_on_submit():
        if request.method == "POST":
            flash(_("Fill in every field."), "error")
        return render_template("operators/password.html", form=form, asks_code=asks_code), (
            400 if request.method == "POST" else 200)
    outcome = own_password.change(
        db.session(), hotline().vault, me().id, current=form.current.data or "",
        new=form.new.data or "", again=form.again.data or "", code=form.code.data or "",
        address=request.remote_addr, now=now())
    db.session.commit()
    if isinstance(outcome, own_password.Refused):
        flash(labels.password_refused(outcome.reason), "error")
        return render_template("operators/password.html", form=OwnPasswordForm(formdata=None),
                               asks_code=asks_code), (
            429 if outcome.reason == "locked" else 400)
    _signed_in(outcome, checked_at=now() if asks_code else None)
    flash(_("Your password is changed. You are signed out everywhere else."), "info")
    return redirect(url_for("operators.queue"))


@bp.route("/language", methods=["POST"])
@signed_in
def page_language() -> BaseResponse:
    form = LanguageForm()
    if form.validate_on_submit():
        accounts.set_page_language(db.session(), me().id, form.page_language.data or "en")
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


def _queue_context() -> dict[str, object]:
    visible = me().visible_languages(languages())
    filters = Filters.read(request.args, visible)
    page = page_of(db.session(), me().id, visible, filters, now(), minutes())
    return {"page": page, "filters": filters, "visible": visible, "now": now(),
            "vault": hotline().vault, "button": ButtonForm()}


@bp.route("/")
@signed_in
def queue() -> str:
    return render_template("operators/queue.html", **_queue_context())


@bp.route("/queue/rows")
@signed_in
def queue_rows() -> str:
    """The queue's rows and counts alone: the page fetches them every few seconds."""
    return render_template("operators/_queue_rows.html", **_queue_context())


@bp.route("/requests/<int:request_id>/claim", methods=["POST"])
@signed_in
def claim(request_id: int) -> BaseResponse:
    result = claims.claim(db.session(), me(), request_id, now(), minutes())
    db.session.commit()
    if result == "taken":
        flash(_("Someone else claimed this request a moment ago. Choose another one."), "error")
        return redirect(url_for("operators.queue"))
    if result == "closed":
        flash(_("This request is closed already: nobody needs to call."), "info")
    if result == "decision":
        flash(_("This request was tried as many times as we try: a supervisor decides now."),
              "info")
    return redirect(url_for("operators.request_page", request_id=request_id))


def _request_page(request_id: int, revealed: bool = False, status: int = 200) -> tuple[str, int]:
    request_row = claims.visible(db.session(), me(), request_id)
    details = view_of(db.session(), hotline().vault, me(), request_row, now(), minutes(),
                      revealed=revealed, settings=hotline().settings)
    return render_template("operators/request.html", view=details, notes=NotesForm(),
                           outcome=OutcomeForm(), button=ButtonForm(), now=now(),
                           block_days=BLOCK_DAYS,
                           holding=handover.holding(db.session(), request_row, now(), minutes())
                           if me().supervisor else None), status


@bp.route("/requests/<int:request_id>")
@signed_in
def request_page(request_id: int) -> tuple[str, int]:
    return _request_page(request_id)


@bp.route("/requests/<int:request_id>/reveal", methods=["POST"])
@signed_in
def reveal(request_id: int) -> tuple[str, int]:
    if not _second_factor_fresh():
        return _ask_again(request_id)
    claims.reveal(db.session(), me(), request_id, now(), minutes(), request.remote_addr)
    db.session.commit()
    return _request_page(request_id, revealed=True)


def _second_factor_fresh() -> bool:
    """Whether the person gave their second factor recently enough to reveal a number (or
    has none, where it is optional)."""
    operator = db.session.get_one(Operator, me().id)
    if not second_factor.enrolled(operator):
        return hotline().settings.operators_2fa != "required"
    try:
        checked = datetime.fromisoformat(str(session.get("second_factor_at")))
    except ValueError:
        return False
    age = hotline().settings.reveal_2fa_max_age_minutes * 60
    return 0 <= (now() - checked).total_seconds() <= age


def _ask_again(request_id: int) -> tuple[str, int]:
    """Before a number is revealed: a fresh code, if the last one is too old."""
    form = CodeForm()
    action = url_for("operators.reveal", request_id=request_id)
    if "code" not in request.form:
        return render_template("operators/second_factor.html", form=CodeForm(formdata=None),
                               action=action, again=True), 200
    operator = db.session.get_one(Operator, me().id)
    outcome = (second_factor.check(db.session(), hotline().vault, operator,
                                   form.code.data or "", request.remote_addr, now())
               if form.validate_on_submit() else sign_in.Refused("wrong"))
    db.session.commit()
    if isinstance(outcome, sign_in.Refused):
        _refused(outcome)
        return render_template("operators/second_factor.html", form=CodeForm(formdata=None),
                               action=action, again=True), (
            429 if outcome.reason == "locked" else 401)
    session["second_factor_at"] = now().isoformat()
    claims.reveal(db.session(), me(), request_id, now(), minutes(), request.remote_addr)
    db.session.commit()
    return _request_page(request_id, revealed=True)


@bp.route("/requests/<int:request_id>/release", methods=["POST"])
@signed_in
def release(request_id: int) -> BaseResponse:
    claims.release(db.session(), me(), request_id, now(), minutes())
    db.session.commit()
    flash(_("The request is back in the queue."), "info")
    return redirect(url_for("operators.queue"))


@bp.route("/requests/<int:request_id>/notes", methods=["POST"])
@signed_in
def notes(request_id: int) -> Reply:
    form = NotesForm()
    if not form.validate_on_submit():
        flash(_("A note is limited to %(count)d characters.", count=claims.NOTES_LIMIT),
              "error")
        return _request_page(request_id, status=400)
    kept = claims.add_note(db.session(), hotline().vault, me(), request_id,
                           form.notes.data or "", now(), minutes())
    db.session.commit()
    if kept:
        flash(_("Note saved."), "info")
    else:
        flash(_("The note is empty: nothing was saved."), "error")
    return redirect(url_for("operators.request_page", request_id=request_id))


@bp.route("/requests/<int:request_id>/outcome", methods=["POST"])
@signed_in
def outcome(request_id: int) -> Reply:
    form = OutcomeForm()
    if not form.validate_on_submit() or form.outcome.data not in claims.OUTCOMES:
        flash(_("Choose what happened first.") if form.outcome.errors or not form.note.errors
              else _("A note is limited to %(count)d characters.", count=claims.NOTES_LIMIT),
              "error")
        return _request_page(request_id, status=400)
    recorded = claims.record_outcome(db.session(), me(), request_id, str(form.outcome.data),
                                     now(), hotline().settings, hotline().vault,
                                     form.note.data or "")
    db.session.commit()
    if recorded.decision_since is not None:
        flash(_("No answer again: it was tried as many times as we try. A supervisor decides "
                "now."), "info")
    elif recorded.status == "open" and recorded.next_try_at is not None:
        flash(_("No answer: the request is back in the queue, next try at %(time)s.",
                time=_desk_time(recorded.next_try_at, "%H:%M")), "info")
    else:
        flash(_("Outcome recorded."), "info")
    return redirect(url_for("operators.queue"))


@bp.route("/requests/<int:request_id>/call", methods=["POST"])
@signed_in
def call(request_id: int) -> BaseResponse:
    try:
        call_back.call_now(db.session(), hotline(), me(), request_id, now(), minutes(),
                           public_root(hotline()),
                           despite_wait=request.form.get("despite_wait") == "1")
        flash(_("Your phone will ring now. Press 1 when you answer to be connected."), "info")
    except call_back.CannotDial as refused:
        db.session.rollback()
        flash(labels.no_call(refused.reason), "error")
    except call_back.AskedToWait:
        db.session.rollback()
        flash(_("They asked us not to call but to wait for their call. Tick the box to call "
                "anyway."), "error")
    except call_back.CallInProgress:
        db.session.rollback()
        flash(_("A call for this request is already under way."), "error")
    except call_back.CannotCall:
        flash(_("The call could not be placed. Try again in a minute, or call from your "
                "own phone."), "error")
    return redirect(url_for("operators.request_page", request_id=request_id))


@bp.route("/requests/<int:request_id>/progress")
@signed_in
def progress(request_id: int) -> str:
    request_row = claims.visible(db.session(), me(), request_id)
    details = view_of(db.session(), hotline().vault, me(), request_row, now(), minutes())
    return render_template("operators/_progress.html", view=details)


@bp.route("/requests/<int:request_id>/recording")
@signed_in
def recording(request_id: int) -> Response:
    """The caller's message: our copy, or (until we have it) fetched from Twilio by the
    server; the browser never sees Twilio, its URL or our credentials."""
    try:
        audio = claims.message_audio(db.session(), hotline().vault, hotline().twilio, me(),
                                     request_id, now(), minutes())
    except TwilioApiError:
        abort(502)
    db.session.commit()
    return Response(audio, mimetype="audio/wav", headers={"Cache-Control": "no-store"})
