"""The wallboard, /operators/board: how the desk stands now, for a wall screen or a phone.
The page renders whole on the server; operators.js replaces its figures every few seconds
from /operators/board/figures (the same HTML, alone), and figures.json is the same numbers
for other screens. Every signed-in person may see it: it holds counts and colleagues' first
names and states, no caller's number or anything about a caller."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from ivr.database import db
from ivr.operators import board
from ivr.operators.web.context import hotline, languages, minutes, now
from ivr.operators.web.login import signed_in

bp = Blueprint("wallboard", __name__, url_prefix="/operators")


def _board() -> board.Board:
    return board.board(db.session(), languages(), now(), hotline().settings.desk_timezone,
                       hotline().menu.desk.max_wait, minutes())


@bp.route("/board", endpoint="board")
@signed_in
def board_page() -> str:
    return render_template("operators/board.html", board=_board(),
                           every=board.REFRESH_SECONDS)


@bp.route("/board/figures", endpoint="figures")
@signed_in
def board_figures() -> str:
    return render_template("operators/_board_figures.html", board=_board())


@bp.route("/board/figures.json", endpoint="figures_json")
@signed_in
def board_json() -> Response:
    return jsonify(board.as_json(_board()))
