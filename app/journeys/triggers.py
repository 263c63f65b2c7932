"""Entering customers: each trigger as a query of candidates, the re-entry rule, the holdout draw, the bulk insert."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, insert, literal, select, text, true

from app.contacts.models import Customer, FollowRelation as FR
from app.extensions import db
from app.journeys.models import EntryStatus, Journey, JourneyEntry as E
from app.lifecycle.models import CustomerStage, StageMovement
from app.rfm.models import Order
from app.sending.guards import in_holdout

BATCH = 5000


def _has_tag(tag_id: str):
    if db.engine.dialect.name == "postgresql":
        return text("CAST(follow_relations.tag_ids AS jsonb) @> CAST(:tag AS jsonb)").bindparams(tag=f'["{tag_id}"]')
    return text("EXISTS (SELECT 1 FROM json_each(follow_relations.tag_ids) WHERE value = :tag)").bindparams(
        tag=tag_id)


def owner_column():
    """The staff member of the customer's newest current relation (who sends and gets the tasks)."""
    return (select(FR.userid).where(FR.external_userid == Customer.external_userid, FR.ended_at.is_(None))
            .order_by(FR.added_at.desc().nulls_last(), FR.id.desc()).limit(1).correlate(Customer).scalar_subquery())


def candidates(journey: Journey, now: datetime, upper: int | None = None):
    """(customer id, external_userid, owner) of customers the trigger names now, before the re-entry rule; a stage
    trigger reads the movements after the journey's watermark up to `upper`."""
    trigger = (journey.live or {}).get("trigger") or {}
    kind, since = trigger.get("kind"), journey.started_at or now
    owner = owner_column()
    where = [Customer.lost_at.is_(None)]
    if kind == "stage":
        stage = trigger["stage"]
        where += [exists().where(CustomerStage.external_userid == Customer.external_userid,
                                 CustomerStage.stage == stage),
                  exists().where(StageMovement.external_userid == Customer.external_userid,
                                 StageMovement.id > journey.watermark, StageMovement.to_stage == stage,
                                 true() if upper is None else StageMovement.id <= upper)]
        if stage == "lost":
            where = where[1:]
    elif kind == "channel":
        states = trigger.get("states") or []
        where.append(exists().where(FR.external_userid == Customer.external_userid, FR.ended_at.is_(None),
                                    FR.added_at >= since, FR.state.in_(states) if states else true()))
    elif kind == "tag":
        where.append(exists().where(FR.external_userid == Customer.external_userid, FR.ended_at.is_(None),
                                    _has_tag(trigger["tag_id"])))
    elif kind == "first_order":
        first = (select(Order.external_userid).where(Order.status == "paid", Order.external_userid.is_not(None))
                 .group_by(Order.external_userid).having(func.min(Order.paid_at) >= since))
        where.append(Customer.external_userid.in_(first))
    elif kind == "no_order_after_add":
        days = timedelta(days=trigger["days"])
        added = (select(func.min(FR.added_at)).where(FR.external_userid == Customer.external_userid)
                 .correlate(Customer).scalar_subquery())
        where += [added <= now - days, added >= since - days,
                  ~exists().where(Order.external_userid == Customer.external_userid, Order.status == "paid")]
    elif kind == "customer_deleted_staff":
        gone = (select(FR.userid).where(FR.external_userid == Customer.external_userid, FR.ended_by == "customer",
                                        FR.ended_at >= since)
                .order_by(FR.ended_at.desc()).limit(1).correlate(Customer).scalar_subquery())
        return select(Customer.id, Customer.external_userid, gone.label("owner")).where(gone.is_not(None))
    else:
        raise ValueError(f"unknown trigger {kind!r}")
    return select(Customer.id, Customer.external_userid, owner.label("owner")).where(*where)


def _not_again(journey: Journey, now: datetime):
    """The re-entry rule: never twice at once; again only `reentry_days` after the last entry (None: never)."""
    spec = journey.live or {}
    earlier = and_(E.journey_id == journey.id, E.customer_id == Customer.id)
    if spec.get("reentry_days") is None:
        return ~exists().where(earlier)
    return ~exists().where(earlier, (E.status == EntryStatus.ACTIVE)
                           | (E.entered_at > now - timedelta(days=spec["reentry_days"])))


def enter(journey: Journey, now: datetime, only_customer_ids: list[int] | None = None) -> int:
    """Enter the trigger's customers (caller's transaction); how many. Each gets the journey's holdout draw."""
    staged = (journey.live or {}).get("trigger", {}).get("kind") == "stage"
    upper = db.session.scalar(select(func.coalesce(func.max(StageMovement.id), literal(0)))) if staged else None
    query = candidates(journey, now, upper).where(_not_again(journey, now))
    if only_customer_ids is not None:
        query = query.where(Customer.id.in_(only_customer_ids))
    rows = db.session.execute(query.order_by(Customer.id)).all()
    percent = (journey.live or {}).get("holdout_percent", 0)
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(E), [
            dict(journey_id=journey.id, customer_id=r[0], external_userid=r[1], owner_userid=r[2],
                 version=journey.live_version, held=in_holdout(journey.holdout_key, r[1], percent),
                 status=EntryStatus.ACTIVE, step_index=0, due_at=now, entered_at=now)
            for r in rows[start:start + BATCH]])
    if staged and only_customer_ids is None:
        journey.watermark = upper
    return len(rows)
