"""Journey versions waiting for a supervisor, listed in the approvals queue (app/campaigns/approval/queue.py)."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import func, select

from app.campaigns.approval import queue
from app.core.permissions import N_
from app.extensions import db
from app.journeys.models import Journey, JourneyVersion

KIND = N_("客户旅程")


def waiting() -> list[queue.Waiting]:
    """Each journey with a submitted version not yet decided, with who submitted it and when (one query)."""
    submission = (select(func.max(JourneyVersion.id)).where(
        JourneyVersion.journey_id == Journey.id, JourneyVersion.action == "submitted",
        JourneyVersion.version == Journey.pending_version).correlate(Journey).scalar_subquery())
    rows = db.session.execute(select(Journey, JourneyVersion.actor, JourneyVersion.at)
                              .outerjoin(JourneyVersion, JourneyVersion.id == submission)
                              .where(Journey.pending_version.is_not(None)).order_by(Journey.id))
    return [queue.Waiting(KIND, journey.name, url_for("journeys.detail", journey_id=journey.id), actor or "", at,
                          version=journey.pending_version) for journey, actor, at in rows]


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Journey).where(Journey.pending_version.is_not(None)))


queue.register(waiting, count)
