"""What the lifecycle page shows: customers per stage, movements since yesterday and per day, samples, member lists."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select

from app.contacts.models import Customer
from app.contacts.scope import Scope
from app.core import settings
from app.extensions import db
from app.lifecycle.models import STAGES, CustomerStage, StageMovement

CHART_DAYS = 30
SAMPLES = 5
FILTERS = ("stage", "from", "since", "mark_state")


def today() -> date:
    return datetime.now(settings.corp_timezone()).date()


def counts(scope: Scope) -> dict[str, int]:
    """Customers per stage (every stage listed, zero included)."""
    found = dict(db.session.execute(select(CustomerStage.stage, func.count()).where(
        scope.customer_filter(CustomerStage.external_userid)).group_by(CustomerStage.stage)).all())
    return {stage: found.get(stage, 0) for stage in STAGES}


def moves_since(scope: Scope, first_day: date) -> list[tuple[str | None, str, int]]:
    """(from, to, customers) of the movements on `first_day` or later, the biggest first (first stagings apart)."""
    return [tuple(row) for row in db.session.execute(
        select(StageMovement.from_stage, StageMovement.to_stage, func.count())
        .where(StageMovement.day >= first_day, StageMovement.from_stage.is_not(None),
               scope.customer_filter(StageMovement.external_userid))
        .group_by(StageMovement.from_stage, StageMovement.to_stage)
        .order_by(func.count().desc(), StageMovement.from_stage, StageMovement.to_stage))]


def daily_entries(scope: Scope, last_day: date, days: int = CHART_DAYS) -> dict:
    """Per day of the last `days`: how many customers entered each stage (first stagings apart), for the chart."""
    first_day = last_day - timedelta(days=days - 1)
    rows = db.session.execute(
        select(StageMovement.day, StageMovement.to_stage, func.count())
        .where(StageMovement.day >= first_day, StageMovement.day <= last_day, StageMovement.from_stage.is_not(None),
               scope.customer_filter(StageMovement.external_userid))
        .group_by(StageMovement.day, StageMovement.to_stage))
    series = {stage: [0] * days for stage in STAGES}
    for day, stage, n in rows:
        if stage in series:
            series[stage][(day - first_day).days] = n
    return {"days": [(first_day + timedelta(days=i)).strftime("%m-%d") for i in range(days)], "series": series}


@dataclass
class Sample:
    external_userid: str
    name: str
    since: date
    last_interaction_at: datetime | None


def samples(scope: Scope, stage: str, limit: int = SAMPLES) -> list[Sample]:
    """The customers who entered `stage` most recently."""
    rows = db.session.execute(
        select(CustomerStage.external_userid, Customer.name, CustomerStage.since, CustomerStage.last_interaction_at)
        .join(Customer, Customer.external_userid == CustomerStage.external_userid)
        .where(CustomerStage.stage == stage, scope.customer_filter(CustomerStage.external_userid))
        .order_by(CustomerStage.since.desc(), CustomerStage.external_userid).limit(limit))
    return [Sample(*row) for row in rows]


def member_query(args: dict[str, str], scope: Scope) -> Select:
    """Stage rows (joined with their customer) of the customers matching the list's filters: a stage, the stage they
    came from (with `since`, an ISO day: moved on or after it), the tag state; longest in their stage first."""
    query = (select(CustomerStage).join(Customer, Customer.external_userid == CustomerStage.external_userid)
             .where(scope.customer_filter(CustomerStage.external_userid)))
    if args.get("stage"):
        query = query.where(CustomerStage.stage == args["stage"])
    if args.get("mark_state"):
        query = query.where(CustomerStage.mark_state == args["mark_state"])
    if args.get("from") or args.get("since"):
        try:
            first_day = date.fromisoformat(args["since"]) if args.get("since") else date.min
        except ValueError:
            first_day = date.max  # an unreadable day matches nothing
        moved = select(StageMovement.external_userid).where(StageMovement.day >= first_day)
        if args.get("from"):
            moved = moved.where(StageMovement.from_stage == args["from"])
        if args.get("stage"):
            moved = moved.where(StageMovement.to_stage == args["stage"])
        query = query.where(CustomerStage.external_userid.in_(moved))
    return query.order_by(CustomerStage.since, CustomerStage.external_userid)


def names(external_userids: list[str]) -> dict[str, str]:
    return dict(db.session.execute(select(Customer.external_userid, Customer.name)
                                   .where(Customer.external_userid.in_(external_userids))).all())


def mark_backlog(scope: Scope) -> dict[str, int]:
    """Customers whose 生命周期 tag WeCom does not carry yet, per mark state."""
    return dict(db.session.execute(select(CustomerStage.mark_state, func.count()).where(
        CustomerStage.mark_state.in_(("pending", "failed")), scope.customer_filter(CustomerStage.external_userid))
        .group_by(CustomerStage.mark_state)).all())
