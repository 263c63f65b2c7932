"""The dispatcher of staff app messages (job staffmsg.dispatch, every minute): due messages sent by message/send,
those with the same content merged into one call, each member kept within our own budget.

WeCom drops a member's messages past 30 a minute or 1,000 an hour without telling anyone (wecom-api.md §13), so we
count what we sent per member and hold the rest for a later run: a held message is late, never lost. A message still
unsent 24 hours after it was due is given up and shown on 应用消息 (`undelivered`), as is one WeCom refused for an
unknown member. The runs skip the minutes around the top and the half of the hour, which WeCom asks senders to avoid.
A retry after a lost answer cannot show a member the same message twice: WeCom's duplicate check is on (gateway).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app import jobs
from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.staffmsg.models import FAILED, INVALID_USER, QUEUED, SENT, StaffMessage
from app.wecom import connection
from app.wecom.errors import WeComBusy, WeComError, WeComNetworkError, WeComRateLimited
from app.wecom.gateway import MAX_APP_MESSAGE_USERS

PER_MINUTE, PER_HOUR = 25, 900       # our budget per member (WeCom drops past 30 / 1,000): room for others' sends
GIVE_UP_AFTER = timedelta(hours=24)  # a message unsent this long after it was due is given up (and shown)
MAX_ATTEMPTS = 5                     # WeCom refusals (other than an unknown member) before a message is given up
DUPLICATE_CHECK_SECONDS = 1800      # WeCom's duplicate check (a retried call shows nothing twice)
BATCH = 5000                         # due messages looked at per run
BUSY_MINUTES = {59: 1, 0: 1, 29: 31, 30: 31}  # minute of the hour -> the minute to wait for
NOT_SENT = "24 小时内未能发出"


def busy_until(local: datetime) -> datetime | None:
    """When a run at `local` (corp time) falls in the minutes around the top or half of the hour, the time to wait
    for (hh:01 or hh:31); None otherwise."""
    target = BUSY_MINUTES.get(local.minute)
    if target is None:
        return None
    return local.replace(second=0, microsecond=0) + timedelta(minutes=(target - local.minute) % 60)


def _same(message: StaffMessage) -> tuple:
    return message.userid, message.kind, message.title, message.body, message.url


def _recent(userids: list[str], now: datetime) -> tuple[dict[str, tuple[int, int]], set[tuple]]:
    """Per member: messages sent in the last minute and in the last hour; and what was sent within WeCom's
    duplicate-check window (the same content again would be dropped by WeCom: it waits instead)."""
    rows = db.session.execute(
        select(StaffMessage.userid, StaffMessage.sent_at, StaffMessage.kind, StaffMessage.title, StaffMessage.body,
               StaffMessage.url)
        .where(StaffMessage.state == SENT, StaffMessage.userid.in_(userids),
               StaffMessage.sent_at > now - timedelta(hours=1))).all()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    recent = set()
    for userid, sent_at, kind, title, body, url in rows:
        counts[userid][1] += 1
        if sent_at > now - timedelta(minutes=1):
            counts[userid][0] += 1
        if sent_at > now - timedelta(seconds=DUPLICATE_CHECK_SECONDS):
            recent.add((userid, kind, title, body, url))
    return {u: (c[0], c[1]) for u, c in counts.items()}, recent


def _content(message: StaffMessage, base_url: str) -> tuple[str, dict]:
    """(msgtype, content) as message/send takes it; a textcard whose link cannot be made absolute (no console
    address configured) goes as text instead, saying so."""
    url = message.url
    if url.startswith("/"):
        url = f"{base_url.rstrip('/')}{url}" if base_url else ""
    if message.kind == "textcard":
        if url:
            return "textcard", {"title": message.title, "description": message.body, "url": url, "btntxt": "详情"}
        return "text", {"content": f"{message.title}\n{message.body}\n（控制台地址未配置，请在控制台中查看）"}
    return message.kind, {"content": message.body}


def _pick(due: list[StaffMessage], now: datetime) -> tuple[list[StaffMessage], int]:
    """The due messages our per-member budget allows now (oldest first), and how many are held for later."""
    counts, recent = _recent(sorted({m.userid for m in due}), now)
    room = {u: min(PER_MINUTE - counts.get(u, (0, 0))[0], PER_HOUR - counts.get(u, (0, 0))[1]) for u in counts}
    picked, held = [], 0
    for message in due:
        left = room.setdefault(message.userid, PER_MINUTE)
        if left > 0 and _same(message) not in recent:
            picked.append(message)
            recent.add(_same(message))
            room[message.userid] = left - 1
        else:
            held += 1
    return picked, held


def _send(gateway, agent_id: str, kind: str, content: dict, messages: list[StaffMessage], counts: dict) -> bool:
    """One message/send call for these messages (same content, distinct members); False when WeCom cannot take
    more now (the rest wait for the next run)."""
    try:
        answer = gateway.send_app_message(agent_id, [m.userid for m in messages], kind, content,
                                          duplicate_check_seconds=DUPLICATE_CHECK_SECONDS)
    except (WeComRateLimited, WeComBusy, WeComNetworkError) as exc:
        with transaction():
            for message in messages:
                message.error = exc.message[:500]
        counts["waiting"] += len(messages)
        return False
    except WeComError as exc:
        with transaction():
            for message in messages:
                message.attempts += 1
                message.error = f"{exc.errcode}: {exc.message}"[:500]
                if exc.errcode == 81013:
                    message.state = INVALID_USER
                elif message.attempts >= MAX_ATTEMPTS:
                    message.state = FAILED
            counts["refused"] += len(messages)
        return True
    invalid, now = set(answer["invaliduser"]), utcnow()
    with transaction():
        for message in messages:
            message.attempts += 1
            if message.userid in invalid:
                message.state, message.error = INVALID_USER, "企业微信不认识该成员（不存在、已离职或不在应用可见范围）"
            else:
                message.state, message.sent_at, message.msgid, message.error = SENT, now, answer["msgid"], ""
    counts["sent"] += len(messages) - len(invalid & {m.userid for m in messages})
    counts["invalid"] += len(invalid & {m.userid for m in messages})
    return True


def _give_up_stale(now: datetime) -> int:
    with transaction():
        stale = db.session.scalars(select(StaffMessage).where(StaffMessage.state == QUEUED,
                                                              StaffMessage.not_before < now - GIVE_UP_AFTER)).all()
        for message in stale:
            message.state = FAILED
            message.error = f"{NOT_SENT}：{message.error or '成员消息额度已满'}"[:500]
    return len(stale)


def run_job(avoid_busy_minutes: bool = True) -> dict:
    """Send what is due now (see the module docstring); counts of sent, invalid, held, waiting, refused, given up."""
    now = utcnow()
    counts = dict.fromkeys(("sent", "invalid", "held", "waiting", "refused", "given_up"), 0)
    if avoid_busy_minutes and (until := busy_until(now.astimezone(settings.corp_timezone()))):
        return {**counts, "busy_minute_until": until.isoformat()}
    counts["given_up"] = _give_up_stale(now)
    agent_id, base_url = settings.get("wecom.agent_id"), settings.get("console.url")
    if not agent_id:
        return {**counts, "error": "应用 AgentId 未配置"}
    due = list(db.session.scalars(select(StaffMessage).where(StaffMessage.state == QUEUED,
                                                             StaffMessage.not_before <= now)
                                  .order_by(StaffMessage.id).limit(BATCH)))
    picked, counts["held"] = _pick(due, now)
    gateway = connection.gateway()
    calls: dict[tuple, list[StaffMessage]] = defaultdict(list)
    for message in picked:
        kind, content = _content(message, base_url)
        calls[(kind, tuple(sorted(content.items())))].append(message)  # distinct members (see _pick)
    for key, messages in calls.items():
        kind, content = key[0], dict(key[1])
        for start in range(0, len(messages), MAX_APP_MESSAGE_USERS):
            if not _send(gateway, agent_id, kind, content, messages[start:start + MAX_APP_MESSAGE_USERS], counts):
                return counts
    return counts


def dispatch_soon(requested_by: str = "system") -> None:
    """Start a dispatch now (after the caller committed its messages) unless one is waiting or running."""
    try:
        jobs.enqueue("staffmsg.dispatch", {}, requested_by=requested_by)
    except jobs.JobBusy:
        pass


def pending_counts() -> dict[str, int]:
    """Messages per state (the 应用消息 page)."""
    return dict(db.session.execute(select(StaffMessage.state, func.count()).group_by(StaffMessage.state)).all())
