"""Pushes waiting for a supervisor, listed in the approvals queue (queue.py) with their submission."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.campaigns.approval import queue
from app.campaigns.models import CATEGORY_LABELS, CHAT_TYPE_LABELS, Campaign, CampaignApproval, CampaignStatus
from app.core.permissions import N_
from app.extensions import db

KIND = N_("群发")


def waiting() -> list[queue.Waiting]:
    """Each push waiting for approval with the submission of its current version: who, when, how many it counted."""
    submission = (select(func.max(CampaignApproval.id)).where(
        CampaignApproval.campaign_id == Campaign.id, CampaignApproval.version == Campaign.version,
        CampaignApproval.decision == "submitted").correlate(Campaign).scalar_subquery())
    rows = db.session.execute(select(Campaign, CampaignApproval)
                              .outerjoin(CampaignApproval, CampaignApproval.id == submission)
                              .where(Campaign.status == CampaignStatus.PENDING_APPROVAL))
    return [queue.Waiting(KIND, c.name, url_for("campaigns.detail", campaign_id=c.id),
                          s.actor if s else c.created_by, s.at if s else c.updated_at,
                          audience=s.recipients if s else None, version=c.version,
                          note=" · ".join(_(labels.get(key, key)) for labels, key in (
                              (CATEGORY_LABELS, c.category), (CHAT_TYPE_LABELS, c.chat_type))))
            for c, s in rows]


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Campaign).where(
        Campaign.status == CampaignStatus.PENDING_APPROVAL))


queue.register(waiting, count)
