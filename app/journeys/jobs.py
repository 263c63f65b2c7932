"""The journeys' minute tick (a job; the scheduler only enqueues it): per journey, exits first, then new entries,
then the due steps, then the guardrail. A paused journey only loses customers to their exit signals."""
from __future__ import annotations

import logging

from app.core.db import transaction, utcnow
from app.extensions import db
from app.journeys import exits, results, runner, tagging, triggers
from app.journeys.models import JourneyStatus

log = logging.getLogger("scrm.journeys")


def tick_one(journey, now) -> dict:
    with transaction():
        exited = exits.sweep(journey, now)
    if journey.status != JourneyStatus.ACTIVE:
        return {"exited": exited}
    with transaction():
        entered = triggers.enter(journey, now)
    moved = runner.run_due(journey, now)
    paused = results.check_guardrail(journey)
    return {"exited": exited, "entered": entered, "moved": moved, "paused": bool(paused)}


def tick() -> dict:
    """Every running journey once; one journey's failure is logged and does not hold up the others."""
    now = utcnow()
    done, failed = {}, []
    for journey in exits.running():
        try:
            done[journey.id] = tick_one(journey, now)
        except Exception:
            db.session.rollback()
            log.exception("journey %s: tick failed", journey.id)
            failed.append(journey.id)
    tagging.follow()  # the tag steps' marks go to WeCom in their own job: the tick never waits on WeCom
    if failed:
        raise RuntimeError(f"journeys {failed} failed (see the log); the others ran: {done}")
    return {"journeys": done}
