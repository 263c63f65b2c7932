"""Mass messages sent outside the console (members' own 群发, other tools), imported from get_groupmsg_list_v2.

Each import scans from the watermark (the end of the last good import) minus a look-back, because a message
created earlier may be confirmed later; rows are unique per (msgid, recipient), so scanning twice adds nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import Integer, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import transaction, upsert_ignore, utcnow
from app.extensions import db
from app.sending import sendrules
from app.sending.models import OutsideSend, SendTask

log = logging.getLogger("scrm.sending.outside")

LOOK_BACK = timedelta(days=3)     # members confirm corp-created messages late; re-read this much
FIRST_WINDOW = timedelta(days=30)  # the first import reaches this far back
MAX_WINDOW = timedelta(days=30)    # get_groupmsg_list_v2 accepts at most one month per call
CHAT_TYPES = ("single", "group")
SENT = 1


class OutsideImport(db.Model):
    """One import of outside sends: its window, what it found, and its error; the watermark is the last good end."""

    __tablename__ = "campaign_outside_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    messages: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


def watermark() -> datetime | None:
    return db.session.scalar(select(func.max(OutsideImport.window_end)).where(
        OutsideImport.finished_at.is_not(None), OutsideImport.error.is_(None)))


def import_outside_sends(gw=None, now: datetime | None = None) -> OutsideImport:
    """Import every outside mass message since the watermark (with look-back); the import record."""
    from app.wecom.connection import gateway

    gw, now = gw or gateway(), now or utcnow()
    mark = watermark()
    start = mark - LOOK_BACK if mark else now - FIRST_WINDOW
    with transaction():
        run = OutsideImport(started_at=now, window_start=start, window_end=now)
        db.session.add(run)
    try:
        ours = _console_msgids(start)
        for chat_type in CHAT_TYPES:
            for slice_start, slice_end in _slices(start, now):
                for msg in gw.iter_groupmsg_list(chat_type, int(slice_start.timestamp()),
                                                 int(slice_end.timestamp()), filter_type=2):
                    if msg["msgid"] in ours:
                        continue
                    run.messages += 1
                    run.rows += _import_message(gw, msg["msgid"], chat_type)
    except Exception as exc:
        db.session.rollback()
        with transaction():
            run = db.session.get(OutsideImport, run.id)
            run.error, run.finished_at = f"{type(exc).__name__}: {exc}"[:2000], utcnow()
        log.warning("outside sends import failed: %s", exc)
        raise
    with transaction():
        done = db.session.get(OutsideImport, run.id)
        done.messages, done.rows, done.finished_at = run.messages, run.rows, utcnow()
    return done


def _console_msgids(since: datetime) -> set[str]:
    msgids = set(db.session.scalars(select(SendTask.msgid).where(
        SendTask.msgid.is_not(None), SendTask.submitted_at >= since - FIRST_WINDOW)))
    db.session.rollback()
    return msgids


def _slices(start: datetime, end: datetime):
    while start < end:
        yield start, min(end, start + MAX_WINDOW)
        start += MAX_WINDOW


def _import_message(gw, msgid: str, chat_type: str) -> int:
    """The recipients who received one message, per sending member; rows written (new or not)."""
    rows = []
    for task in gw.iter_groupmsg_tasks(msgid):
        if not sendrules.task_confirmed(task.get("status")):  # at 1 some recipients may have it already
            continue
        for result in gw.iter_groupmsg_send_results(msgid, task["userid"]):
            if result.get("status") == SENT:
                sent_at = datetime.fromtimestamp(int(result.get("send_time") or task.get("send_time") or 0),
                                                 timezone.utc)
                rows.append({"msgid": msgid, "sender_userid": task["userid"], "chat_type": chat_type,
                             "target_key": result.get("external_userid") or result.get("chat_id"),
                             "sent_at": sent_at, "created_at": utcnow()})
    if rows:
        with transaction():
            db.session.execute(upsert_ignore(OutsideSend, {}, ["msgid", "target_key"]), rows)
    return len(rows)


def scheduled_import() -> None:
    """The scheduler's job (every 30 minutes)."""
    imported = import_outside_sends()
    log.info("outside sends: %d messages, %d recipients", imported.messages, imported.rows)
