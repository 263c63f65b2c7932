"""What the 群活跃度 page, its export, the home card and the group list read: the stored health rows of the latest
built day, the worst first, and 30-day trends from the owners' statistics, member changes and stored scores."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select

from app.community import health
from app.community.activity import WINDOW, day_start
from app.community.models import GroupHealth, OwnerHealth
from app.contacts.models import CustomerGroup, GroupMemberChange
from app.core.permissions import N_
from app.extensions import db
from app.team.models import GroupDay

PAGE_SIZE = 50
BANDS = ("healthy", "fair", "watch")
BAND_LABELS = {"healthy": N_("健康"), "fair": N_("一般"), "watch": N_("需关注")}
SILENCE_LABELS = {health.SILENT: N_("沉默"), health.NOT_SILENT: N_("有发言")}


def latest_day() -> date | None:
    return db.session.scalar(select(func.max(GroupHealth.day)))


def band_filter(band: str, column=GroupHealth.score):
    """The SQL condition of a health band (healthy / fair / watch)."""
    return {"healthy": column >= health.HEALTHY,
            "fair": (column >= health.WATCH) & (column < health.HEALTHY),
            "watch": column < health.WATCH}[band]


def chats_where(band: str = "", silent: bool = False):
    """chat_ids of the latest built day in a band and/or silent (for the group list), as a subquery. The day is
    read first, so the planner sees a constant and estimates the rows from its statistics."""
    query = select(GroupHealth.chat_id).where(GroupHealth.day == latest_day())
    if band:
        query = query.where(band_filter(band))
    if silent:
        query = query.where(GroupHealth.silent == health.SILENT)
    return query


def scores_of(chat_ids: list[str]) -> dict[str, GroupHealth]:
    """The latest stored health rows of these groups."""
    day = latest_day()
    if day is None or not chat_ids:
        return {}
    return {h.chat_id: h for h in db.session.scalars(select(GroupHealth).where(GroupHealth.day == day,
                                                                              GroupHealth.chat_id.in_(chat_ids)))}


@dataclass
class Summary:
    day: date | None
    groups: int = 0
    score: int | None = None  # member-weighted, as an owner's
    silent: int = 0
    watch: int = 0
    unknown: int = 0


def summary(day: date | None) -> Summary:
    if day is None:
        return Summary(None)
    h = GroupHealth
    weight = case((h.members > 0, h.members), else_=1)
    groups, weighted, weights, silent, watch, unknown = db.session.execute(
        select(func.count(), func.sum(case((h.score.is_not(None), h.score * weight), else_=0)),
               func.sum(case((h.score.is_not(None), weight), else_=0)),
               func.sum(case((h.silent == health.SILENT, 1), else_=0)),
               func.sum(case((h.score < health.WATCH, 1), else_=0)), func.sum(case((h.silent.is_(None), 1), else_=0)))
        .where(h.day == day)).one()
    return Summary(day, groups, round(weighted / weights) if weights else None, int(silent or 0), int(watch or 0),
                   int(unknown or 0))


def group_names(chat_ids) -> dict[str, str]:
    return dict(db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.name)
                                   .where(CustomerGroup.chat_id.in_(list(chat_ids)))).all())


def group_rows(day: date, band: str = "", silent: bool = False, owner: str = ""):
    """The day's group rows, worst score first (no score last)."""
    query = (select(GroupHealth).where(GroupHealth.day == day)
             .order_by(GroupHealth.score.is_(None), GroupHealth.score, GroupHealth.chat_id))
    if band:
        query = query.where(band_filter(band))
    if silent:
        query = query.where(GroupHealth.silent == health.SILENT)
    if owner:
        query = query.where(GroupHealth.owner == owner)
    return query


def group_page(day: date, band: str, silent: bool, owner: str, page: int):
    return db.paginate(group_rows(day, band, silent, owner), page=page, per_page=PAGE_SIZE, error_out=False)


def owner_rows(day: date) -> list[OwnerHealth]:
    return list(db.session.scalars(select(OwnerHealth).where(OwnerHealth.day == day)
                                   .order_by(OwnerHealth.score.is_(None), OwnerHealth.score, OwnerHealth.owner)))


def trend(day: date, days: int = WINDOW) -> dict:
    """Per day of the `days` ending `day`: members, new members, speakers %, messages (WeCom's statistics summed
    over owners), leaves by scene (our callbacks), mean health score and silent groups (stored rows)."""
    first = day - timedelta(days=days - 1)
    axis = [first + timedelta(days=n) for n in range(days)]
    stats = {d: (m, n, s, msg) for d, m, n, s, msg in db.session.execute(
        select(GroupDay.day, func.sum(GroupDay.member_total), func.sum(GroupDay.new_member_cnt),
               func.sum(GroupDay.member_has_msg), func.sum(GroupDay.msg_total))
        .where(GroupDay.day >= first, GroupDay.day <= day).group_by(GroupDay.day))}
    leaves: dict[tuple, int] = {}
    c, zone = GroupMemberChange, day_start(day).tzinfo
    for occurred, scene, n in db.session.execute(
            select(c.occurred_at, c.scene, c.members).where(c.kind == "leave", c.occurred_at >= day_start(first),
                                                            c.occurred_at < day_start(day + timedelta(days=1)))):
        key = (occurred.astimezone(zone).date(), scene)  # the corp-local day
        leaves[key] = leaves.get(key, 0) + n
    scores = {d: (s, q) for d, s, q in db.session.execute(
        select(GroupHealth.day, func.avg(GroupHealth.score), func.sum(case((GroupHealth.silent == health.SILENT, 1),
                                                                            else_=0)))
        .where(GroupHealth.day >= first, GroupHealth.day <= day).group_by(GroupHealth.day))}

    def col(i, d):
        return int(stats[d][i] or 0) if d in stats else None

    return {"days": [d.isoformat() for d in axis],
            "members": [col(0, d) for d in axis], "new_members": [col(1, d) for d in axis],
            "speakers_pct": [round(100 * col(2, d) / col(0, d), 1) if col(0, d) else None for d in axis],
            "messages": [col(3, d) for d in axis],
            "left_self": [leaves.get((d, 0), 0) for d in axis], "removed": [leaves.get((d, 1), 0) for d in axis],
            "left_unknown": [leaves.get((d, None), 0) for d in axis],
            "score": [round(float(scores[d][0])) if d in scores and scores[d][0] is not None else None for d in axis],
            "silent": [int(scores[d][1] or 0) if d in scores else None for d in axis]}
