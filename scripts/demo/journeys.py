"""The demo's journeys: 沉睡唤醒 running for six days on customers who had gone quiet (its day-0 messages go out
through the engine now, its day-3 tasks are mostly done, the day-7 message is still ahead), 流失提醒 running,
新客 7 天 submitted by the operator and waiting in the supervisor's approvals queue."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select, update

from app.contacts.models import Customer
from app.core.db import transaction, utcnow
from app.extensions import db
from app.journeys import exits, runner, service, triggers
from app.journeys.models import EntryStatus, Journey, JourneyEntry
from app.rfm.models import Order
from app.sending.guards import in_holdout
from app.tasks.models import Task

AGO = timedelta(days=6)  # day 0 and day 3 behind it; the day-7 message (high tiers, after RFM) still to come
MAX_CUSTOMERS = 800


def _quiet_customers(t0) -> list[tuple[int, str, str | None]]:
    """(id, external_userid, owner) of customers whose last paid order before t0 was 30-89 days before it."""
    last = (select(Order.external_userid, func.max(Order.paid_at).label("last")).where(
        Order.status == "paid", Order.paid_at < t0).group_by(Order.external_userid).subquery())
    return db.session.execute(
        select(Customer.id, Customer.external_userid, triggers.owner_column()).join(
            last, last.c.external_userid == Customer.external_userid).where(
            last.c.last.between(t0 - timedelta(days=89), t0 - timedelta(days=30)), Customer.lost_at.is_(None))
        .order_by(Customer.external_userid).limit(MAX_CUSTOMERS)).all()


def _backdated_wakeup(supervisor: str) -> Journey:
    journey = service.create("沉睡唤醒", "wakeup", supervisor)
    service.submit(journey, supervisor, may_approve=True)
    t0 = utcnow() - AGO
    rows = _quiet_customers(t0)
    with transaction():
        journey.started_at = t0
        db.session.execute(insert(JourneyEntry), [
            dict(journey_id=journey.id, customer_id=cid, external_userid=ext, owner_userid=owner,
                 version=journey.live_version, held=in_holdout(journey.holdout_key, ext, 10),
                 status=EntryStatus.ACTIVE, step_index=0, due_at=t0, entered_at=t0) for cid, ext, owner in rows])
    for at in (t0 + timedelta(hours=2), t0 + timedelta(days=4)):  # the scheduler's ticks of those days
        with transaction():
            exits.sweep(journey, at)
        runner.run_due(journey, at)
    with transaction():  # staff worked through most of their day-3 tasks, some late
        tasks = db.session.scalars(select(Task).where(Task.source == "journey").order_by(Task.id)).all()
        for n, task in enumerate(tasks):
            if n % 5 < 3:
                task.state, task.done_by = "done", task.assignee
                task.done_at = task.due_at - timedelta(hours=6) if n % 5 < 2 else task.due_at + timedelta(hours=5)
        db.session.execute(update(Journey).where(Journey.id == journey.id).values(updated_at=utcnow()))
    return journey


def seed_demo_journeys(supervisor: str) -> str:
    """Once: the three templates, the wake-up one with six days behind it."""
    if db.session.scalar(select(Journey.id).limit(1)) is not None:
        return ""
    wakeup = _backdated_wakeup(supervisor)
    churn = service.create("流失提醒", "churn_alert", supervisor)
    service.submit(churn, supervisor, may_approve=True)
    newcomer = service.create("新客 7 天", "newcomer", "operator")
    service.submit(newcomer, "operator", may_approve=False)  # waits in the supervisor's approvals queue
    entered = db.session.scalar(select(func.count()).select_from(JourneyEntry).where(
        JourneyEntry.journey_id == wakeup.id))
    return f"已创建客户旅程：「沉睡唤醒」运行 6 天（{entered} 位沉睡客户），「流失提醒」运行中，「新客 7 天」待主管审批（见沉睡唤醒页和审批队列）"
