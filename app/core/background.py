"""Running a job's `execute` on a thread of the web process (the console's 'start now' buttons)."""
from __future__ import annotations

import threading
from typing import Callable

from flask import Flask

from app.extensions import db


def run_in_background(app: Flask, name: str, execute: Callable[[int], object], run_id: int) -> None:
    """`execute(run_id)` in its own app context and database session, on a daemon thread."""

    def work():
        with app.app_context():
            try:
                execute(run_id)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"{name}-{run_id}", daemon=True).start()
