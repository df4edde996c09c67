"""gunicorn settings for production and for `make run`; see the README for sizing."""

import multiprocessing
import os
from typing import Any

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# Webhooks are short and CPU-bound (the call log writes in the background), so
# synchronous workers, about two per core, serve them best.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
# Load the app once in the master: a bad setting or menu stops start-up with one line.
preload_app = True
# Twilio gives up on a webhook after 15 s; never hold a worker much longer than that.
timeout = 20
graceful_timeout = 20
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def post_worker_init(worker: Worker) -> None:
    # A spool left by a database outage (or by a previous run) is replayed even if no
    # caller asks for a callback in this worker.
    hotline = _hotline(worker)
    if hotline is not None:
        hotline.callback_requests.start_replayer()


def _hotline(worker: Worker) -> Any:
    app = getattr(worker, "wsgi", None)
    return getattr(app, "extensions", {}).get("ivr")


def worker_exit(server: Arbiter, worker: Worker) -> None:
    # Store what the call log still holds before the worker goes.
    hotline = _hotline(worker)
    if hotline is not None:
        hotline.call_log.close()

