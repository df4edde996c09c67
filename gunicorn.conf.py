"""gunicorn settings for production and for `make run`; see the README for sizing."""

import multiprocessing
import os
from pathlib import Path
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


def on_starting(server: Arbiter) -> None:
    # prometheus-client adds up the files its processes leave in PROMETHEUS_MULTIPROC_DIR:
    # a previous run's would be counted in this one. Emptied before any worker starts (the
    # master's own files, made while the app was preloaded, hold nothing a scrape needs).
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for leftover in Path(directory).glob("*.db"):
            leftover.unlink(missing_ok=True)


def child_exit(server: Arbiter, worker: Worker) -> None:
    # A worker gone: its live gauges (operations held in memory) stop counting.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


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
    # Store what the call log and the callback requests' writer still hold before it goes.
    hotline = _hotline(worker)
    if hotline is not None:
        hotline.call_log.close()
        hotline.callback_requests.close()

