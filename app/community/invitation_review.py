"""A supervisor's decision on an invitation (标签建群) whose audience is above the push approval threshold: approved,
it is planned by the job `community.invite`; rejected, it never sends. The reminder goes to part of the approved
audience and needs no second decision."""
from __future__ import annotations

from sqlalchemy import func, select

from app import jobs
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.community.invitations import PENDING_APPROVAL, PLANNING
from app.community.models import Invitation


class ReviewError(UserError):
    """A decision the rules refuse; the message says why."""


def _pending(invitation_id: int) -> Invitation:
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == invitation_id).with_for_update())
    if invitation is None or invitation.status != PENDING_APPROVAL:
        raise ReviewError(N_("这个入群邀请不在待审批状态"))
    return invitation


def approve(invitation_id: int, actor: str, comment: str = "") -> Invitation:
    with transaction():
        invitation = _pending(invitation_id)
        invitation.status, invitation.approved_by = PLANNING, actor
        invitation.decided_at, invitation.decision_comment = utcnow(), comment.strip()
        record("community.invitation_approved", target=f"{invitation.name}#{invitation.id}",
               details={"recipients": invitation.recipients, "comment": invitation.decision_comment})
    jobs.enqueue("community.invite", {"invitation_id": invitation.id}, requested_by=actor)
    return invitation


def reject(invitation_id: int, actor: str, comment: str) -> Invitation:
    if not comment.strip():
        raise ReviewError(N_("驳回时请写明原因"))
    with transaction():
        invitation = _pending(invitation_id)
        invitation.status, invitation.decided_at, invitation.decision_comment = "rejected", utcnow(), comment.strip()
        record("community.invitation_rejected", target=f"{invitation.name}#{invitation.id}",
               details={"recipients": invitation.recipients, "comment": invitation.decision_comment, "by": actor})
    return invitation


def pending() -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(Invitation.status == PENDING_APPROVAL)
                                   .order_by(Invitation.created_at)))


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Invitation).where(Invitation.status == PENDING_APPROVAL))
