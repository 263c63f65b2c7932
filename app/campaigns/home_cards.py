"""Home cards of pushes: everything waiting on the supervisors' approvals queue, runs waiting on staff to confirm,
and (for those who edit pushes) the pushes a supervisor rejected, with the newest reason."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.campaigns.approval import approvals, queue
from app.campaigns.models import CampaignApproval, CampaignRun
from app.core.permissions import Permission as P
from app.extensions import db
from app.home.cards import Card, number
from app.sending.models import RunStatus
from app.web import localtime

NOTE_CHARS = 60  # of a rejection's reason on the card; the push page shows it whole


def campaign_cards(user) -> list[Card]:
    waiting = queue.count()  # every kind on the one queue: pushes, journey versions, invitations, referral launches
    in_flight = db.session.scalar(select(func.count()).select_from(CampaignRun).where(CampaignRun.status.in_(
        (RunStatus.PLANNED, RunStatus.WAITING_WINDOW, RunStatus.DISPATCHING, RunStatus.POLLING)))) or 0
    approver = user.can(P.CAMPAIGNS_APPROVE)
    rejected = [_rejected_card()] if user.can(P.CAMPAIGNS_EDIT) else []
    return rejected + [
        Card(_("待审批"), number(waiting), url_for("campaigns.approvals_queue") if approver else
             url_for("campaigns.index"), _("请审批后再发送") if approver else _("等待主管审批"),
             "warning" if waiting and approver else ""),
        Card(_("进行中的群发"), number(in_flight), url_for("campaigns.index"), _("发送中或等待成员在企业微信确认")),
    ]


def _rejected_card() -> Card:
    """How many drafts stand rejected; the newest rejection in words (which push, who, when, why)."""
    count = db.session.scalar(select(func.count()).select_from(approvals.rejected().subquery())) or 0
    newest = db.session.execute(approvals.rejected().order_by(CampaignApproval.at.desc(), CampaignApproval.id.desc())
                                .limit(1)).first()
    if newest is None:
        return Card(_("被驳回的群发"), number(0), url_for("campaigns.index", status="rejected"), _("没有被驳回的群发"))
    campaign, rejection = newest
    reason = rejection.comment if len(rejection.comment) <= NOTE_CHARS else rejection.comment[:NOTE_CHARS] + "…"
    note = _("最新：「%(name)s」被 %(who)s 于 %(at)s 驳回：%(reason)s", name=campaign.name, who=rejection.actor,
             at=localtime(rejection.at), reason=reason)
    link = (url_for("campaigns.detail", campaign_id=campaign.id) if count == 1
            else url_for("campaigns.index", status="rejected"))
    return Card(_("被驳回的群发"), number(count), link, note, "danger")
