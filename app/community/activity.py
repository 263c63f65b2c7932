"""The daily 群活跃度 build (job «群活跃度与健康度»): per group and owner, the figures and health score of a day.

Reads what others own and fetch once: group members (kept by sync and callbacks), member changes with their scene
(contacts' callback handler), and groupchat/statistic per owner and day (the team snapshot's GroupDay rows; nothing
is fetched from WeCom here). Writes the day's rows whole in one transaction, so re-running a day replaces it.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select

from app.community import health
from app.community.figures import Retention
from app.community.models import GroupHealth, OwnerHealth
from app.contacts.models import CustomerGroup, CustomerGroupMember, GroupMemberChange
from app.core import settings
from app.core.db import transaction
from app.extensions import db
from app.team.models import GroupDay

log = logging.getLogger("scrm.community.activity")
WINDOW = 30
LEFT_SELF, REMOVED = 0, 1  # QuitScene (wecom-api.md §5)


def day_start(day: date) -> datetime:
    """The corp-local midnight starting `day`, as an aware datetime."""
    return datetime.combine(day, datetime.min.time(), tzinfo=settings.corp_timezone())


def yesterday() -> date:
    return datetime.now(settings.corp_timezone()).date() - timedelta(days=1)


def _count_if(*conditions):
    return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)


def _in(column, start: datetime, end: datetime):
    return and_(column >= start, column < end)


def _member_figures(end: datetime) -> dict[str, tuple]:
    """Per group: members at `end`, members 30 days before, joins (7 d, 30 d, by QR), leaves (7 d, 30 d)."""
    m = CustomerGroupMember
    start7, start30 = end - timedelta(days=7), end - timedelta(days=WINDOW)

    def present(at):
        return and_(or_(m.join_time.is_(None), m.join_time < at), or_(m.left_at.is_(None), m.left_at >= at))

    rows = db.session.execute(
        select(m.chat_id, _count_if(present(end)), _count_if(present(start30)), _count_if(_in(m.join_time, start7, end)),
               _count_if(_in(m.join_time, start30, end)), _count_if(_in(m.join_time, start30, end), m.join_scene == 3),
               _count_if(_in(m.left_at, start7, end)), _count_if(_in(m.left_at, start30, end)))
        .group_by(m.chat_id))
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def _retention(end: datetime) -> dict[str, Retention]:
    """Per group: members who joined 7 to 37 days before `end`, and how many stayed 7 days."""
    m = CustomerGroupMember
    since = end - timedelta(days=WINDOW + health.SILENT_DAYS)
    out: dict[str, Retention] = defaultdict(Retention)
    for chat_id, joined, left in db.session.execute(select(m.chat_id, m.join_time, m.left_at)
                                                    .where(_in(m.join_time, since, end))):
        left = left if left is None or left < end else None  # what happened after the day is not known on it
        out[chat_id].add(joined, left, end)
    return out


def _leave_scenes(end: datetime) -> dict[str, dict[int | None, int]]:
    c = GroupMemberChange
    rows = db.session.execute(select(c.chat_id, c.scene, func.sum(c.members))
                              .where(c.kind == "leave", _in(c.occurred_at, end - timedelta(days=WINDOW), end))
                              .group_by(c.chat_id, c.scene))
    out: dict[str, dict] = defaultdict(dict)
    for chat_id, scene, n in rows:
        out[chat_id][scene] = int(n or 0)
    return out


def _owner_days(day: date) -> dict[str, list[GroupDay]]:
    """Each owner's statistics rows of the 7 days ending `day`, oldest first."""
    first = day - timedelta(days=health.SILENT_DAYS - 1)
    out: dict[str, list[GroupDay]] = defaultdict(list)
    for row in db.session.scalars(select(GroupDay).where(GroupDay.day >= first, GroupDay.day <= day)
                                  .order_by(GroupDay.owner, GroupDay.day)):
        out[row.owner].append(row)
    return out


def _part(value: float | None) -> int | None:
    return None if value is None else round(value)


def build(day: date) -> tuple[list[dict], list[dict]]:
    """The GroupHealth and OwnerHealth rows of `day` (nothing written)."""
    end = day_start(day + timedelta(days=1))
    groups = db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.owner, CustomerGroup.created_at).where(
        or_(CustomerGroup.created_at.is_(None), CustomerGroup.created_at < end),
        or_(CustomerGroup.dismissed_at.is_(None), CustomerGroup.dismissed_at >= end))).all()
    figures, kept, scenes, stats = _member_figures(end), _retention(end), _leave_scenes(end), _owner_days(day)
    old_before = end - timedelta(days=health.SILENT_DAYS)
    group_rows, by_owner = [], defaultdict(list)
    for chat_id, owner, created in groups:
        members, base, joins7, joins30, by_qr, leaves7, leaves30 = figures.get(chat_id, (0,) * 7)
        days = stats.get(owner, [])
        pairs = [(d.chat_has_msg, d.chat_total) for d in days]
        silent = health.silence(pairs, created is None or created < old_before)
        spoke, member_days = sum(d.member_has_msg for d in days), sum(d.member_total for d in days)
        retention = kept.get(chat_id, Retention())
        parts = health.Parts(0.0 if silent == health.SILENT else health.activity_part(spoke, member_days),
                             health.growth_part(joins30, leaves30, base),
                             health.retention_part(retention.kept, retention.eligible),
                             health.leave_part(leaves30, base))
        scene = scenes.get(chat_id, {})
        row = dict(chat_id=chat_id, day=day, owner=owner, members=members, joins_7d=joins7, joins_30d=joins30,
                   joins_by_qr_30d=by_qr, leaves_7d=leaves7, leaves_30d=leaves30,
                   left_self_30d=scene.get(LEFT_SELF, 0), removed_30d=scene.get(REMOVED, 0),
                   retention_eligible=retention.eligible, retention_kept=retention.kept, silent=silent,
                   activity=_part(parts.activity), growth=_part(parts.growth), retention=_part(parts.retention),
                   leave=_part(parts.leave), score=parts.score())
        group_rows.append(row)
        by_owner[owner].append(row)
    owner_rows = []
    for owner in sorted(set(by_owner) | {o for o, days in stats.items() if days and days[-1].chat_total}):
        rows, days = by_owner.get(owner, []), stats.get(owner, [])
        scored = [(r["score"], max(r["members"], 1)) for r in rows if r["score"] is not None]
        last = days[-1] if days and days[-1].day == day else None
        owner_rows.append(dict(
            owner=owner, day=day, groups=last.chat_total if last else len(rows),
            members=last.member_total if last else sum(r["members"] for r in rows),
            new_members_7d=sum(d.new_member_cnt for d in days), leaves_7d=sum(r["leaves_7d"] for r in rows),
            spoke_7d=sum(d.member_has_msg for d in days), member_days_7d=sum(d.member_total for d in days),
            messages_7d=sum(d.msg_total for d in days),
            silent_at_least=health.silent_at_least([(d.chat_has_msg, d.chat_total) for d in days]),
            score=round(sum(s * w for s, w in scored) / sum(w for _, w in scored)) if scored else None))
    return group_rows, owner_rows


def rebuild(day: date) -> tuple[int, int]:
    """Replace `day`'s rows; (groups, owners) written."""
    group_rows, owner_rows = build(day)
    with transaction():
        db.session.execute(delete(GroupHealth).where(GroupHealth.day == day))
        db.session.execute(delete(OwnerHealth).where(OwnerHealth.day == day))
        if group_rows:
            db.session.execute(GroupHealth.__table__.insert(), group_rows)
        if owner_rows:
            db.session.execute(OwnerHealth.__table__.insert(), owner_rows)
    return len(group_rows), len(owner_rows)


def run_job(job=None, day: str | None = None, days: int = 1) -> dict:
    """The job kind's entry: `days` days ending `day` (default yesterday, the last day WeCom's statistics cover)."""
    last = date.fromisoformat(day) if day else yesterday()
    written = [0, 0]
    for n in range(days - 1, -1, -1):
        groups, owners = rebuild(last - timedelta(days=n))
        written[0] += groups
        written[1] += owners
        if job is not None:
            job.progress(days - n, days, (last - timedelta(days=n)).isoformat())
    log.info("group health built for %d day(s) up to %s: %d group rows, %d owner rows", days, last, *written)
    return {"days": days, "groups": written[0], "owners": written[1]}
