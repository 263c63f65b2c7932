"""Home cards of pushes: sends waiting for a supervisor's approval, and runs waiting on staff to confirm."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.campaigns.models import Campaign, CampaignRun, CampaignStatus, RunStatus
from app.core.permissions import Permission as P
from app.extensions import db
from app.home.cards import Card, number


def campaign_cards(user) -> list[Card]:
    waiting = db.session.scalar(select(func.count()).select_from(Campaign)
                                .where(Campaign.status == CampaignStatus.PENDING_APPROVAL)) or 0
    in_flight = db.session.scalar(select(func.count()).select_from(CampaignRun).where(CampaignRun.status.in_(
        (RunStatus.PLANNED, RunStatus.WAITING_WINDOW, RunStatus.DISPATCHING, RunStatus.POLLING)))) or 0
    approver = user.can(P.CAMPAIGNS_APPROVE)
    return [
        Card(_("待审批群发"), number(waiting), url_for("campaigns.approvals_queue") if approver else
             url_for("campaigns.index"), _("请审批后再发送") if approver else _("等待主管审批"),
             "warning" if waiting and approver else ""),
        Card(_("进行中的群发"), number(in_flight), url_for("campaigns.index"), _("发送中或等待成员在企业微信确认")),
    ]
