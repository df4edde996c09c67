"""A second reference: an empty Flask app that reads the form and answers the floor's TwiML.
Its ratio to the floor is what the framework alone costs, before any work of ours."""

from __future__ import annotations

from flask import Flask, Response, request

from bench.floor import BODY

app = Flask(__name__)


@app.post("/voice/<path:anything>")
def constant(anything: str) -> Response:
    request.form.get("CallSid")
    return Response(BODY, mimetype="text/xml")
