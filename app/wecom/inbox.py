"""The callback inbox: every WeCom event stored once (deduplicated), then handled by workers with retries."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app.core.audit import record
from app.core.db import transaction, upsert_ignore, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.wecom import handlers

log = logging.getLogger("scrm.wecom.inbox")

# WeCom's events carry no id; these fields together identify one (design: FromUserName is always "sys").
# WelcomeCode is fresh for every add but the same in WeCom's retries: a delete and re-add within one
# second are two events, a retried delivery is one.
DEDUPE_FIELDS = ("Event", "ChangeType", "UserID", "ExternalUserID", "ChatId", "UpdateDetail", "CurMemVer",
                 "Id", "TagType", "StrategyId", "FailReason", "Source", "WelcomeCode", "CreateTime")
MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)
LANE_WELCOME = "welcome"  # adds with a WelcomeCode: 20 seconds to answer, handled before anything else
LANE_DEFAULT = "default"


class Status:
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    IGNORED = "ignored"  # no handler for this event type (yet); kept for reconciliation and audit
    DEAD = "dead"        # failed MAX_ATTEMPTS times; an admin can replay it


STATUS_LABELS = {
    Status.PENDING: N_("待处理"),
    Status.PROCESSING: N_("处理中"),
    Status.DONE: N_("已处理"),
    Status.IGNORED: N_("无处理程序"),
    Status.DEAD: N_("失败"),
}

CHANGE_LABELS = {
    "add_external_contact": N_("添加客户"),
    "add_half_external_contact": N_("客户免验证添加"),
    "edit_external_contact": N_("编辑客户"),
    "del_external_contact": N_("成员删除客户"),
    "del_follow_user": N_("客户删除成员"),
    "transfer_fail": N_("客户接替失败"),
    "create": N_("新建"),
    "update": N_("变更"),
    "dismiss": N_("解散"),
    "delete": N_("删除"),
    "shuffle": N_("重排"),
}
EVENT_LABELS = {
    "change_external_contact": N_("客户"),
    "change_external_chat": N_("客户群"),
    "change_external_tag": N_("企业标签"),
}


class CallbackEvent(db.Model):
    """One event WeCom delivered, with its handling state."""

    __tablename__ = "wecom_callback_events"
    __table_args__ = (Index("ix_wecom_callback_events_queue", "status", "lane", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(40), unique=True)
    lane: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(64))
    change_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    deliveries: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


def dedupe_key(fields: dict[str, Any]) -> str:
    parts = [f"{name}={fields.get(name, '')}" for name in DEDUPE_FIELDS]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def lane_for(fields: dict[str, Any]) -> str:
    return LANE_WELCOME if fields.get("WelcomeCode") else LANE_DEFAULT


def ingest(fields: dict[str, Any]) -> bool:
    """Store a decrypted event unless it is already stored; True when it is new."""
    now = utcnow()
    key = dedupe_key(fields)
    values = dict(dedupe_key=key, lane=lane_for(fields), event=str(fields.get("Event", "")),
                  change_type=str(fields.get("ChangeType", "")), payload=fields, received_at=now,
                  deliveries=1, status=Status.PENDING, attempts=0, available_at=now)
    with transaction():
        stmt = upsert_ignore(CallbackEvent, values, ["dedupe_key"]).returning(CallbackEvent.id)
        inserted = db.session.execute(stmt).scalar() is not None
        if not inserted:
            db.session.execute(update(CallbackEvent).where(CallbackEvent.dedupe_key == key)
                               .values(deliveries=CallbackEvent.deliveries + 1))
    return inserted


def claim(limit: int, lanes: tuple[str, ...] = (LANE_WELCOME, LANE_DEFAULT)) -> list[int]:
    """Take up to `limit` due events (welcome lane first) for this worker; others skip rows we hold."""
    now = utcnow()
    due = or_(
        (CallbackEvent.status == Status.PENDING) & (CallbackEvent.available_at <= now),
        (CallbackEvent.status == Status.PROCESSING) & (CallbackEvent.claimed_until < now),
    )
    claimed: list[int] = []
    with transaction():
        for lane in lanes:
            if len(claimed) >= limit:
                break
            q = (select(CallbackEvent.id).where(due, CallbackEvent.lane == lane).order_by(CallbackEvent.id)
                 .limit(limit - len(claimed)).with_for_update(skip_locked=True))
            claimed += db.session.scalars(q).all()
        if claimed:
            db.session.execute(update(CallbackEvent).where(CallbackEvent.id.in_(claimed))
                               .values(status=Status.PROCESSING, claimed_until=now + LEASE))
    return claimed


def handle(event_id: int) -> str:
    """Run the handlers of one claimed event in one transaction; on failure retry later, then dead-letter."""
    event = db.session.get(CallbackEvent, event_id)
    if event is None or event.status != Status.PROCESSING:
        return "skipped"
    funcs = handlers.for_event(event.event, event.change_type)
    try:
        with transaction():
            for func in funcs:
                func(event.payload)
            event.status = Status.DONE if funcs else Status.IGNORED
            event.attempts += 1
            event.handled_at = utcnow()
            event.claimed_until = None
            event.last_error = None
        return event.status
    except Exception as exc:  # a handler failed: nothing it wrote is kept; the event is retried
        log.warning("callback event %s (%s/%s) failed: %r", event_id, event.event, event.change_type, exc)
        with transaction():
            event = db.session.get(CallbackEvent, event_id)
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            event.claimed_until = None
            if event.attempts >= MAX_ATTEMPTS:
                event.status = Status.DEAD
            else:
                event.status = Status.PENDING
                event.available_at = utcnow() + timedelta(seconds=min(300, 2 ** event.attempts))
        return event.status


def work_once(limit: int = 50) -> int:
    """Claim and handle one batch; the number of events handled."""
    ids = claim(limit)
    for event_id in ids:
        handle(event_id)
    return len(ids)


def replay(event: CallbackEvent) -> None:
    """Put a dead (or ignored) event back in the queue, audited."""
    with transaction():
        event.status = Status.PENDING
        event.attempts = 0
        event.available_at = utcnow()
        event.last_error = None
        record("callback.replayed", target=f"{event.event}/{event.change_type}#{event.id}")
