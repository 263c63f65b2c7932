"""Planning a run: audience, opt-out, sender, holdout and A/B, caps and WeCom quota, quiet hours -> the outbox.

Everything is set-based (INSERT ... SELECT, UPDATE ... WHERE target IN (SELECT ...)) and happens in one
transaction with the run's status change, so a run is planned completely or not at all, and planning a run
that is no longer "planning" changes nothing. Holdout customers go through the caps and quota as well, so the
holdout stays comparable with the treated customers who were actually sent to.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, and_, case, cast, delete, func, insert, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.orm import aliased

from app.campaigns import guards, policies
from app.campaigns.models import (Campaign, CampaignRun, CampaignVariant, CustomerOptOut, Delivery,
                                  DeliveryStatus as D, OutsideSend, RunStatus)
from app.contacts.models import Customer, CustomerGroup, FollowRelation, Staff
from app.contacts.scope import staff_in_departments, with_sub_departments
from app.core import settings
from app.core.db import UTCDateTime, transaction, utcnow
from app.extensions import db
from app.segments import service as segments

COUNTED_RUN_STATES = ("planning", "planned", "waiting_window", "dispatching", "polling")


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


def _active_staff():
    return select(Staff.userid).where(Staff.status == 1, Staff.removed_at.is_(None))


def _sender_pick(allowed: set[str] | None):
    """Per customer, the staff member of the most recent current relation (among the allowed ones)."""
    fr = FollowRelation
    rank = func.row_number().over(partition_by=fr.external_userid,
                                  order_by=(fr.added_at.desc().nulls_last(), fr.id.desc()))
    query = select(fr.external_userid, fr.userid, rank.label("rank")).where(
        fr.ended_at.is_(None), fr.userid.in_(_active_staff()))
    if allowed is not None:
        query = query.where(fr.userid.in_(sorted(allowed)))
    return query.subquery("senders")


def _single_targets(campaign: Campaign, now: datetime):
    """(target_key, customer_id, sender_userid, reason) per member: opt-out, lost, no sender come first."""
    members = segments.member_ids(audience_rule(campaign), now=now).subquery("members")
    senders = _sender_pick(allowed_senders(campaign))
    reason = case((CustomerOptOut.id.is_not(None), "opt_out"), (Customer.lost_at.is_not(None), "lost"),
                  (senders.c.userid.is_(None), "no_sender"), else_=None)
    return (select(Customer.external_userid.label("target_key"), Customer.id.label("customer_id"),
                   senders.c.userid.label("sender_userid"), reason.label("reason"))
            .select_from(Customer)
            .join(members, members.c.customer_id == Customer.id)
            .outerjoin(CustomerOptOut, CustomerOptOut.customer_id == Customer.id)
            .outerjoin(senders, and_(senders.c.external_userid == Customer.external_userid, senders.c.rank == 1))
            .subquery("targets"))


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


def _group_targets(campaign: Campaign):
    """(target_key, customer_id, sender_userid, reason) per group: its owner sends, if active and allowed."""
    groups = group_targets(campaign).subquery("groups")
    allowed = allowed_senders(campaign)
    owner_ok = groups.c.owner.in_(_active_staff())
    if allowed is not None:
        owner_ok = and_(owner_ok, groups.c.owner.in_(sorted(allowed)))
    return select(groups.c.chat_id.label("target_key"), cast(None, Integer).label("customer_id"),
                  groups.c.owner.label("sender_userid"),
                  case((owner_ok, None), else_="no_sender").label("reason")).subquery("targets")


def _digest(campaign_id: int, column):
    """The SQL twin of guards.digest on a target key column."""
    text = literal(f"{campaign_id}:") + column
    return func.md5(text) if db.engine.dialect.name == "postgresql" else func.campaign_md5(text)


def _bucket(digest, part: str):
    """The SQL twin of guards.bucket, from a digest column."""
    hex8 = func.substr(digest, 1 + 8 * guards.BUCKET_PARTS[part], 8)
    if db.engine.dialect.name == "postgresql":
        return cast(cast(literal("x") + hex8, BIT(32)), BigInteger) % guards.BUCKETS
    return func.campaign_hex_bucket(hex8)


def _variant(campaign: Campaign, digest):
    variants = db.session.scalars(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id)
                                  .order_by(CampaignVariant.key)).all()
    if not variants:
        return literal("A")
    ranges = guards.variant_ranges([(v.key, v.split_percent) for v in variants])
    b = _bucket(digest, "ab")
    return case(*[(b < high, key) for key, _low, high in ranges[:-1]], else_=ranges[-1][0])


def _earlier_sends(run: CampaignRun, since: datetime, chat_type: str, category: str | None = None):
    """(target_key) of pushes that count: sent or on their way, of other runs, at or after `since`."""
    d2, r2, c2 = aliased(Delivery), aliased(CampaignRun), aliased(Campaign)
    when = func.coalesce(d2.sent_at, r2.not_before, r2.scheduled_for)
    query = (select(d2.target_key.label("target_key")).join(r2, r2.id == d2.run_id).join(c2, c2.id == r2.campaign_id)
             .where(r2.id != run.id, c2.chat_type == chat_type, when >= since,
                    or_(d2.status.in_((D.SUBMITTED, D.SENT)),
                        and_(d2.status == D.PLANNED, r2.status.in_(COUNTED_RUN_STATES)))))
    return query.where(c2.category == category) if category else query


def _at_limit(sends, limit: int, name: str):
    """Targets with at least `limit` of these sends, as a subquery to LEFT JOIN."""
    sends = sends.subquery()
    return (select(sends.c.target_key).group_by(sends.c.target_key)
            .having(func.count() >= limit).subquery(name))


def _limits(run: CampaignRun, campaign: Campaign, rules: list[guards.CapRule], send_at: datetime):
    """(reason, subquery of targets that reached it), the strictest cap first, WeCom's quota last."""
    tz = settings.corp_timezone()
    found = []
    for number, rule in enumerate(guards.by_strictness(
            r for r in rules if r.applies_to(campaign.chat_type, campaign.category))):
        sends = _earlier_sends(run, rule.window_start(send_at, tz), rule.chat_type, rule.category)
        found.append((f"cap:{rule.key}", rule.max_sends == 0, _at_limit(sends, rule.max_sends, f"cap{number}")))
    since, limit = guards.quota_window(settings.get("wecom.receive_rule"), send_at, tz)
    outside = select(OutsideSend.target_key.label("target_key")).where(
        OutsideSend.chat_type == campaign.chat_type, OutsideSend.sent_at >= since)
    found.append(("wecom_quota", False,
                  _at_limit(union_all(_earlier_sends(run, since, campaign.chat_type), outside), limit, "quota")))
    return found


def _insert(run: CampaignRun, campaign: Campaign, rules: list[guards.CapRule], send_at: datetime,
            now: datetime) -> None:
    """Every target's delivery row in one INSERT ... SELECT: skipped (first reason), holdout, or planned + variant.
    Holdout customers pass the caps and quota too, so the holdout stays comparable with those actually sent to."""
    targets = _single_targets(campaign, now) if campaign.chat_type == "single" else _group_targets(campaign)
    # OFFSET 0 keeps each subquery a unit, so the digest and the verdict are computed once per row (not per use)
    targets = select(targets, _digest(campaign.id, targets.c.target_key).label("digest")).offset(0).subquery("t")
    whens = [(targets.c.reason.is_not(None), targets.c.reason)]
    query = select(targets)
    for reason, blocks_all, limited in _limits(run, campaign, rules, send_at):
        query = query.outerjoin(limited, limited.c.target_key == targets.c.target_key)
        whens.append((literal(True) if blocks_all else limited.c.target_key.is_not(None), literal(reason)))
    held = _bucket(targets.c.digest, "holdout") < guards.holdout_threshold(campaign.holdout_percent)
    judged = query.with_only_columns(targets, case(*whens, else_=None).label("skip_reason"),
                                     held.label("held")).offset(0).subquery("judged")
    status = case((judged.c.skip_reason.is_not(None), D.SKIPPED), (judged.c.held, D.HOLDOUT), else_=D.PLANNED)
    variant = case((judged.c.skip_reason.is_not(None), None), (judged.c.held, None),
                   else_=_variant(campaign, judged.c.digest))
    rows = select(literal(run.id), judged.c.target_key, judged.c.customer_id, judged.c.sender_userid, variant,
                  status, judged.c.skip_reason, literal(now, UTCDateTime()))
    db.session.execute(insert(Delivery).from_select(
        ["run_id", "target_key", "customer_id", "sender_userid", "variant_key", "status", "skip_reason",
         "updated_at"], rows))


def summary(run_id: int) -> dict:
    """Counts of a run's deliveries: by status, skipped by reason, treated by variant."""
    counts: dict = {"total": 0, D.PLANNED: 0, D.HOLDOUT: 0, D.SKIPPED: 0, "skip_reasons": {}, "variants": {}}
    rows = db.session.execute(select(Delivery.status, Delivery.skip_reason, Delivery.variant_key, func.count())
                              .where(Delivery.run_id == run_id)
                              .group_by(Delivery.status, Delivery.skip_reason, Delivery.variant_key))
    for status, reason, variant, n in rows:
        counts["total"] += n
        counts[status] = counts.get(status, 0) + n
        if reason:
            counts["skip_reasons"][reason] = counts["skip_reasons"].get(reason, 0) + n
        if variant and status != D.SKIPPED:
            counts["variants"][variant] = counts["variants"].get(variant, 0) + n
    return counts


def fill(run: CampaignRun, campaign: Campaign, now: datetime) -> None:
    """Write the run's deliveries and decide when it may go (no commit: the caller owns the transaction)."""
    policy = policies.current()
    db.session.execute(delete(Delivery).where(Delivery.run_id == run.id))
    run.not_before = policy.quiet.next_allowed(now, settings.corp_timezone())
    _insert(run, campaign, policy.cap_rules, run.not_before or now, now)
    run.counts = summary(run.id)
    run.status = RunStatus.WAITING_WINDOW if run.not_before else RunStatus.PLANNED
    run.planned_at = now


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
