"""Planning a transfer: the chosen customers and groups checked against WeCom's rules before any call, each refusal
kept with its reason, the rest queued for the submit job; backups (AB角); who left and what they left behind."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import case, func, select

from app.contacts.models import CustomerGroup, FollowRelation, Staff
from app.core import audit, settings
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.transfer import limits
from app.transfer.models import (CUSTOMER, GROUP, ONJOB, OPEN, PENDING, REFUSED, RESIGNED, SUCCEEDED, StaffBackup,
                                 TransferBatch, TransferItem, UnassignedCustomer)

IN_CHUNK = 900        # ids per IN (...) query
MAX_CUSTOMERS = 20_000  # one batch: a departed member's whole book fits; more is refused with a reason


class TransferRequestError(UserError):
    """The request names no valid member or nothing to move; nothing was planned."""


def _chunks(ids: list[str]):
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start:start + IN_CHUNK]


def active_staff(userid: str) -> Staff | None:
    """A member who can take over customers: in the directory, activated, with customer contact."""
    return db.session.scalar(select(Staff).where(Staff.userid == userid, Staff.removed_at.is_(None),
                                                 Staff.status == 1, Staff.is_follow_user.is_(True)))


def backup_of(userid: str) -> str | None:
    return db.session.scalar(select(StaffBackup.backup_userid).where(StaffBackup.userid == userid))


def backups_of(userids: list[str]) -> dict[str, str | None]:
    found = dict(db.session.execute(select(StaffBackup.userid, StaffBackup.backup_userid)
                                    .where(StaffBackup.userid.in_(list(userids)))).all())
    return {u: found.get(u) for u in userids}


def set_backup(userid: str, backup_userid: str, actor: str) -> None:
    """Set (or with an empty backup, clear) a staff member's AB角."""
    if not db.session.scalar(select(Staff.id).where(Staff.userid == userid)):
        raise TransferRequestError(N_("没有这个员工：%(userid)s"), userid=userid)
    with transaction():
        row = db.session.get(StaffBackup, userid)
        if not backup_userid:
            if row is not None:
                db.session.delete(row)
                audit.record("transfer.backup_set", target=userid, details={"backup": None})
            return
        if backup_userid == userid:
            raise TransferRequestError(N_("AB 角不能是员工本人"))
        if active_staff(backup_userid) is None:
            raise TransferRequestError(N_("AB 角须为在职、有客户联系权限的员工：%(userid)s"), userid=backup_userid)
        if row is None:
            db.session.add(StaffBackup(userid=userid, backup_userid=backup_userid, updated_by=actor))
        else:
            row.backup_userid, row.updated_by, row.updated_at = backup_userid, actor, utcnow()
        audit.record("transfer.backup_set", target=userid, details={"backup": backup_userid})


def resolve_takeover(handover: str, takeover: str) -> str:
    """The chosen member, or (`takeover` == "backup") the handover member's AB角; refused unless they can take over."""
    if takeover == "backup":
        takeover = backup_of(handover) or ""
        if not takeover:
            raise TransferRequestError(N_("该员工还没有设置 AB 角，请选择接替成员"))
    if not takeover:
        raise TransferRequestError(N_("请选择接替成员"))
    if active_staff(takeover) is None:
        raise TransferRequestError(N_("接替成员须为在职、已激活且有客户联系权限的员工：%(userid)s"), userid=takeover)
    if takeover == handover:
        raise TransferRequestError(N_("接替成员不能是原跟进成员"))
    return takeover


# -- what each customer's history says -------------------------------------------------------------
def _histories(exts: list[str], follows: set[str]) -> dict[str, limits.CustomerHistory]:
    accepted, last, open_ = {}, {}, set()
    for chunk in _chunks(exts):
        rows = db.session.execute(
            select(TransferItem.object_id, func.count(TransferItem.accepted_at),
                   func.max(case((TransferItem.status == SUCCEEDED, TransferItem.finished_at))),
                   func.sum(case((TransferItem.status.in_(OPEN), 1), else_=0)))
            .where(TransferItem.target == CUSTOMER, TransferItem.object_id.in_(chunk))
            .group_by(TransferItem.object_id)).all()
        for ext, count, success, opened in rows:
            accepted[ext], last[ext] = count, success
            if opened:
                open_.add(ext)
    return {e: limits.CustomerHistory(accepted.get(e, 0), _aware(last.get(e)), e in open_, e in follows)
            for e in exts}


def _aware(at: datetime | None) -> datetime | None:
    """SQLite hands aggregated times back without their zone (stored as UTC)."""
    return at.replace(tzinfo=timezone.utc) if at is not None and at.tzinfo is None else at


def _day(at: datetime) -> str:
    return at.astimezone(settings.corp_timezone()).date().isoformat()


def _followed(handover: str, exts: list[str], resigned: bool) -> set[str]:
    found = set()
    for chunk in _chunks(exts):
        if resigned:
            stmt = select(UnassignedCustomer.external_userid).where(UnassignedCustomer.handover_userid == handover,
                                                                    UnassignedCustomer.external_userid.in_(chunk))
        else:
            stmt = select(FollowRelation.external_userid).where(FollowRelation.userid == handover,
                                                                FollowRelation.ended_at.is_(None),
                                                                FollowRelation.external_userid.in_(chunk))
        found |= set(db.session.scalars(stmt))
    return found


def _group_states(handover: str, chat_ids: list[str], now: datetime) -> tuple[list[limits.GroupState], int]:
    owners = dict(db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.owner).where(
        CustomerGroup.chat_id.in_(chat_ids), CustomerGroup.dismissed_at.is_(None))).all())
    moves = dict(db.session.execute(
        select(TransferItem.object_id, func.count()).join(TransferBatch, TransferBatch.id == TransferItem.batch_id)
        .where(TransferItem.target == GROUP, TransferItem.object_id.in_(chat_ids), TransferItem.status == SUCCEEDED,
               TransferBatch.kind == ONJOB, TransferItem.finished_at > now - limits.PROTECTION)
        .group_by(TransferItem.object_id)).all())
    today = db.session.scalar(select(func.count()).select_from(TransferItem).where(
        TransferItem.target == GROUP, TransferItem.handover_userid == handover, TransferItem.status == SUCCEEDED,
        TransferItem.finished_at > now - limits.GROUP_WINDOW)) or 0
    return [limits.GroupState(c, owners.get(c), moves.get(c, 0)) for c in chat_ids], today


@dataclass
class Selection:
    kind: str                 # RESIGNED | ONJOB
    handover: str
    takeover: str             # a userid or "backup"
    customers: list[str]
    groups: list[str]
    success_msg: str = ""


def plan(selection: Selection, actor: str) -> TransferBatch:
    """Check every chosen customer and group before any call to WeCom: refused ones keep their reason, the others
    wait for the submit job (enqueued here). Nothing is written when the request itself is wrong."""
    from app import jobs

    takeover = resolve_takeover(selection.handover, selection.takeover)
    customers = list(dict.fromkeys(c for c in selection.customers if c))
    groups = list(dict.fromkeys(g for g in selection.groups if g))
    if not customers and not groups:
        raise TransferRequestError(N_("没有可转接的客户或客户群"))
    if len(customers) > MAX_CUSTOMERS:
        raise TransferRequestError(N_("一批最多转接 %(limit)s 位客户，请缩小范围"), limit=MAX_CUSTOMERS)
    if len(selection.success_msg) > 200:
        raise TransferRequestError(N_("转接成功后发给客户的消息最多 200 个字"))
    now, resigned = utcnow(), selection.kind == RESIGNED
    with transaction():
        batch = TransferBatch(kind=selection.kind, handover_userid=selection.handover, takeover_userid=takeover,
                              success_msg="" if resigned else selection.success_msg, created_by=actor,
                              created_at=now)
        db.session.add(batch)
        db.session.flush()
        histories = _histories(customers, _followed(selection.handover, customers, resigned))
        rows = []
        for ext in customers:
            refusal = limits.customer_refusal(histories[ext], selection.handover, takeover, now, _day)
            rows.append(_item(batch, CUSTOMER, ext, refusal))
        if groups:
            states, today = _group_states(selection.handover, groups, now)
            for chat_id, refusal in limits.group_refusals(states, selection.handover, takeover, today,
                                                          onjob=not resigned).items():
                rows.append(_item(batch, GROUP, chat_id, refusal))
        db.session.execute(TransferItem.__table__.insert(), rows)
        pending = sum(1 for r in rows if r["status"] == PENDING)
        audit.record("transfer.planned", target=f"batch:{batch.id}", details={
            "kind": selection.kind, "handover": selection.handover, "takeover": takeover,
            "customers": len(customers), "groups": len(groups), "refused": len(rows) - pending})
    if pending:
        job = jobs.enqueue("transfer.submit", {"batch_id": batch.id}, requested_by=actor,
                           unique=f"transfer.submit:{batch.id}")
        with transaction():
            batch.job_id = job.id
    return batch


def _item(batch: TransferBatch, target: str, object_id: str, refusal: limits.Refusal | None) -> dict:
    return {"batch_id": batch.id, "target": target, "object_id": object_id, "handover_userid": batch.handover_userid,
            "takeover_userid": batch.takeover_userid, "status": REFUSED if refusal else PENDING,
            "reason": refusal.message if refusal else "", "reason_params": refusal.params if refusal else {},
            "owner_moved": False}


# -- what a page offers ------------------------------------------------------------------------------
def unassigned_of(handover: str) -> list[str]:
    return list(db.session.scalars(select(UnassignedCustomer.external_userid).where(
        UnassignedCustomer.handover_userid == handover).order_by(UnassignedCustomer.id)))


def groups_of(owner: str) -> list[str]:
    return list(db.session.scalars(select(CustomerGroup.chat_id).where(
        CustomerGroup.owner == owner, CustomerGroup.dismissed_at.is_(None)).order_by(CustomerGroup.id)))


def customers_of(userid: str) -> list[str]:
    return list(db.session.scalars(select(FollowRelation.external_userid).where(
        FollowRelation.userid == userid, FollowRelation.ended_at.is_(None)).order_by(FollowRelation.id)))
