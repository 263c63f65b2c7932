"""Journey versions waiting for a supervisor, listed in the approvals queue (app/campaigns/approval/queue.py)."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from app.campaigns.approval import queue
from app.core.permissions import N_
from app.extensions import db
from app.journeys.models import Journey, JourneyVersion

KIND = N_("客户旅程")


def waiting() -> list[queue.Waiting]:
    """Each journey with a submitted version not yet decided, with who submitted it and when."""
    found = []
    for journey in db.session.scalars(select(Journey).where(Journey.pending_version.is_not(None))
                                      .order_by(Journey.id)):
        submitted = db.session.scalars(select(JourneyVersion).where(
            JourneyVersion.journey_id == journey.id, JourneyVersion.action == "submitted",
            JourneyVersion.version == journey.pending_version).order_by(JourneyVersion.id.desc()).limit(1)).first()
        found.append(queue.Waiting(KIND, journey.name, url_for("journeys.detail", journey_id=journey.id),
                                   submitted.actor if submitted else "", submitted.at if submitted else None,
                                   version=journey.pending_version))
    return found


queue.register(waiting)
