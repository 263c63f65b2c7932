"""gettoken refusals stored for every process and page: WeCom rejected the Secret, or blocked this server's IP.

The gateway of each process pauses gettoken by itself (see gateway._TokenCache); this table only tells the others,
so the web pages show what a worker or the scheduler found. A row names the credentials it is about by a hash
(gateway.credentials_id), so new credentials in the settings make an old row irrelevant at once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Integer, String, delete, event, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.wecom.errors import WeComTokenBlocked
from app.wecom.gateway import TokenProblem

log = logging.getLogger("scrm.wecom")

REJECTED, BLOCKED = "rejected", "blocked"
BLOCK_HOURS = 1  # WeCom lifts a gettoken IP block after about an hour (wecom-api.md §1)


class TokenRefusal(db.Model):
    """The latest gettoken refusal of the configured credentials (at most one row)."""

    __tablename__ = "wecom_token_refusals"

    credentials_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))               # REJECTED or BLOCKED
    errcode: Mapped[int | None] = mapped_column(Integer)
    since: Mapped[datetime]                                     # first refusal of this kind in a row
    seen_at: Mapped[datetime]                                   # latest refusal
    retry_at: Mapped[datetime]                                  # when the refusing process asks gettoken again


@dataclass(frozen=True)
class CredentialsProblem:
    kind: str
    errcode: int | None
    since: datetime
    seen_at: datetime
    retry_at: datetime


def record_soon(credentials_id: str, problem: TokenProblem | None) -> None:
    """record() now, or right after the current session's transaction ends when it holds SQLite's write lock (a
    write not yet committed): a second connection would wait for that lock, and the caller with it."""
    session = db.session()
    if not _holds_sqlite_write_lock(session):
        record(credentials_id, problem)
        return
    done = False

    def after(_session) -> None:  # the first of the two to come; the other does nothing
        nonlocal done
        if not done:
            done = True
            record(credentials_id, problem)

    event.listen(session, "after_commit", after, once=True)
    event.listen(session, "after_rollback", after, once=True)


def _holds_sqlite_write_lock(session) -> bool:
    if db.engine.dialect.name != "sqlite" or not session.in_transaction():
        return False
    return session.connection().connection.dbapi_connection.in_transaction  # pysqlite begins only before a write


def record(credentials_id: str, problem: TokenProblem | None) -> None:
    """Store what the last gettoken said, on a connection of its own: the caller's transaction (which the error
    will likely roll back) neither holds nor loses it. A failure to store is logged, never raised."""
    try:
        with db.engine.begin() as conn:
            table = TokenRefusal.__table__
            row = conn.execute(select(table.c.kind, table.c.since)
                               .where(table.c.credentials_id == credentials_id)).first()
            if problem is None:
                if conn.execute(select(table.c.credentials_id).limit(1)).first() is not None:
                    conn.execute(delete(table))
                return
            kind = BLOCKED if isinstance(problem.error, WeComTokenBlocked) else REJECTED
            now = utcnow()
            since = row.since if row is not None and row.kind == kind else now
            conn.execute(delete(table))
            conn.execute(insert(table).values(credentials_id=credentials_id, kind=kind, errcode=problem.error.errcode,
                                              since=since, seen_at=now,
                                              retry_at=now + timedelta(seconds=problem.retry_in)))
    except SQLAlchemyError:
        log.exception("could not store the gettoken outcome")


def current(credentials_id: str) -> CredentialsProblem | None:
    """The stored refusal of these credentials; an IP block is forgotten an hour after it was last seen."""
    row = db.session.get(TokenRefusal, credentials_id)
    if row is None or (row.kind == BLOCKED and row.seen_at + timedelta(hours=BLOCK_HOURS) <= utcnow()):
        return None
    return CredentialsProblem(row.kind, row.errcode, row.since, row.seen_at, row.retry_at)


def explain(problem: CredentialsProblem) -> str:
    """What happened and what to do, for an operator."""
    if problem.kind == BLOCKED:
        until = problem.seen_at + timedelta(hours=BLOCK_HOURS)
        return _("企业微信已暂时封禁本服务器调用 gettoken（错误码 %(code)s），约 1 小时后自动解除（预计 %(until)s 前后）。"
                 "这通常是 Secret 错误时反复获取 access_token 造成的：请先确认企业 ID (CorpID) 与应用 Secret 正确。"
                 "封禁期间同步、群发、欢迎语等企业微信功能都无法使用。",
                 code=problem.errcode, until=_local(until))
    return _("企业微信拒绝了当前 Secret（错误码 %(code)s，%(since)s 起）。请核对企业 ID (CorpID) 与应用 Secret，"
             "并确认该应用在企业微信管理后台已启用。在修改设置之前，控制台已暂停向企业微信获取 access_token，"
             "同步、群发、欢迎语等都无法进行；保存新的凭据后立即恢复。",
             code=problem.errcode, since=_local(problem.since))


def _local(moment: datetime) -> str:
    return moment.astimezone(settings.corp_timezone()).strftime("%Y-%m-%d %H:%M")
