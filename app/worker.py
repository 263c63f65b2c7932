"""The worker process: takes planned work from the database (callback events, later deliveries) and does it."""
from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Callable

from flask import Flask

from app.extensions import db
from app.wecom import inbox

log = logging.getLogger("scrm.worker")

# Each source handles one batch and says how much it did; the loop sleeps only when all were idle.
SOURCES: tuple[tuple[str, Callable[[], int]], ...] = (
    ("callback inbox", inbox.work_once),
)


def run(app: Flask, stop: threading.Event, poll_seconds: float = 0.1) -> None:
    """Loop until `stop` is set; a failing source is logged and retried on the next turn, never fatal."""
    log.info("worker started")
    while not stop.is_set():
        busy = 0
        for name, work in SOURCES:
            with app.app_context():
                try:
                    busy += work()
                except Exception:
                    log.exception("worker source %s failed; retrying", name)
                    db.session.rollback()
                    time.sleep(1)
                finally:
                    db.session.remove()
        if not busy:
            stop.wait(poll_seconds)
    log.info("worker stopped")


def run_forever(app: Flask) -> None:
    """The `scrm worker` command: run until SIGINT or SIGTERM, finishing the event in hand."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run(app, stop)
