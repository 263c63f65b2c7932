"""The transfer jobs: submit a batch to WeCom 100 at a time within the bulk budget (resumable, never twice), poll the
results of waiting handovers, and read the list of departed members' customers (get_unassigned_list)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import delete, select, update

from app.contacts.customers import save_contacts
from app.contacts.groups import fetch_group, save_groups
from app.contacts.models import Customer, CustomerGroup, Staff
from app.core.db import transaction, utcnow
from app.extensions import db
from app.transfer import limits
from app.transfer.models import (CUSTOMER, FAILED, GROUP, PENDING, RESIGNED, WAITING, TransferBatch, TransferItem,
                                 UnassignedCustomer)
from app.transfer.owners import customer_succeeded, group_succeeded
from app.wecom.connection import gateway
from app.wecom.errors import WeComBusy, WeComError, WeComNetworkError, WeComNotFriend, WeComRateLimited

log = logging.getLogger("scrm.transfer")
WAITING_STATUS, DONE_STATUS = 2, 1
LEFT = 5  # WeCom's member status 退出企业
# Worth trying again later, never a reason to fail an item: our budget or WeCom's frequency block (45009/45033),
# system busy after the gateway's retries, no answer. The items stay pending; the poll job resumes the batch.
TRANSIENT = (WeComRateLimited, WeComBusy, WeComNetworkError)


def _progress(job, done: int, total: int, message: str) -> None:
    if job is not None:
        job.progress(done, total, message)


def _fail(item: TransferItem, refusal: limits.Refusal, at: datetime, errcode: int | None = None) -> None:
    item.status, item.reason, item.reason_params, item.errcode, item.finished_at = (
        FAILED, refusal.message, refusal.params, errcode, at)


def submit(batch_id: int, job=None) -> dict:
    """The job `transfer.submit`: every pending item of the batch, 100 per call, committed after each call, so a
    rerun sends only what is still pending. Stops (items stay pending; the poll job resumes) when the bulk budget
    is used up or WeCom cannot be reached."""
    batch = db.session.get(TransferBatch, batch_id)
    resigned = batch.kind == RESIGNED
    gw = gateway(bulk=True)
    pending = db.session.execute(select(TransferItem.id, TransferItem.target).where(
        TransferItem.batch_id == batch_id, TransferItem.status == PENDING).order_by(TransferItem.id)).all()
    total, done, stopped = len(pending), 0, ""
    for target in (CUSTOMER, GROUP):
        for ids in limits.chunks([i for i, t in pending if t == target]):
            items = db.session.scalars(select(TransferItem).where(TransferItem.id.in_(ids),
                                                                  TransferItem.status == PENDING)).all()
            if not items:
                continue
            try:
                with transaction():
                    _send(gw, batch, target, items, resigned)
            except TRANSIENT as exc:
                stopped = exc.message
                break
            done += len(items)
            _progress(job, done, total, "提交转接")
        if stopped:
            break
    return {"submitted": done, "pending": total - done, "stopped": stopped}


def _send(gw, batch: TransferBatch, target: str, items: list[TransferItem], resigned: bool) -> None:
    now = utcnow()
    ids = [i.object_id for i in items]
    try:
        if target == CUSTOMER:
            answer = gw.transfer_customers(batch.handover_userid, batch.takeover_userid, ids, resigned=resigned,
                                           success_msg=batch.success_msg or None)
        else:
            answer = gw.transfer_groups(ids, batch.takeover_userid, resigned=resigned)
    except TRANSIENT:
        raise
    except WeComError as exc:  # the whole call refused (e.g. the takeover member lost customer contact)
        for item in items:
            _fail(item, limits.wecom_reason(exc.errcode or 0), now, exc.errcode)
        return
    for item in items:
        code = answer.get(item.object_id, 0 if target == GROUP else -2)
        if target == GROUP:
            if code:
                _fail(item, limits.wecom_reason(code), now, code)
            else:
                group_succeeded(item, batch.kind, now)
        elif code in (0, 40129):
            # 40129 "being transferred": a resend after a lost answer finds its own handover; the poll tells
            item.status, item.accepted_at, item.errcode = WAITING, now, code or None
        else:
            _fail(item, limits.wecom_reason(code), now, code)


def poll(job=None) -> dict:
    """The job `transfer.poll`: resume batches with items still pending, then read transfer_result for every
    (handover, takeover) pair with waiting customers. The local owner moves only on status 1."""
    from app import jobs

    resumed = 0
    for batch_id in db.session.scalars(select(TransferItem.batch_id).where(TransferItem.status == PENDING).distinct()):
        try:
            jobs.enqueue("transfer.submit", {"batch_id": batch_id}, requested_by="scheduler",
                         unique=f"transfer.submit:{batch_id}")
            resumed += 1
        except jobs.JobBusy:
            pass
    pairs = db.session.execute(
        select(TransferBatch.kind, TransferItem.handover_userid, TransferItem.takeover_userid)
        .join(TransferBatch, TransferBatch.id == TransferItem.batch_id)
        .where(TransferItem.status == WAITING, TransferItem.target == CUSTOMER).distinct()).all()
    gw, counts = gateway(bulk=True), {"succeeded": 0, "failed": 0, "waiting": 0}
    for n, (kind, handover, takeover) in enumerate(pairs):
        try:
            results = {}
            for row in gw.iter_transfer_results(handover, takeover, resigned=kind == RESIGNED):
                results[row["external_userid"]] = row  # oldest first: the last is the newest handover
        except TRANSIENT:
            break
        with transaction():
            _apply(kind, handover, takeover, results, counts)
        _progress(job, n + 1, len(pairs), "查询转接结果")
    return {"resumed": resumed, **counts}


def _apply(kind: str, handover: str, takeover: str, results: dict, counts: dict) -> None:
    items = db.session.scalars(
        select(TransferItem).join(TransferBatch, TransferBatch.id == TransferItem.batch_id)
        .where(TransferBatch.kind == kind, TransferItem.handover_userid == handover,
               TransferItem.takeover_userid == takeover, TransferItem.status == WAITING,
               TransferItem.target == CUSTOMER)).all()
    for item in items:
        row = results.get(item.object_id)
        status = int(row["status"]) if row else 5
        if status == WAITING_STATUS:
            counts["waiting"] += 1
        elif status == DONE_STATUS:
            at = datetime.fromtimestamp(int(row.get("takeover_time") or 0), timezone.utc) if row.get(
                "takeover_time") else utcnow()
            customer_succeeded(item, at)
            counts["succeeded"] += 1
        else:
            _fail(item, limits.Refusal(limits.RESULT_REASONS.get(status, limits.RESULT_REASONS[5]), {}), utcnow())
            counts["failed"] += 1


def refresh_unassigned(job=None) -> dict:
    """The job `transfer.unassigned`: read get_unassigned_list whole and replace our copy; fetch the customers we do
    not know yet (their names for the page) and the groups waiting for 离职继承 (groupchat/list status 1)."""
    gw, now = gateway(bulk=True), utcnow()
    rows = {}
    for info in gw.iter_unassigned():
        at = info.get("dimission_time")
        rows[(info["handover_userid"], info["external_userid"])] = datetime.fromtimestamp(int(at), timezone.utc) \
            if at else None
    left = sorted({h for h, _e in rows})
    with transaction():
        # They left (WeCom lists them as handovers): never offered as a takeover member before the next sync.
        db.session.execute(update(Staff).where(Staff.userid.in_(left)).values(status=LEFT, is_follow_user=False))
        db.session.execute(delete(UnassignedCustomer))
        if rows:
            db.session.execute(UnassignedCustomer.__table__.insert(), [
                {"handover_userid": h, "external_userid": e, "dimission_at": at, "fetched_at": now}
                for (h, e), at in rows.items()])
    exts = sorted({e for _h, e in rows})
    known = set()
    for start in range(0, len(exts), 900):
        known |= set(db.session.scalars(select(Customer.external_userid).where(
            Customer.external_userid.in_(exts[start:start + 900]), Customer.name != "")))
    unknown = [e for e in exts if e not in known]
    for n, ext in enumerate(unknown):
        try:
            answer = gw.get_external_contact(ext)
        except WeComNotFriend:
            continue
        except TRANSIENT:
            break
        with transaction():
            save_contacts((answer["external_contact"], follow) for follow in answer["follow_user"])
        if n % 50 == 0:
            _progress(job, n + 1, len(unknown), "读取离职成员的客户")
    waiting = [c["chat_id"] for c in gw.iter_group_chats(status_filter=1)]
    stale = set(waiting) - set(db.session.scalars(select(CustomerGroup.chat_id).where(
        CustomerGroup.chat_id.in_(waiting), CustomerGroup.status == 1)))
    for chat_id in stale:
        detail = fetch_group(gw, chat_id)
        if detail is not None:
            with transaction():
                save_groups([(detail, 1)], now)
    return {"customers": len(rows), "fetched": len(unknown), "groups": len(waiting)}
