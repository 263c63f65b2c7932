"""Referral launches (任务宝推送) waiting for a supervisor, listed in the approvals queue
(app/campaigns/approval/queue.py); the supervisor decides on the launch's review page."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import Select, func, select

from app.campaigns.approval import queue
from app.core.permissions import N_
from app.extensions import db
from app.referral.models import LaunchStatus, ReferralLaunch, ReferralTask

KIND = N_("任务宝推送")


def _pending(*columns) -> Select:
    return (select(*columns).select_from(ReferralLaunch).join(ReferralTask, ReferralTask.id == ReferralLaunch.task_id)
            .where(ReferralLaunch.status == LaunchStatus.PENDING))


def waiting() -> list[queue.Waiting]:
    """Each launch whose audience, counted above the approval threshold, waits for a decision; named by its task."""
    rows = db.session.execute(_pending(ReferralLaunch, ReferralTask.name))
    return [queue.Waiting(KIND, name, url_for("referral.launch_review", launch_id=x.id), x.requested_by,
                          x.requested_at, audience=x.recipients, note=x.link_title) for x, name in rows]


def count() -> int:
    return db.session.scalar(_pending(func.count()))


queue.register(waiting, count)
