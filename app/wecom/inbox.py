"""The callback inbox: every WeCom event stored once (deduplicated), then handled by workers with retries."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any, Callable

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
LANE_WELCOME = "welcome"  # adds with a WelcomeCode: 20 seconds to answer; own worker threads, then a follow-up
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


def _due(now: datetime):
    return or_(
        (CallbackEvent.status == Status.PENDING) & (CallbackEvent.available_at <= now),
        (CallbackEvent.status == Status.PROCESSING) & (CallbackEvent.claimed_until < now),
    )


def claim(limit: int, lanes: tuple[str, ...] = (LANE_WELCOME, LANE_DEFAULT)) -> list[int]:
    """Take up to `limit` due events (in the order of `lanes`) for this worker; others skip rows we hold.

    The UPDATE re-checks that each row is still due and returns the ones it took: SQLite has no row locks,
    and the worker's welcome threads claim beside its main loop.
    """
    now = utcnow()
    claimed: list[int] = []
    with transaction():
        for lane in lanes:
            if len(claimed) >= limit:
                break
            # Newest welcome first: in a burst longer than the 20 s window, the freshest adds can still be
            # greeted while the oldest would be missed whatever the order.
            order = CallbackEvent.id.desc() if lane == LANE_WELCOME else CallbackEvent.id
            q = (select(CallbackEvent.id).where(_due(now), CallbackEvent.lane == lane).order_by(order)
                 .limit(limit - len(claimed)).with_for_update(skip_locked=True))
            ids = db.session.scalars(q).all()
            if ids:
                # A welcome-lane claim counts as an attempt at once: it is committed before WeCom is called.
                counted = {"attempts": CallbackEvent.attempts + 1} if lane == LANE_WELCOME else {}
                taken = (update(CallbackEvent).where(CallbackEvent.id.in_(ids), _due(now))
                         .values(status=Status.PROCESSING, claimed_until=now + LEASE, **counted)
                         .returning(CallbackEvent.id).execution_options(synchronize_session=False))
                claimed += sorted(db.session.scalars(taken).all())
    return claimed


def handle(event_id: int) -> str:
    """Run one stage of a claimed event; on failure retry later, then dead-letter.

    An event on the welcome lane runs its urgent handlers, then moves to the default lane where its other
    handlers run as a follow-up (so a slow re-fetch never holds up the next welcome). Handlers get the
    payload plus `_inbox_id`, `_received_at` (ISO time the console received the event) and `_attempt`
    (on the welcome lane: 2 or more means an earlier attempt may have reached WeCom). An urgent handler
    may leave data for the follow-up in `payload["_carry"]` (a dict merged into the stored payload).
    """
    event = db.session.get(CallbackEvent, event_id)
    if event is None or event.status != Status.PROCESSING:
        return "skipped"
    urgent = event.lane == LANE_WELCOME
    funcs = handlers.for_event(event.event, event.change_type, urgent=urgent)
    payload = {**event.payload, "_inbox_id": event.id, "_received_at": event.received_at.isoformat(),
               "_attempt": event.attempts}
    try:
        with transaction():
            for func in funcs:
                func(payload)
            if urgent:  # the follow-up starts afresh on the default lane
                event.payload = {**event.payload, **payload.get("_carry", {})}
                event.lane, event.status, event.attempts = LANE_DEFAULT, Status.PENDING, 0
                event.available_at, event.claimed_until, event.last_error = utcnow(), None, None
                return Status.PENDING
            handled = funcs or handlers.for_event(event.event, event.change_type, urgent=True)
            event.status = Status.DONE if handled else Status.IGNORED
            event.attempts += 1
            event.handled_at = utcnow()
            event.claimed_until = None
            event.last_error = None
        return event.status
    except Exception as exc:  # a handler failed: nothing it wrote is kept; the event is retried
        log.warning("callback event %s (%s/%s) failed: %r", event_id, event.event, event.change_type, exc)
        with transaction():
            event = db.session.get(CallbackEvent, event_id)
            if event.lane != LANE_WELCOME:  # the welcome lane counted the attempt when it claimed the event
                event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            event.claimed_until = None
            if event.attempts >= MAX_ATTEMPTS:
                event.status = Status.DEAD
            else:
                event.status = Status.PENDING
                event.available_at = utcnow() + timedelta(seconds=min(300, 2 ** event.attempts))
        return event.status


def work_welcomes(limit: int = 2) -> int:
    """Claim and handle a few welcome-lane events (the worker's welcome threads); the number handled."""
    ids = claim(limit, (LANE_WELCOME,))
    for event_id in ids:
        handle(event_id)
    return len(ids)


def work_default(limit: int = 50, give_way: Callable[[], None] | None = None) -> int:
    """Claim and handle one batch of default-lane events (the worker's main loop); the number handled.
    `give_way()` runs before each event (the worker lets its welcome threads go first)."""
    ids = claim(limit, (LANE_DEFAULT,))
    for event_id in ids:
        if give_way is not None:
            give_way()
        handle(event_id)
    return len(ids)


def work_once(limit: int = 50) -> int:
    """Both lanes in one call (tests, one-off runs): welcomes first, then the default lane including their
    follow-ups; the number of distinct events handled."""
    ids = claim(limit, (LANE_WELCOME,))
    for event_id in ids:
        handle(event_id)
    more = claim(limit, (LANE_DEFAULT,))
    for event_id in more:
        handle(event_id)
    return len(set(ids) | set(more))


def replay(event: CallbackEvent) -> None:
    """Put a dead (or ignored) event back in the queue, audited."""
    with transaction():
        event.status = Status.PENDING
        event.attempts = 0
        event.available_at = utcnow()
        event.last_error = None
        record("callback.replayed", target=f"{event.event}/{event.change_type}#{event.id}")
