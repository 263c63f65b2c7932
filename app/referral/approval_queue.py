"""Referral launches (任务宝推送) waiting for a supervisor, listed in the approvals queue
(app/campaigns/approval/queue.py); the supervisor decides on the launch's review page."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from app.campaigns.approval import queue
from app.core.permissions import N_
from app.extensions import db
from app.referral.models import LaunchStatus, ReferralLaunch, ReferralTask

KIND = N_("任务宝推送")


def waiting() -> list[queue.Waiting]:
    """Each launch whose audience, counted above the approval threshold, waits for a decision; named by its task."""
    rows = db.session.execute(select(ReferralLaunch, ReferralTask.name)
                              .join(ReferralTask, ReferralTask.id == ReferralLaunch.task_id)
                              .where(ReferralLaunch.status == LaunchStatus.PENDING))
    return [queue.Waiting(KIND, name, url_for("referral.launch_review", launch_id=x.id), x.requested_by,
                          x.requested_at, audience=x.recipients, note=x.link_title) for x, name in rows]


queue.register(waiting)
