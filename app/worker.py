"""The worker process: takes planned work from the database (callback events, deliveries, jobs) and does it."""
from __future__ import annotations

import functools
import logging
import signal
import threading
import time
from typing import Callable

from flask import Flask

from app import sending
from app.extensions import db
from app.jobs import listener as job_listener, queue as job_queue
from app.segments import facts as segment_facts
from app.wecom import inbox

log = logging.getLogger("scrm.worker")


class _WelcomeActivity:
    """When the welcome threads last had work, and which of them watches the lane.

    Threads of one process share the GIL, so during a burst of adds the main loop gives way before each event
    (at most `LONGEST` seconds), and catches up after. While the lane is empty one welcome thread polls it and
    the others sleep until a thread that found work wakes one more (or `NAP` passes): an idle worker runs a
    claim query every WELCOME_POLL_SECONDS, not one per thread, and a burst still gets every thread."""

    QUIET, LONGEST, NAP = 0.2, 0.25, 1.0

    def __init__(self):
        self.last_busy = 0.0
        self._turn = threading.Condition()
        self._watched = False

    def mark(self) -> None:
        self.last_busy = time.monotonic()
        with self._turn:
            self._turn.notify()

    def give_way(self) -> None:
        deadline = time.monotonic() + self.LONGEST
        while time.monotonic() - self.last_busy < self.QUIET and time.monotonic() < deadline:
            time.sleep(0.02)

    def idle(self, stop: threading.Event, poll_seconds: float) -> None:
        """A welcome thread found the lane empty: watch it for `poll_seconds`, or sleep while another watches."""
        with self._turn:
            watch = not self._watched
            if watch:
                self._watched = True
            else:
                self._turn.wait(self.NAP)
        if watch:
            stop.wait(poll_seconds)
            with self._turn:
                self._watched = False


_WELCOMES = _WelcomeActivity()


def _welcome_lane() -> int:
    handled = inbox.work_welcomes()
    if handled:
        _WELCOMES.mark()
    return handled


# Each source handles one batch and says how much it did; the loop sleeps only when all were idle.
SOURCES: tuple[tuple[str, Callable[[], int]], ...] = (
    ("callback spool", inbox.drain_spool),
    ("callback inbox", functools.partial(inbox.work_default, give_way=_WELCOMES.give_way)),
    ("send dispatch", sending.work_once),
    ("segment facts", segment_facts.work_once),
)
# Welcomes have 20 seconds: their own threads take only the welcome lane, so no batch of the main loop
# (follow-ups, syncs, pushes) ever stands in front of them. Several threads (and workers) share the lane.
WELCOME_SOURCES: tuple[tuple[str, Callable[[], int]], ...] = (("welcome lane", _welcome_lane),)
WELCOME_THREADS = 4
WELCOME_POLL_SECONDS = 0.05


def _loop(app: Flask, stop: threading.Event, sources, idle: Callable[[], object]) -> None:
    """Run `sources` until `stop` is set, calling `idle()` after a turn where none had work; a failing source is
    logged and retried on the next turn, never fatal."""
    while not stop.is_set():
        busy = 0
        for name, work in sources:
            if sources is SOURCES:
                _WELCOMES.give_way()
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
            idle()


def run(app: Flask, stop: threading.Event, poll_seconds: float = 0.1) -> None:
    """The welcome threads, the jobs thread (long work: syncs, recomputes, checks ...; woken by LISTEN/NOTIFY on
    PostgreSQL) and the main loop, until `stop` is set. Neither welcomes nor the main loop ever wait behind a job."""
    log.info("worker started")
    welcome_idle = functools.partial(_WELCOMES.idle, stop, WELCOME_POLL_SECONDS)
    threads = [threading.Thread(target=_loop, args=(app, stop, WELCOME_SOURCES, welcome_idle),
                                name=f"welcome-{n}", daemon=True) for n in range(WELCOME_THREADS)]
    threads += [threading.Thread(target=job_listener.work, args=(app, stop), name="jobs", daemon=True),
                threading.Thread(target=job_listener.listen, args=(app, stop), name="jobs-listen", daemon=True)]
    for thread in threads:
        thread.start()
    _loop(app, stop, SOURCES, functools.partial(stop.wait, poll_seconds))
    job_queue.WAKE.set()  # the jobs thread stops waiting; a job in hand is finished first
    for thread in threads:
        thread.join(30)
    log.info("worker stopped")


def run_forever(app: Flask) -> None:
    """The `scrm worker` command: run until SIGINT or SIGTERM, finishing the event in hand."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run(app, stop)
