"""A test run of a journey's draft on chosen customers: what each step would do for each of them now, sending
nothing (an unapproved draft never reaches a customer)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import literal, select

from app.contacts.models import Customer
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.journeys import conditions, triggers
from app.journeys.models import Journey
from app.sending.guards import in_holdout
from app.sending.models import CustomerOptOut

MAX_CUSTOMERS = 20


@dataclass
class Walk:
    external_userid: str
    name: str = ""
    found: bool = True
    triggered: bool = False
    owner: str | None = None
    held: bool = False
    blocked: str | None = None             # opt_out / lost / no_owner: no message would be planned
    steps: list[tuple[str, str]] = field(default_factory=list)  # (kind, what happens)


def _holds(condition: dict, ext: str, now: datetime) -> bool:
    return bool(db.session.scalar(select(conditions.holds(condition, literal(ext), literal(now)))))


def walk(journey: Journey, external_userids: list[str], now: datetime) -> list[Walk]:
    ids = list(dict.fromkeys(x.strip() for x in external_userids if x.strip()))
    if not ids:
        raise UserError(N_("请填写至少一位客户的 external_userid"))
    if len(ids) > MAX_CUSTOMERS:
        raise UserError(N_("试运行最多 %(n)s 位客户"), n=MAX_CUSTOMERS)
    spec = journey.draft
    probe = Journey(id=journey.id, live=spec, started_at=journey.started_at, watermark=0)
    named = {r[1]: r for r in db.session.execute(triggers.candidates(probe, now).where(
        Customer.external_userid.in_(ids))).all()}
    customers = {c.external_userid: c for c in db.session.scalars(select(Customer).where(
        Customer.external_userid.in_(ids)))}
    opted = set(db.session.scalars(select(CustomerOptOut.customer_id)))
    owner_of = dict(db.session.execute(select(Customer.external_userid, triggers.owner_column()).where(
        Customer.external_userid.in_(ids))).all())
    walks = []
    for ext in ids:
        customer = customers.get(ext)
        if customer is None:
            walks.append(Walk(ext, found=False))
            continue
        w = Walk(ext, customer.name, triggered=ext in named, owner=owner_of.get(ext),
                 held=in_holdout(journey.holdout_key, ext, spec.get("holdout_percent", 0)))
        w.blocked = ("opt_out" if customer.id in opted else "lost" if customer.lost_at else
                     "no_owner" if not w.owner else None)
        for step in spec["steps"]:
            if (condition := step.get("if")) and not _holds(condition, ext, now):
                w.steps.append((step["kind"], "exit" if step.get("otherwise") == "exit" else "skip"))
                if step.get("otherwise") == "exit":
                    break
                continue
            w.steps.append((step["kind"], "held" if w.held and step["kind"] != "wait" else "do"))
        walks.append(w)
    return walks
