"""Planning a campaign run: the campaign's audience, senders, variants, category and holdout as a request to the send
engine (app.sending), which writes the outbox. A run is planned completely or not at all, in one transaction with
its status change, and planning a run that is no longer "planning" changes nothing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app import sending
from app.campaigns.models import Campaign, CampaignRun, CampaignVariant
from app.contacts.models import CustomerGroup
from app.contacts.scope import staff_in_departments, with_sub_departments
from app.core.db import transaction, utcnow
from app.extensions import db
from app.segments import service as segments
from app.sending.models import RunStatus


class PlanError(Exception):
    """The campaign cannot be planned as it stands (no audience, unknown segment ...); the message says why."""


def audience_rule(campaign: Campaign) -> dict:
    if campaign.segment_id is not None:
        segment = segments.get_segment(campaign.segment_id)
        if segment is None:
            raise PlanError(f"人群 {campaign.segment_id} 已不存在")
        return segment.rule
    if campaign.audience_rule is None:
        raise PlanError("请选择人群或填写筛选规则")
    return campaign.audience_rule


def allowed_senders(campaign: Campaign) -> set[str] | None:
    """The staff the campaign restricts sending to (departments with their sub-departments), or None: anyone."""
    if not campaign.sender_userids and not campaign.sender_department_ids:
        return None
    staff = set(campaign.sender_userids or [])
    if campaign.sender_department_ids:
        staff |= staff_in_departments(with_sub_departments(set(campaign.sender_department_ids)))
    return staff


def group_targets(campaign: Campaign):
    """The customer groups a group push goes to: every filter given must hold (owners, name contains, chat ids)."""
    filters = campaign.group_filter or {}
    query = select(CustomerGroup).where(CustomerGroup.dismissed_at.is_(None))
    if not any(filters.get(k) for k in ("owners", "name_contains", "chat_ids")):
        raise PlanError("请至少用一个条件选择客户群（群主、群名包含或指定群）")
    if filters.get("owners"):
        query = query.where(CustomerGroup.owner.in_(filters["owners"]))
    if filters.get("name_contains"):
        query = query.where(CustomerGroup.name.contains(filters["name_contains"], autoescape=True))
    if filters.get("chat_ids"):
        query = query.where(CustomerGroup.chat_id.in_(filters["chat_ids"]))
    return query


def variants(campaign: Campaign) -> tuple[sending.Variant, ...]:
    """What: the A/B variants (a variant without its own content sends the campaign's), or the content alone."""
    rows = db.session.scalars(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id)
                              .order_by(CampaignVariant.key)).all()
    if not rows:
        return (sending.Variant("A", 100, campaign.content or {}),)
    return tuple(sending.Variant(v.key, v.split_percent, v.content or campaign.content or {}) for v in rows)


def request(campaign: Campaign, now: datetime) -> sending.Request:
    """The campaign as a send request; PlanError (or segments.RuleError) when it cannot be planned."""
    senders = allowed_senders(campaign)
    who = (sending.customers(segments.member_ids(audience_rule(campaign), now=now), senders)
           if campaign.chat_type == "single" else sending.groups(group_targets(campaign), senders))
    return sending.Request(who=who, what=variants(campaign), category=campaign.category,
                           holdout_key=str(campaign.id), holdout_percent=campaign.holdout_percent)


def fill(run: CampaignRun, campaign: Campaign, now: datetime) -> None:
    """Write the run's deliveries and decide when it may go (no commit: the caller owns the transaction)."""
    sending.plan(run, request(campaign, now), now)


def plan(run_id: int) -> CampaignRun:
    """Plan a run still in "planning" in one transaction; a run already planned (or further) is left as it is.
    A campaign that cannot be planned (its segment deleted, a bad rule, an unapproved version) fails the run."""
    try:
        with transaction():
            run = db.session.scalar(select(CampaignRun).where(CampaignRun.id == run_id).with_for_update())
            if run.status != RunStatus.PLANNING:
                return run
            campaign = db.session.get(Campaign, run.campaign_id)
            if campaign.approved_version != run.campaign_version:
                raise PlanError("此版本未经审批，不能发送")
            fill(run, campaign, utcnow())
    except (PlanError, segments.RuleError) as exc:
        with transaction():
            run = db.session.get(CampaignRun, run_id)
            run.status, run.error, run.finished_at = RunStatus.FAILED, str(exc), utcnow()
    return run
