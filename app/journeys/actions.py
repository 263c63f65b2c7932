"""The steps done per entry: a task for the customer's staff member, or an app message to that member and their
supervisors (流失提醒) with the customer's RFM and last orders. Held-out entries are logged, never acted on."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.contacts.models import Customer
from app.extensions import db
from app.journeys.models import Journey, JourneyEntry as E, JourneyStepLog as L
from app.rfm.models import CustomerRfmScore, Order
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.staffmsg.service import notify
from app.tasks.service import TaskError, create_task
from app.tasks.supervisors import supervisors_of

LAST_ORDERS = 3


def _fen(amount: int) -> str:
    return f"¥{amount / 100:,.2f}"


def customer_brief(external_userid: str) -> str:
    """The customer's RFM and last orders, in the corp's language (an app message written by a job)."""
    name = db.session.scalar(select(Customer.name).where(Customer.external_userid == external_userid)) or ""
    lines = [f"客户：{name or external_userid}"]
    score = db.session.get(CustomerRfmScore, external_userid)
    if score is not None and score.segment:
        lines.append(f"RFM：{SEGMENT_LABELS.get(score.segment, score.segment)} · "
                     f"{CLASS_LABELS.get(score.class8, score.class8 or '')}，{score.frequency} 单，"
                     f"共 {_fen(score.monetary_fen)}，{score.recency_days} 天前下单")
    orders = db.session.execute(select(Order.paid_at, Order.amount_fen).where(
        Order.external_userid == external_userid, Order.status == "paid").order_by(Order.paid_at.desc())
        .limit(LAST_ORDERS)).all()
    for paid_at, amount in orders:
        lines.append(f"{paid_at:%Y-%m-%d} {_fen(amount)}")
    if not orders:
        lines.append("没有订单")
    return "\n".join(lines)


def _task(journey: Journey, index: int, step: dict, entry, now: datetime) -> str | None:
    try:
        task = create_task(entry.owner_userid or "", step["title"], now + timedelta(hours=step["due_hours"]),
                           source="journey", source_key=f"journey:{journey.id}:{entry.id}:{step['id']}",
                           body=journey.name, external_userid=entry.external_userid, created_by="journey")
    except TaskError:
        return None
    return str(task.id)


def _notify(journey: Journey, index: int, step: dict, entry, now: datetime) -> str | None:
    if not entry.owner_userid:
        return None
    body = customer_brief(entry.external_userid)
    url = f"/contacts/{entry.external_userid}"
    for userid in [entry.owner_userid, *supervisors_of([entry.owner_userid])[entry.owner_userid]]:
        notify(userid, f"journey:{journey.id}:{entry.id}:{step['id']}:{userid}", step["title"], body, url=url,
               feature="journeys")
    return entry.owner_userid


DO = {"task": _task, "notify": _notify}


def run(journey: Journey, index: int, step: dict, where: list, now: datetime) -> None:
    """Each due entry: the step's action (held-out entries only logged), its log row and its advance."""
    entries = db.session.execute(select(E.id, E.external_userid, E.owner_userid, E.held).where(*where)
                                 .order_by(E.id)).all()
    logs = []
    for entry in entries:
        ref = None if entry.held else DO[step["kind"]](journey, index, step, entry, now)
        outcome = "held" if entry.held else (step["kind"] if ref else "skipped")
        logs.append(dict(journey_id=journey.id, entry_id=entry.id, step_index=index, step_id=step["id"],
                         outcome=outcome, task_ref=ref, at=now))
    if logs:
        db.session.execute(L.__table__.insert(), logs)
    db.session.execute(update(E).where(*where).values(step_index=index + 1),
                       execution_options={"synchronize_session": False})
