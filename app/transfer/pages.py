"""What the transfer pages show: departed members with what they left, a batch's counts and rows, recent batches."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from app.contacts.models import Customer, CustomerGroup, Staff
from app.contacts.scope import Scope
from app.contacts.staff_labels import staff_labels
from app.core.permissions import N_
from app.extensions import db
from app.transfer.models import (CUSTOMER, FAILED, OPEN, PENDING, REFUSED, SUCCEEDED, WAITING, StaffBackup,
                                 TransferBatch, TransferItem, UnassignedCustomer)

STATUS_LABELS = {REFUSED: N_("未提交（不符合规则）"), PENDING: N_("待提交"), WAITING: N_("等待接替"),
                 SUCCEEDED: N_("已接替"), FAILED: N_("失败")}
STATUS_ORDER = (WAITING, SUCCEEDED, FAILED, REFUSED, PENDING)
KIND_LABELS = {"resigned": N_("离职继承"), "onjob": N_("在职继承")}
TARGET_LABELS = {"customer": N_("客户"), "group": N_("客户群")}
PAGE_ROWS = 500


@dataclass
class Departed:
    userid: str
    label: str
    dimission_at: datetime | None
    customers: int = 0
    groups: int = 0
    in_transfer: int = 0      # of the customers: handed over already, waiting for the takeover
    backup: str | None = None
    backup_label: str = ""


def departed(scope: Scope) -> list[Departed]:
    """Members who left with customers (get_unassigned_list) or groups waiting for 离职继承 (status 1), in scope."""
    rows = db.session.execute(select(UnassignedCustomer.handover_userid, func.count(),
                                     func.max(UnassignedCustomer.dimission_at))
                              .group_by(UnassignedCustomer.handover_userid)).all()
    people = {u: Departed(u, u, at, n) for u, n, at in rows}
    for owner, n in db.session.execute(select(CustomerGroup.owner, func.count()).where(
            CustomerGroup.dismissed_at.is_(None), or_(CustomerGroup.status == 1, CustomerGroup.owner.in_(list(people))))
            .group_by(CustomerGroup.owner)):
        if owner in people or n:
            people.setdefault(owner, Departed(owner, owner, None)).groups = n
    # a group owner still in the directory (not removed) has not left: only status 1 groups make them departed
    staying = set(db.session.scalars(select(Staff.userid).where(Staff.userid.in_(list(people)),
                                                                Staff.removed_at.is_(None), Staff.status == 1)))
    chosen = [p for u, p in people.items() if (p.customers or u not in staying)
              and (scope.everything or u in scope.userids)]
    moving = dict(db.session.execute(
        select(UnassignedCustomer.handover_userid, func.count()).join(TransferItem, and_(
            TransferItem.object_id == UnassignedCustomer.external_userid, TransferItem.target == CUSTOMER,
            TransferItem.handover_userid == UnassignedCustomer.handover_userid, TransferItem.status.in_(OPEN)))
        .group_by(UnassignedCustomer.handover_userid)).all())
    backups = dict(db.session.execute(select(StaffBackup.userid, StaffBackup.backup_userid)
                                      .where(StaffBackup.userid.in_([p.userid for p in chosen]))).all())
    labels = staff_labels([p.userid for p in chosen] + list(backups.values()))
    for p in chosen:
        p.label, p.backup = labels.get(p.userid, p.userid), backups.get(p.userid)
        p.in_transfer = moving.get(p.userid, 0)
        p.backup_label = labels.get(p.backup, p.backup or "")
    return sorted(chosen, key=lambda p: (-p.customers, p.userid))


def last_refresh() -> datetime | None:
    return db.session.scalar(select(func.max(UnassignedCustomer.fetched_at)))


def in_scope(scope: Scope, batch: TransferBatch | None) -> bool:
    """A batch this scope may see: of a member it sees (a supervisor: their departments' members)."""
    return batch is not None and (scope.everything or batch.handover_userid in scope.userids)


def reason_text(item: TransferItem) -> str:
    """Why an item was refused or failed, in the reader's language."""
    return _(item.reason, **(item.reason_params or {})) if item.reason else ""


def batches(scope: Scope, limit: int = 20) -> list[tuple[TransferBatch, dict[str, int]]]:
    query = select(TransferBatch).order_by(TransferBatch.id.desc()).limit(limit)
    if not scope.everything:
        query = query.where(TransferBatch.handover_userid.in_(sorted(scope.userids)))
    found = db.session.scalars(query).all()
    return [(b, counts(b.id)) for b in found]


def counts(batch_id: int) -> dict[str, int]:
    return dict(db.session.execute(select(TransferItem.status, func.count()).where(TransferItem.batch_id == batch_id)
                                   .group_by(TransferItem.status)).all())


@dataclass
class Row:
    item: TransferItem
    name: str
    detail: str = ""


@dataclass
class BatchView:
    batch: TransferBatch
    counts: dict[str, int]
    rows: list[Row] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    more: bool = False


def batch_view(batch: TransferBatch, status: str = "", limit: int | None = PAGE_ROWS, offset: int = 0) -> BatchView:
    query = select(TransferItem).where(TransferItem.batch_id == batch.id).order_by(TransferItem.id).offset(offset)
    if status:
        query = query.where(TransferItem.status == status)
    if limit is not None:
        query = query.limit(limit + 1)
    items = db.session.scalars(query).all()
    more = limit is not None and len(items) > limit
    items = items[:limit] if limit is not None else items
    customers = [i.object_id for i in items if i.target == CUSTOMER]
    groups = [i.object_id for i in items if i.target != CUSTOMER]
    names = {}
    for start in range(0, len(customers), 900):
        names.update(db.session.execute(select(Customer.external_userid, Customer.name).where(
            Customer.external_userid.in_(customers[start:start + 900]))).all())
    if groups:
        names.update(db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.name).where(
            CustomerGroup.chat_id.in_(groups))).all())
    labels = staff_labels([batch.handover_userid, batch.takeover_userid])
    return BatchView(batch, counts(batch.id), [Row(i, names.get(i.object_id) or "") for i in items],
                     {u: labels.get(u, u) for u in (batch.handover_userid, batch.takeover_userid)}, more)
