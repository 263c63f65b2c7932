"""What the segment pages show: the builder's choices, member rows with masked mobiles, a page of members."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.contacts.contact_list import relations_of, staff_names, tag_names
from app.contacts.labels import mask_mobile
from app.contacts.models import Customer, CustomerGroup, Department, Staff
from app.contacts.scope import Scope
from app.core import settings
from app.extensions import db
from app.lifecycle.labels import STAGE_LABELS
from app.rfm.models import CustomerRfmScore, Order
from app.rfm.segments import CLASSES, SEGMENT_LABELS, SEGMENTS
from app.segments import rules, service
from app.tags.models import CorpTag, CorpTagGroup

PAGE_SIZE = 50
MAX_CATEGORIES = 300


def builder_choices() -> dict[str, Any]:
    """Everything the builder's pickers offer, as JSON-ready lists with display names."""
    groups: dict[str, dict] = {}
    for group_id, group_name, tag_id, tag_name in db.session.execute(
            select(CorpTagGroup.group_id, CorpTagGroup.name, CorpTag.tag_id, CorpTag.name)
            .join(CorpTag, CorpTag.group_id == CorpTagGroup.group_id)
            .where(CorpTag.deleted_at.is_(None), CorpTagGroup.deleted_at.is_(None))
            .order_by(CorpTagGroup.order.desc(), CorpTagGroup.id, CorpTag.order.desc(), CorpTag.id)):
        groups.setdefault(group_id, {"name": group_name, "tags": []})["tags"].append([tag_id, tag_name])
    staff = db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.removed_at.is_(None)).order_by(Staff.is_follow_user.desc(), Staff.name)).all()
    departments = db.session.execute(select(Department.id, Department.name).where(
        Department.removed_at.is_(None)).order_by(Department.order.desc(), Department.id)).all()
    chats = db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.name).where(
        CustomerGroup.dismissed_at.is_(None)).order_by(CustomerGroup.name)).all()
    categories = db.session.scalars(select(Order.category).where(Order.category.is_not(None))
                                    .group_by(Order.category).order_by(func.count().desc()).limit(MAX_CATEGORIES))
    return {
        "fields": {key: {"label": _(spec.label), "operators": list(spec.operators)}
                   for key, spec in rules.FIELDS.items()},
        "tag_groups": list(groups.values()),
        "segments": [[key, _(label)] for key, label, _r, _f in SEGMENTS],
        "classes": [[key, _(label)] for key, label, *_flags in CLASSES],
        "stages": [[key, _(label)] for key, label in STAGE_LABELS.items()],
        "staff": [[userid, name] for userid, name in staff],
        "departments": [[dept_id, name] for dept_id, name in departments],
        "groups": [[chat_id, name or chat_id] for chat_id, name in chats],
        "categories": sorted(c for c in categories if c),
    }


@dataclass
class MemberRow:
    """A customer as the segment pages list them."""

    id: int
    external_userid: str
    name: str
    corp_name: str
    staff: list[str]
    mobiles: list[str]
    tags: list[str]
    segment: str | None
    lost_at: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def member_rows(customers: list[Customer], show_mobile: bool) -> list[MemberRow]:
    """Rows with current followers, mobiles (masked unless the account may see them), tags and RFM segment."""
    ext = [c.external_userid for c in customers]
    relations = relations_of(ext, Scope())
    names = staff_names(r.userid for rels in relations.values() for r in rels)
    tags = tag_names()
    segments = dict(db.session.execute(select(CustomerRfmScore.external_userid, CustomerRfmScore.segment)
                                       .where(CustomerRfmScore.external_userid.in_(ext))).all()) if ext else {}
    tz = settings.corp_timezone()
    rows = []
    for c in customers:
        current = [r for r in relations[c.external_userid] if r.ended_at is None]
        mobiles = [m if show_mobile else mask_mobile(m) for r in current for m in r.remark_mobiles]
        tag_list = list(dict.fromkeys(tags.get(t, t) for r in current for t in r.tag_ids))
        segment = segments.get(c.external_userid)
        rows.append(MemberRow(c.id, c.external_userid, c.name or c.external_userid, c.corp_name or c.corp_full_name,
                              [names.get(r.userid, r.userid) for r in current], list(dict.fromkeys(mobiles)),
                              tag_list, _(SEGMENT_LABELS[segment]) if segment in SEGMENT_LABELS else None,
                              c.lost_at.astimezone(tz).strftime("%Y-%m-%d") if c.lost_at else ""))
    return rows


@dataclass
class MemberPage:
    rows: list[MemberRow]
    page: int
    has_next: bool
    total: int


def member_page(segment: service.Segment, page: int, show_mobile: bool) -> MemberPage:
    """One page of a saved segment's members, newest customers first; counting refreshes the saved count."""
    page = max(page, 1)
    customers = service.sample(segment.rule, PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    total = service.recount(segment)
    return MemberPage(member_rows(customers[:PAGE_SIZE], show_mobile), page, len(customers) > PAGE_SIZE, total)


def preview(rule: Any, show_mobile: bool) -> dict[str, Any]:
    """The builder's live answer: problems, or the count and a sample of 20 members."""
    problems = rules.problems_of(rule)
    if problems:
        return {"ok": False, "problems": [p.as_dict(_) for p in problems]}
    return {"ok": True, "count": service.count(rule),
            "sample": [row.as_dict() for row in member_rows(service.sample(rule, 20), show_mobile)]}
