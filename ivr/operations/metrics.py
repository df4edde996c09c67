"""What the service is doing, for Prometheus at `/metrics`.

Counters and histograms are kept per process by prometheus-client; under gunicorn, with
`PROMETHEUS_MULTIPROC_DIR` set, each worker writes them to that directory and a scrape adds
them up. The open callback requests and the spool are read at scrape time, so they are never
stale and cost nothing between scrapes. No label ever carries caller data: paths are the
app's route templates, languages and outcomes come from the menu file.

Access: with `METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>`;
without it, production answers 404 and development answers only on loopback.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ivr import paths
from ivr.database import unit_of_work
from ivr.models import CallbackRequest

if TYPE_CHECKING:
    from ivr.services import Hotline

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
# Twilio waits 15 s at most; the interesting part is well under a second.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
OTHER = "other"
WSGI_PATH = "PATH_INFO"

REQUESTS = Counter("ivr_webhooks_total", "Requests answered, by path and HTTP status.",
                   ["path", "status"])
LATENCY = Histogram("ivr_webhook_seconds", "Time taken to answer a request, by path.",
                    ["path"], buckets=BUCKETS)
OUTCOMES = Counter("ivr_call_outcomes_total",
                   "What the menu decided during calls, by language and outcome.",
                   ["language", "outcome"])
FORGED = Counter("ivr_forged_requests_total",
                 "Webhooks refused because they were not signed, or signed wrongly, by path.",
                 ["path"])

ALERTS = Counter("ivr_twilio_alerts_total",
                 "Alerts Twilio's Debugger webhook reported, by level and error code.",
                 ["level", "error_code"])
HELD = Gauge("ivr_callback_operations_held",
             "Callback operations held in memory: neither the database nor the spool took "
             "them yet.", multiprocess_mode="livesum")

# Resolved label sets, so the hot path is one dictionary look-up and an add.
_outcomes: dict[tuple[str, str], Any] = {}


def count_outcome(language: str | None, outcome: str) -> None:
    key = (language or "none", outcome)
    child = _outcomes.get(key)
    if child is None:
        child = _outcomes[key] = OUTCOMES.labels(*key)
    child.inc()


def count_forged(path: str) -> None:
    FORGED.labels(path).inc()


def count_alert(level: str, error_code: str | None) -> None:
    # Twilio's error codes are numbers; anything else is one label, so labels stay few.
    code = error_code if error_code and error_code.isascii() and error_code.isdigit() else OTHER
    ALERTS.labels(level, code).inc()


def set_held(operations: int) -> None:
    HELD.set(operations)


class PathLabels:
    """Turns a request path into the route it matched, so labels stay few whatever is asked."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.fixed: dict[str, str] | None = None
        self.prefixed: list[tuple[str, str]] = []

    def _learn_routes(self) -> dict[str, str]:
        # On the first request, when every blueprint is registered.
        rules = list(self.app.url_map.iter_rules())
        self.prefixed = [(rule.rule.split("<", 1)[0], rule.rule) for rule in rules
                         if rule.arguments]
        self.fixed = {rule.rule: rule.rule for rule in rules if not rule.arguments}
        return self.fixed

    def __call__(self, path: str) -> str:
        label = (self.fixed or self._learn_routes()).get(path)
        if label is not None:
            return label
        for prefix, rule in self.prefixed:
            if path.startswith(prefix):
                return rule
        return OTHER


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Measured:
    """WSGI middleware counting every request by route and status, and timing it."""

    def __init__(self, app: WsgiApp, labels: PathLabels) -> None:
        self.app = app
        self.labels = labels
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        started = time.perf_counter()
        status = ["500"]

        def starting(code: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status[0] = code[:3]
            return start_response(code, headers, *rest)

        try:
            return self.app(environ, starting)
        finally:
            self._observe(environ.get(WSGI_PATH, ""), status[0],
                          time.perf_counter() - started)

    def _observe(self, path: str, status: str, seconds: float) -> None:
        key = (self.labels(path), status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (REQUESTS.labels(*key), LATENCY.labels(key[0]))
        children[0].inc()
        children[1].observe(seconds)


def measure(app: Flask) -> None:
    """Count and time every request the app answers (call after registering blueprints)."""
    app.wsgi_app = Measured(app.wsgi_app, PathLabels(app))  # type: ignore[method-assign]


class LiveCollector(Collector):
    """Read at each scrape: callback requests still open, and this instance's spool. What
    cannot be read is left out of the answer (and logged), never a reason to fail it."""

    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline

    def collect(self) -> Iterator[Metric]:
        open_requests = self._open_requests()
        if open_requests is not None:
            yield GaugeMetricFamily("ivr_callback_requests_open",
                                    "Callback requests nobody has closed yet.", open_requests)
        yield from self._spool()
        yield from self._periodic()

    def _periodic(self) -> Iterator[Metric]:
        from ivr.operations import periodic  # it imports the services, which import us

        try:
            rows = periodic.last_successes(self.hotline)
        except Exception as error:
            log.warning("metrics: database unreachable", extra={"error": type(error).__name__})
            return
        success = GaugeMetricFamily(
            "ivr_periodic_last_success_timestamp_seconds",
            "When each periodic job (ivr periodic) last succeeded, as a Unix time.",
            labels=["job"])
        failing = GaugeMetricFamily(
            "ivr_periodic_job_failing",
            "1 when a periodic job's last run failed, else 0.", labels=["job"])
        for name, row in rows.items():
            if row is not None and row.last_success_at is not None:
                success.add_metric([name], row.last_success_at.timestamp())
            failing.add_metric([name], 1 if row is not None and row.last_error else 0)
        yield success
        yield failing

    def _spool(self) -> Iterator[Metric]:
        spool = self.hotline.callback_requests.spool
        yield GaugeMetricFamily("ivr_spool_writable",
                                "1 when this instance's spool can take a record, else 0.",
                                0 if spool.problem() else 1)
        try:
            waiting, rejected = spool.waiting(), spool.rejected().total
        except OSError as error:
            log.warning("metrics: the spool cannot be read", extra={"error": error.strerror})
            return
        yield GaugeMetricFamily("ivr_spool_waiting",
                                "Callback operations in this instance's spool, waiting for "
                                "the database.", waiting)
        yield GaugeMetricFamily("ivr_spool_rejected",
                                "Spool records set aside because they cannot be replayed "
                                "(ivr spool status).", rejected)

    def _open_requests(self) -> int | None:
        query = sa.select(sa.func.count()).select_from(CallbackRequest).where(
            CallbackRequest.status == "open")
        try:
            with unit_of_work(self.hotline.engine) as session:
                return int(session.execute(query).scalar_one())
        except Exception as error:
            log.warning("metrics: database unreachable", extra={"error": type(error).__name__})
            return None


def exposition(hotline: Hotline) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    live = CollectorRegistry(auto_describe=False)
    live.register(LiveCollector(hotline))
    try:
        return counted + generate_latest(live)
    except Exception:
        # A scrape answers with what it has: a 500 would hide every other figure.
        log.exception("metrics: the live figures could not be read")
        return counted


def allowed(hotline: Hotline) -> bool:
    token = hotline.settings.metrics_token
    if token is None:
        if hotline.settings.production:
            abort(404)  # no token, no metrics: nothing to find for a stranger
        return request.remote_addr in LOOPBACK
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@bp.get(paths.METRICS)
def metrics() -> Response:
    from ivr.services import current_hotline  # here: the services use these counters

    hotline = current_hotline()
    if not allowed(hotline):
        return Response("Unauthorized\n", 401, {"WWW-Authenticate": "Bearer"},
                        mimetype="text/plain")
    return Response(exposition(hotline), content_type=CONTENT_TYPE_LATEST)
