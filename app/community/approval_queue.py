"""Invitations into groups (标签建群) waiting for a supervisor, listed in the approvals queue
(app/campaigns/approval/queue.py); the supervisor decides on the invitation's review page."""
from __future__ import annotations

from flask import url_for

from app.campaigns.approval import queue
from app.community import invitation_review
from app.core.permissions import N_

KIND = N_("入群邀请（标签建群）")


def waiting() -> list[queue.Waiting]:
    """Each invitation whose audience, counted above the approval threshold, waits for a decision."""
    return [queue.Waiting(KIND, i.name, url_for("community.invitation_review", invitation_id=i.id), i.created_by,
                          i.created_at, audience=i.recipients) for i in invitation_review.pending()]


queue.register(waiting, invitation_review.pending_count)
