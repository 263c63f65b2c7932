"""Planning a send: audience snapshot, opt-out, sender, holdout and A/B, caps and WeCom quota, quiet hours -> the outbox.

Everything is set-based (INSERT ... SELECT, UPDATE ... WHERE target IN (SELECT ...)) and happens in the caller's
transaction with the send's status change, so a send is planned completely or not at all. Holdout customers go
through the caps and quota as well, so the holdout stays comparable with the treated customers who were actually
sent to. Earlier sends of every origin count toward the caps and the quota, by their channel and category.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import (BigInteger, Integer, and_, case, cast, delete, func, insert, literal, or_, select, union_all,
                        update)
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.orm import aliased

from app.contacts.models import Customer, FollowRelation, Staff
from app.core import settings
from app.core.db import UTCDateTime
from app.extensions import db
from app.sending import guards, policies
from app.sending.models import CustomerOptOut, Delivery, DeliveryStatus as D, OutsideSend, RunStatus, Send


@dataclass(frozen=True)
class Audience:
    """Who: customers (a query of customer ids, column `customer_id`) or customer groups (a query of CustomerGroup
    rows), and the staff allowed to send (None: anyone). It is read when the send is planned: the snapshot."""

    chat_type: str
    source: Any
    senders: frozenset[str] | None = None


def customers(members, senders: set[str] | None = None) -> Audience:
    """Customers in `members`; each is sent to by the staff member of their most recent current relation."""
    return Audience("single", members, None if senders is None else frozenset(senders))


def groups(query, senders: set[str] | None = None) -> Audience:
    """Customer groups in `query`; each is sent to by its owner."""
    return Audience("group", query, None if senders is None else frozenset(senders))


@dataclass(frozen=True)
class Variant:
    """What: one version of the message ({"text", "attachments"}) for `percent` of the treated audience."""

    key: str
    percent: int
    content: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"key": self.key, "percent": self.percent, "content": self.content}


@dataclass(frozen=True)
class Request:
    """A send: who, what (one variant or an A/B split adding up to 100 %), when (not before; quiet hours still
    apply), category (for the frequency caps) and holdout key (the seed of the stable holdout and A/B draws: a
    sender that plans again with the same key holds out the same customers). Why is the Send row it plans."""

    who: Audience
    what: tuple[Variant, ...]
    category: str
    holdout_key: str
    holdout_percent: float = 0
    when: datetime | None = None
    # Per-recipient values, for content that differs by recipient (a personal link): called with batches of
    # planned recipients [(target_key, customer_id)], it answers {target_key: {variable: value}}; `{variable}` in
    # the text and in a link's title, description and url becomes the value. WeCom sends one content per task
    # (add_msg_template), so each distinct set of values is a task of its own; None: one content for everyone.
    personal: Callable[[Sequence[tuple[str, int | None]]], Mapping[str, Mapping[str, str]]] | None = None


def _active_staff():
    return select(Staff.userid).where(Staff.status == 1, Staff.removed_at.is_(None))


def _sender_pick(allowed: frozenset[str] | None):
    """Per customer, the staff member of the most recent current relation (among the allowed ones)."""
    fr = FollowRelation
    rank = func.row_number().over(partition_by=fr.external_userid,
                                  order_by=(fr.added_at.desc().nulls_last(), fr.id.desc()))
    query = select(fr.external_userid, fr.userid, rank.label("rank")).where(
        fr.ended_at.is_(None), fr.userid.in_(_active_staff()))
    if allowed is not None:
        query = query.where(fr.userid.in_(sorted(allowed)))
    return query.subquery("senders")


def _single_targets(who: Audience):
    """(target_key, customer_id, sender_userid, reason) per member: opt-out, lost, no sender come first."""
    members = who.source.subquery("members")
    senders = _sender_pick(who.senders)
    reason = case((CustomerOptOut.id.is_not(None), "opt_out"), (Customer.lost_at.is_not(None), "lost"),
                  (senders.c.userid.is_(None), "no_sender"), else_=None)
    return (select(Customer.external_userid.label("target_key"), Customer.id.label("customer_id"),
                   senders.c.userid.label("sender_userid"), reason.label("reason"))
            .select_from(Customer)
            .join(members, members.c.customer_id == Customer.id)
            .outerjoin(CustomerOptOut, CustomerOptOut.customer_id == Customer.id)
            .outerjoin(senders, and_(senders.c.external_userid == Customer.external_userid, senders.c.rank == 1))
            .subquery("targets"))


def _group_targets(who: Audience):
    """(target_key, customer_id, sender_userid, reason) per group: its owner sends, if active and allowed."""
    found = who.source.subquery("groups")
    owner_ok = found.c.owner.in_(_active_staff())
    if who.senders is not None:
        owner_ok = and_(owner_ok, found.c.owner.in_(sorted(who.senders)))
    return select(found.c.chat_id.label("target_key"), cast(None, Integer).label("customer_id"),
                  found.c.owner.label("sender_userid"),
                  case((owner_ok, None), else_="no_sender").label("reason")).subquery("targets")


def _digest(holdout_key: str, column):
    """The SQL twin of guards.digest on a target key column."""
    text = literal(f"{holdout_key}:") + column
    return func.md5(text) if db.engine.dialect.name == "postgresql" else func.campaign_md5(text)


def _bucket(digest, part: str):
    """The SQL twin of guards.bucket, from a digest column."""
    hex8 = func.substr(digest, 1 + 8 * guards.BUCKET_PARTS[part], 8)
    if db.engine.dialect.name == "postgresql":
        return cast(cast(literal("x") + hex8, BIT(32)), BigInteger) % guards.BUCKETS
    return func.campaign_hex_bucket(hex8)


def _variant(variants: tuple[Variant, ...], digest):
    if len(variants) == 1:
        return literal(variants[0].key)
    ranges = guards.variant_ranges([(v.key, v.percent) for v in variants])
    b = _bucket(digest, "ab")
    return case(*[(b < high, key) for key, _low, high in ranges[:-1]], else_=ranges[-1][0])


def _earlier_sends(send: Send, since: datetime, chat_type: str, category: str | None = None):
    """(target_key) of sends that count, of any origin: sent or on their way, of other sends, at or after `since`."""
    d2, s2 = aliased(Delivery), aliased(Send)
    when = func.coalesce(d2.sent_at, s2.send_at)
    query = (select(d2.target_key.label("target_key")).join(s2, s2.id == d2.run_id)
             .where(s2.id != send.id, s2.chat_type == chat_type, when >= since,
                    or_(d2.status.in_((D.SUBMITTED, D.SENT)),
                        and_(d2.status == D.PLANNED, s2.status.in_(RunStatus.COUNTED)))))
    return query.where(s2.category == category) if category else query


def _at_limit(sends, limit: int, name: str):
    """Targets with at least `limit` of these sends, as a subquery to LEFT JOIN."""
    sends = sends.subquery()
    return (select(sends.c.target_key).group_by(sends.c.target_key)
            .having(func.count() >= limit).subquery(name))


def _limits(send: Send, rules: list[guards.CapRule], send_at: datetime):
    """(reason, subquery of targets that reached it), the strictest cap first, WeCom's quota last."""
    tz = settings.corp_timezone()
    found = []
    for number, rule in enumerate(guards.by_strictness(
            r for r in rules if r.applies_to(send.chat_type, send.category))):
        sends = _earlier_sends(send, rule.window_start(send_at, tz), rule.chat_type, rule.category)
        found.append((f"cap:{rule.key}", rule.max_sends == 0, _at_limit(sends, rule.max_sends, f"cap{number}")))
    since, limit = guards.quota_window(settings.get("wecom.receive_rule"), send_at, tz)
    outside = select(OutsideSend.target_key.label("target_key")).where(
        OutsideSend.chat_type == send.chat_type, OutsideSend.sent_at >= since)
    found.append(("wecom_quota", False,
                  _at_limit(union_all(_earlier_sends(send, since, send.chat_type), outside), limit, "quota")))
    return found


def _insert(send: Send, request: Request, rules: list[guards.CapRule], now: datetime) -> None:
    """Every target's delivery row in one INSERT ... SELECT: skipped (first reason), holdout, or planned + variant.
    Holdout customers pass the caps and quota too, so the holdout stays comparable with those actually sent to."""
    targets = _single_targets(request.who) if request.who.chat_type == "single" else _group_targets(request.who)
    # OFFSET 0 keeps each subquery a unit, so the digest and the verdict are computed once per row (not per use)
    targets = select(targets, _digest(request.holdout_key, targets.c.target_key).label("digest")
                     ).offset(0).subquery("t")
    whens = [(targets.c.reason.is_not(None), targets.c.reason)]
    query = select(targets)
    for reason, blocks_all, limited in _limits(send, rules, send.send_at):
        query = query.outerjoin(limited, limited.c.target_key == targets.c.target_key)
        whens.append((literal(True) if blocks_all else limited.c.target_key.is_not(None), literal(reason)))
    held = _bucket(targets.c.digest, "holdout") < guards.holdout_threshold(request.holdout_percent)
    judged = query.with_only_columns(targets, case(*whens, else_=None).label("skip_reason"),
                                     held.label("held")).offset(0).subquery("judged")
    status = case((judged.c.skip_reason.is_not(None), D.SKIPPED), (judged.c.held, D.HOLDOUT), else_=D.PLANNED)
    variant = case((judged.c.skip_reason.is_not(None), None), (judged.c.held, None),
                   else_=_variant(request.what, judged.c.digest))
    rows = select(literal(send.id), judged.c.target_key, judged.c.customer_id, judged.c.sender_userid, variant,
                  status, judged.c.skip_reason, literal(now, UTCDateTime()))
    db.session.execute(insert(Delivery).from_select(
        ["run_id", "target_key", "customer_id", "sender_userid", "variant_key", "status", "skip_reason",
         "updated_at"], rows))


PERSONAL_BATCH = 1000


def _personalise(send: Send, personal) -> None:
    """Each planned recipient's values, asked of the sender in batches and kept on its delivery row (canonical JSON,
    so equal values are equal rows). Held-out and skipped recipients get none: nothing is made for them. A
    recipient the sender has no values for is skipped (no_personal): a personal message never goes out without
    its personal part."""
    last = 0
    while True:
        rows = db.session.execute(select(Delivery.id, Delivery.target_key, Delivery.customer_id).where(
            Delivery.run_id == send.id, Delivery.status == D.PLANNED, Delivery.id > last)
            .order_by(Delivery.id).limit(PERSONAL_BATCH)).all()
        if not rows:
            return
        values = personal([(r.target_key, r.customer_id) for r in rows])
        found = [dict(id=r.id, personal=json.dumps(dict(values[r.target_key]), ensure_ascii=False, sort_keys=True))
                 if values.get(r.target_key) else dict(id=r.id, status=D.SKIPPED, skip_reason="no_personal",
                                                       variant_key=None) for r in rows]
        for group in (True, False):  # executemany wants rows of one shape
            same = [row for row in found if ("personal" in row) is group]
            if same:
                db.session.execute(update(Delivery), same)
        last = rows[-1].id


def summary(send_id: int) -> dict:
    """Counts of a send's deliveries: by status, skipped by reason, treated by variant."""
    counts: dict = {"total": 0, D.PLANNED: 0, D.HOLDOUT: 0, D.SKIPPED: 0, "skip_reasons": {}, "variants": {}}
    rows = db.session.execute(select(Delivery.status, Delivery.skip_reason, Delivery.variant_key, func.count())
                              .where(Delivery.run_id == send_id)
                              .group_by(Delivery.status, Delivery.skip_reason, Delivery.variant_key))
    for status, reason, variant, n in rows:
        counts["total"] += n
        counts[status] = counts.get(status, 0) + n
        if reason:
            counts["skip_reasons"][reason] = counts["skip_reasons"].get(reason, 0) + n
        if variant and status != D.SKIPPED:
            counts["variants"][variant] = counts["variants"].get(variant, 0) + n
    return counts


def _describe(send: Send, request: Request) -> None:
    send.chat_type, send.category = request.who.chat_type, request.category
    send.holdout_key, send.holdout_percent = request.holdout_key, request.holdout_percent
    send.variants = [v.as_dict() for v in request.what]


def plan(send: Send, request: Request, now: datetime) -> None:
    """Write the send's outbox and decide when it may go (no commit: the caller owns the transaction). Planning the
    same send again replaces its rows."""
    if not request.what:
        raise ValueError("a send needs at least one variant")
    _describe(send, request)
    db.session.flush()
    db.session.execute(delete(Delivery).where(Delivery.run_id == send.id))
    earliest = max(now, request.when) if request.when else now
    quiet_end = policies.quiet_hours().next_allowed(earliest, settings.corp_timezone())
    send.not_before = quiet_end or (earliest if earliest > now else None)
    send.send_at = send.not_before or now
    db.session.flush()
    _insert(send, request, policies.cap_rules(), now)
    if request.personal is not None:
        _personalise(send, request.personal)
    send.counts = summary(send.id)
    send.status = RunStatus.WAITING_WINDOW if send.not_before else RunStatus.PLANNED
    send.planned_at = now


def plan_direct(send: Send, what: Variant, category: str, target_key: str, customer_id: int, sender_userid: str,
                now: datetime) -> None:
    """One delivery to a customer from a given staff member, past every guard, to go at once: a staff member's test
    to their own customer (no opt-out, caps, quota, holdout or quiet hours; later sends still count it)."""
    send.chat_type, send.category, send.variants = "single", category, [what.as_dict()]
    send.status, send.planned_at, send.send_at = RunStatus.PLANNED, now, now
    db.session.flush()
    db.session.add(Delivery(run_id=send.id, target_key=target_key, customer_id=customer_id,
                            sender_userid=sender_userid, variant_key=what.key, status=D.PLANNED, updated_at=now))
    db.session.flush()
    send.counts = summary(send.id)
