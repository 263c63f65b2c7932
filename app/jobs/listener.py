"""The worker's jobs thread and, on PostgreSQL, the LISTEN thread that wakes it the moment a job is enqueued."""
from __future__ import annotations

import logging
import os
import sys
import threading

import psycopg
from flask import Flask

from app.extensions import db
from app.jobs import queue, runner

log = logging.getLogger("scrm.jobs")
POLL_SECONDS = {"postgresql": 10.0, "sqlite": 0.5}  # a claim without a wake-up: NOTIFY missed, another process
                                                    # on SQLite (no NOTIFY there), a retry the dead-worker rule queued
JOB_NICENESS = 10  # added to the jobs thread's nice value: it yields the CPU to the welcome threads and the main loop of its own process


def _yield_cpu_to_welcomes() -> None:
    """Lower the jobs thread's CPU priority: on Linux a thread is a task with its own nice value, so a sync or a
    recompute still runs at full speed on an idle machine but waits its turn while a burst of adds wants the CPU
    (the welcome lane has 20 seconds; the jobs have minutes)."""
    if sys.platform != "linux":
        return
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(os.getpriority(os.PRIO_PROCESS, thread) + JOB_NICENESS, 19))
    except OSError:
        log.warning("could not lower the jobs thread's priority", exc_info=True)


def work(app: Flask, stop: threading.Event) -> None:
    """Claim and run jobs until `stop`; sleep until woken (or the poll interval passes) when none is waiting."""
    name = runner.worker_name()
    _yield_cpu_to_welcomes()
    with app.app_context():
        poll = POLL_SECONDS[db.engine.dialect.name]
    while not stop.is_set():
        queue.WAKE.clear()
        with app.app_context():
            try:
                ran = runner.work_once(name)
            except Exception:
                log.exception("job loop failed; retrying")
                db.session.rollback()
                ran = 0
                stop.wait(1)
            finally:
                db.session.remove()
        if not ran:
            queue.WAKE.wait(poll)


def listen(app: Flask, stop: threading.Event) -> None:
    """LISTEN on the jobs channel (PostgreSQL) and wake the jobs thread on every NOTIFY; reconnects if the
    connection drops (the poll interval covers the gap)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"LISTEN {queue.CHANNEL}")
                queue.WAKE.set()  # anything enqueued before we listened
                while not stop.is_set():
                    for _note in conn.notifies(timeout=1.0, stop_after=1):
                        queue.WAKE.set()
        except psycopg.Error:
            log.warning("jobs LISTEN connection lost; reconnecting", exc_info=True)
            stop.wait(1)
