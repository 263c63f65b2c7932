"""The invitation report: per invitation and per tier, customers invited, joined (before / after the reminder),
reminded, and the join rate; joins are read from the group members' state."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.contacts.models import Customer, CustomerGroupMember
from app.extensions import db
from app.community.invitations import INVITED, joined_filter
from app.community.models import TIERS, Invitation, JoinCode
from app.sending.models import Delivery


@dataclass
class Funnel:
    invitations: int = 0
    invited: int = 0
    joined: int = 0
    reminded: int = 0
    joined_after_reminder: int = 0

    @property
    def rate(self) -> float | None:
        return self.joined / self.invited if self.invited else None

    def add(self, other: "Funnel") -> None:
        self.invitations += other.invitations
        self.invited += other.invited
        self.joined += other.joined
        self.reminded += other.reminded
        self.joined_after_reminder += other.joined_after_reminder


def _count(send_id: int | None, code: JoinCode, joined: bool | None = None, after=None) -> int:
    if send_id is None:
        return 0
    query = (select(func.count()).select_from(Delivery).join(Customer, Customer.id == Delivery.customer_id)
             .where(Delivery.run_id == send_id, Delivery.status.in_(INVITED)))
    if joined is not None:
        cond = joined_filter(code, Customer.external_userid)
        query = query.where(cond if joined else ~cond)
    if after is not None:  # joined through the code's state after this instant
        query = query.where(select(CustomerGroupMember.id).where(
            CustomerGroupMember.userid == Customer.external_userid, CustomerGroupMember.state == code.state,
            CustomerGroupMember.join_time >= after).exists())
    return db.session.scalar(query) or 0


def funnel(invitation: Invitation) -> Funnel:
    code = db.session.get(JoinCode, invitation.join_code_id)
    return Funnel(1, _count(invitation.first_send_id, code), _count(invitation.first_send_id, code, joined=True),
                  _count(invitation.reminder_send_id, code),
                  _count(invitation.reminder_send_id, code, after=invitation.reminded_at)
                  if invitation.reminded_at else 0)


def by_tier(invitations: list[Invitation]) -> tuple[dict[int, Funnel], dict[str, Funnel]]:
    per_invitation = {i.id: funnel(i) for i in invitations}
    per_tier = {t: Funnel() for t in TIERS}
    for invitation in invitations:
        per_tier[invitation.tier].add(per_invitation[invitation.id])
    return per_invitation, per_tier
