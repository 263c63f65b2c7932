"""The callback inbox: every WeCom event stored once (deduplicated), then handled by workers with retries."""
from __future__ import annotations

import functools
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app
from sqlalchemy import JSON, Index, Integer, Row, String, Text, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.audit import record
from app.core.db import transaction, utcnow, write_wait
from app.core.permissions import N_
from app.extensions import db
from app.wecom import spool
from app.wecom.handlers import Payload

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
    "msg_audit_approved": N_("客户同意会话存档"),
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


class Later(Exception):
    """Raised by a handler when WeCom is not ready yet (group details are processed asynchronously): the event
    is handled again after `delay`, counted as an attempt; nothing the handlers wrote is kept, and it is not an
    error. The handler bounds how often it asks (payload `_attempt`) before it settles for what it can read."""

    def __init__(self, delay: timedelta, reason: str):
        super().__init__(reason)
        self.delay = delay


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


_EVENTS = CallbackEvent.__table__


@functools.cache
def _store_statement(dialect: str):
    """INSERT one event, or count one more delivery of the stored one; answers the delivery count (1: new)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_EVENTS)
    return stmt.on_conflict_do_update(index_elements=[_EVENTS.c.dedupe_key],
                                      set_={"deliveries": _EVENTS.c.deliveries + 1}).returning(_EVENTS.c.deliveries)


def _label(value: Any) -> str:
    """An event's type as its column holds it: text without NUL, at most 64 characters (anything longer is no
    event we handle; the payload keeps it whole)."""
    return str(value or "").replace("\x00", "")[:64]


def _store(fields: dict[str, Any], received_at: datetime) -> bool:
    """Store a decrypted event unless it is already stored; True when it is new. One short transaction."""
    values = dict(dedupe_key=dedupe_key(fields), lane=lane_for(fields), event=_label(fields.get("Event")),
                  change_type=_label(fields.get("ChangeType")), payload=fields, received_at=received_at,
                  deliveries=1, status=Status.PENDING, attempts=0, available_at=received_at)
    with transaction():
        deliveries = db.session.execute(_store_statement(db.engine.dialect.name), values).scalar_one()
    return deliveries == 1


def ingest(fields: dict[str, Any]) -> bool | None:
    """Store a decrypted event, whatever else holds the database: True when it is new, False when it was stored
    before, None when the database did not take it within CALLBACK_STORE_WAIT_SECONDS and it was spooled instead
    (see app/wecom/spool.py; OSError only when the spool cannot be written either). After a normal store, events
    spooled earlier are moved in."""
    received_at = utcnow()
    try:
        with write_wait(current_app.config["CALLBACK_STORE_WAIT_SECONDS"]):
            new = _store(fields, received_at)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("callback event not stored in the database (%s); spooled for the worker", exc)
        spool.keep(fields, received_at)
        return None
    drain_spool(limit=20)
    return new


def drain_spool(limit: int = 100) -> int:
    """Move spooled events into the inbox (the worker's loop, and after each stored callback); the number moved.
    A database still busy leaves them spooled for the next turn."""
    try:
        return spool.drain(_store, (OperationalError,), limit)
    except OperationalError as exc:  # still locked, or unreachable
        db.session.rollback()
        log.warning("spooled callback events stay spooled: %s", exc)
        return 0



@functools.cache
def _claim_statement(lane: str):
    """UPDATE ... RETURNING that takes up to :n due events of `lane` (built once: statements are rebuilt from
    scratch on every call otherwise, the largest CPU cost of a claim). PostgreSQL skips rows another worker
    locked; on SQLite writes are serialised, and the outer condition re-checks that each row is still due."""
    c = _EVENTS.c
    now = bindparam("now", type_=c.available_at.type)
    due = or_((c.status == Status.PENDING) & (c.available_at <= now),
              (c.status == Status.PROCESSING) & (c.claimed_until < now))
    # Newest welcome first: in a burst longer than the 20 s window, the freshest adds can still be greeted
    # while the oldest would be missed whatever the order.
    order = c.id.desc() if lane == LANE_WELCOME else c.id
    due_ids = (select(c.id).where(due, c.lane == lane).order_by(order).limit(bindparam("n", type_=Integer))
               .with_for_update(skip_locked=True))
    # A welcome-lane claim counts as an attempt at once: it is committed before WeCom is called.
    counted = {"attempts": c.attempts + 1} if lane == LANE_WELCOME else {}
    return (update(_EVENTS).where(c.id.in_(due_ids), due)
            .values(status=Status.PROCESSING, claimed_until=bindparam("until", type_=c.claimed_until.type), **counted)
            .returning(_EVENTS))


def _claim(limit: int, lanes: tuple[str, ...]) -> list[Row]:
    """Take up to `limit` due events (in the order of `lanes`) for this worker: their rows as claimed,
    one statement per lane."""
    now = utcnow()
    claimed: list[Row] = []
    with transaction():
        for lane in lanes:
            if len(claimed) >= limit:
                break
            taken = db.session.execute(_claim_statement(lane), {"now": now, "until": now + LEASE,
                                                                "n": limit - len(claimed)})
            claimed += sorted(taken.all(), key=lambda row: row.id)
    return claimed


def claim(limit: int, lanes: tuple[str, ...] = (LANE_WELCOME, LANE_DEFAULT)) -> list[int]:
    """The ids of up to `limit` due events taken for this worker (in the order of `lanes`); others skip them."""
    return [row.id for row in _claim(limit, lanes)]


_SET = update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id"))


def _set(event_id: int, **values) -> None:
    """Change the event's columns named in `values` (one prepared UPDATE)."""
    db.session.execute(_SET, {"event_id": event_id, **values})


def handle(event: Row) -> str:
    """Run one stage of a claimed event (its row as claimed); on failure retry later, then dead-letter.

    An event on the welcome lane runs its urgent handlers, then moves to the default lane where its follow-ups
    run (so a slow re-fetch never holds up the next welcome); app/callbacks.py says which. Handlers get the
    payload plus the inbox's keys (app/wecom/handlers.py, Payload). An urgent handler may leave data for the
    follow-ups in `payload["_carry"]` (merged into the stored payload).
    Handling, the record it writes and the event's new state are one transaction.
    """
    from app.callbacks import route_for  # the table imports the capabilities' handlers, which import this module

    route = route_for(event.event, event.change_type)
    urgent = event.lane == LANE_WELCOME
    funcs = route.urgent if urgent else route.follow_up
    payload: Payload = {**event.payload, "_inbox_id": event.id, "_received_at": event.received_at.isoformat(),
               "_attempt": event.attempts}
    try:
        with transaction():
            for func in funcs:
                func(payload)
            if urgent:  # the follow-up starts afresh on the default lane
                carried = {"payload": {**event.payload, **payload["_carry"]}} if payload.get("_carry") else {}
                status = Status.PENDING
                _set(event.id, lane=LANE_DEFAULT, status=status, attempts=0, available_at=utcnow(),
                     claimed_until=None, last_error=None, **carried)
            else:
                handled = route.urgent or route.follow_up
                status = Status.DONE if handled else Status.IGNORED
                _set(event.id, status=status, attempts=event.attempts + 1, handled_at=utcnow(), claimed_until=None,
                     last_error=None)
        return status
    except Later as later:  # not ready at WeCom yet: wait, without an error
        log.info("callback event %s (%s/%s) handled again in %s: %s", event.id, event.event, event.change_type,
                 later.delay, later)
        with transaction():
            _set(event.id, status=Status.PENDING, attempts=event.attempts if urgent else event.attempts + 1,
                 claimed_until=None, last_error=None, available_at=utcnow() + later.delay)
        return Status.PENDING
    except Exception as exc:  # a handler failed: nothing it wrote is kept; the event is retried
        log.warning("callback event %s (%s/%s) failed: %r", event.id, event.event, event.change_type, exc)
        # the welcome lane counted the attempt when it claimed the event
        attempts = event.attempts if urgent else event.attempts + 1
        failed = dict(attempts=attempts, last_error=f"{type(exc).__name__}: {exc}"[:2000], claimed_until=None)
        if attempts >= MAX_ATTEMPTS:
            status, retry = Status.DEAD, {}
        else:
            status, retry = Status.PENDING, {"available_at": utcnow() + timedelta(seconds=min(300, 2 ** attempts))}
        with transaction():
            _set(event.id, status=status, **failed, **retry)
        return status


def work_welcomes(limit: int = 1) -> int:
    """Claim and handle welcome-lane events (the worker's welcome threads); the number handled."""
    events = _claim(limit, (LANE_WELCOME,))
    for event in events:
        handle(event)
    return len(events)


def work_default(limit: int = 50, give_way: Callable[[], None] | None = None) -> int:
    """Claim and handle one batch of default-lane events (the worker's main loop); the number handled.
    `give_way()` runs before each event (the worker lets its welcome threads go first)."""
    events = _claim(limit, (LANE_DEFAULT,))
    for event in events:
        if give_way is not None:
            give_way()
        handle(event)
    return len(events)


def work_once(limit: int = 50) -> int:
    """Both lanes in one call (tests, one-off runs): welcomes first, then the default lane including their
    follow-ups; the number of distinct events handled."""
    welcomes = _claim(limit, (LANE_WELCOME,))
    for event in welcomes:
        handle(event)
    more = _claim(limit, (LANE_DEFAULT,))
    for event in more:
        handle(event)
    return len({e.id for e in welcomes} | {e.id for e in more})


def replay(event: CallbackEvent) -> None:
    """Put a dead (or ignored) event back in the queue, audited."""
    with transaction():
        event.status = Status.PENDING
        event.attempts = 0
        event.available_at = utcnow()
        event.last_error = None
        record("callback.replayed", target=f"{event.event}/{event.change_type}#{event.id}")
