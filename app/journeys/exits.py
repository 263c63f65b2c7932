"""Moving customers out of journeys: the exit signals as SQL over an entry, the sweep, and the hook for new activity.

An order or event through the API, and each batch of an order file's import, calls `on_activity` in the transaction
that stores it, so its customer is out before the API answers or the import's batch commits (an order naming only a
unionid or a mobile is matched to its customer there too); the send engine asks again (models.JourneySend.withdrawn)
before it cuts a send into tasks, and the minute tick sweeps whatever came in another way (a sync, an order matched
by the nightly recompute).
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import exists, false, or_, select, update

from app.contacts.models import Customer, FollowRelation
from app.core.permissions import N_
from app.extensions import db
from app.journeys.models import EntryStatus, Journey, JourneyEntry, JourneyStatus
from app.lifecycle.models import StageMovement
from app.rfm.models import CustomerEvent, Order
from app.sending.models import CustomerOptOut

E = JourneyEntry
LABELS = {"order": N_("下单"), "event": N_("有互动（事件）"), "relation_deleted": N_("删除了成员或被删除"),
          "opt_out": N_("设置了免打扰"), "condition": N_("不满足步骤条件"), "manual": N_("手动移出"), "archived": N_("旅程已归档"),
          "stage_changed": N_("进入了其他生命周期阶段"), "completed": N_("走完全部步骤")}
ORDER_EXITS = ("order", "event")


def _conditions() -> dict:
    """Each exit signal as a condition on the entry row (E), seen at or after its entry where time matters."""
    return {
        "order": exists().where(Order.external_userid == E.external_userid, Order.status == "paid",
                                Order.paid_at >= E.entered_at),
        "event": exists().where(CustomerEvent.external_userid == E.external_userid,
                                CustomerEvent.occurred_at >= E.entered_at),
        "relation_deleted": or_(
            exists().where(Customer.id == E.customer_id, Customer.lost_at.is_not(None)),
            exists().where(FollowRelation.external_userid == E.external_userid, FollowRelation.userid == E.owner_userid,
                           FollowRelation.ended_at.is_not(None), FollowRelation.ended_at >= E.entered_at)),
        "opt_out": exists().where(CustomerOptOut.customer_id == E.customer_id),
        "stage_changed": exists().where(StageMovement.external_userid == E.external_userid,
                                        StageMovement.at > E.entered_at),
    }


def chosen(spec: dict) -> list[str]:
    return [key for key in spec.get("exits") or [] if key in _conditions()]


def signalled(spec: dict):
    """True for an entry whose customer has given any of the journey's exit signals."""
    conds = _conditions()
    keys = chosen(spec)
    return or_(*[conds[k] for k in keys]) if keys else false()


def sweep(journey: Journey, now: datetime, external_userids: Iterable[str] | None = None,
          only: tuple[str, ...] | None = None) -> int:
    """End the journey's active entries that gave an exit signal (within the caller's transaction); how many."""
    conds = _conditions()
    total = 0
    for key in chosen(journey.live or {}):
        if only is not None and key not in only:
            continue
        where = [E.journey_id == journey.id, E.status == EntryStatus.ACTIVE, conds[key]]
        if external_userids is not None:
            where.append(E.external_userid.in_(sorted(set(external_userids))))
        total += db.session.execute(
            update(E).where(*where).values(status=EntryStatus.EXITED, exit_reason=key, ended_at=now),
            execution_options={"synchronize_session": False}).rowcount or 0
    return total


def running() -> list[Journey]:
    return list(db.session.scalars(select(Journey).where(Journey.status.in_(
        (JourneyStatus.ACTIVE, JourneyStatus.PAUSED))).order_by(Journey.id)))


def on_activity(external_userids: Iterable[str], now: datetime) -> int:
    """New orders or events of these customers: end their entries in journeys that exit on them (caller's
    transaction). A few indexed statements per running journey, whatever the batch."""
    ids = sorted({x for x in external_userids if x})
    if not ids:
        return 0
    present = set(db.session.scalars(select(E.journey_id).where(E.external_userid.in_(ids),
                                                                 E.status == EntryStatus.ACTIVE).distinct()))
    return sum(sweep(j, now, ids, ORDER_EXITS) for j in running() if j.id in present)


def remove(journey: Journey, entry_ids: list[int], now: datetime) -> int:
    return db.session.execute(update(E).where(E.journey_id == journey.id, E.id.in_(entry_ids),
                                              E.status == EntryStatus.ACTIVE)
                              .values(status=EntryStatus.EXITED, exit_reason="manual", ended_at=now),
                              execution_options={"synchronize_session": False}).rowcount or 0

