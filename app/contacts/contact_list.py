"""The contact list query: search, filters, sort, capped count and a page of customers with their relations."""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import timedelta

from sqlalchemy import Select, String, cast, exists, func, literal_column, select, union
from sqlalchemy.dialects.postgresql import JSONB

from app.contacts.labels import normalize_mobile
from app.contacts.models import (REMARK_MOBILE_DIGITS, Customer, CustomerGroup, CustomerGroupMember, Department,
                                 FollowRelation, Staff)
from app.contacts.staff_labels import staff_labels
from app.contacts.scope import Scope, staff_in_departments, with_sub_departments
from app.core import settings
from app.extensions import db
from app.tags.models import CorpTag, CorpTagGroup
from app.tags.read_only import READ_ONLY_GROUPS

MOBILE_SEARCH = re.compile(r"\+?[\d\s()\-]+")  # what someone types for (part of) a phone number
MIN_MOBILE_DIGITS = 4  # fewer would match most customers (and no trigram narrows them)
PAGE_SIZE = 50
COUNT_CAP = 1_000  # beyond this the list says "more than 1,000" instead of counting a million rows
SORTS = {
    "newest": (Customer.id.desc(),),
    "oldest": (Customer.id.asc(),),
    "name": (Customer.name.asc(), Customer.id.asc()),
    "corp": (Customer.corp_name.asc(), Customer.id.asc()),
    "lost": (Customer.lost_at.desc().nulls_last(), Customer.id.desc()),
}


@dataclass
class Filters:
    """The list's query string, as typed; empty means not filtered."""

    q: str = ""
    staff: str = ""
    department: str = ""
    tag: str = ""
    group: str = ""
    state: str = ""
    add_way: str = ""
    since: str = ""
    until: str = ""
    lost: str = ""  # "", "yes", "no"
    sort: str = "newest"

    @classmethod
    def from_args(cls, args) -> "Filters":
        found = cls(**{f.name: (args.get(f.name) or "").strip() for f in fields(cls)})
        if found.sort not in SORTS:
            found.sort = "newest"
        return found

    @property
    def filtered(self) -> bool:
        return any(v for k, v in self.args().items() if k != "sort")

    def args(self) -> dict[str, str]:
        """The non-empty filters, for links that keep them (pages, sort, export)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def has_tag(tag_id: str):
    """The relation carries the corp tag: JSONB containment on PostgreSQL (GIN-indexed), text match elsewhere."""
    if db.engine.dialect.name == "postgresql":
        return cast(FollowRelation.tag_ids, JSONB).contains([tag_id])
    return cast(FollowRelation.tag_ids, String).contains(f'"{tag_id}"', autoescape=True)


def relation_conditions(f: Filters, scope: Scope) -> list:
    """Conditions on FollowRelation that the filters (and the account's scope) put on a customer's relations."""
    conds = [] if scope.everything else [scope.staff_filter(FollowRelation.userid)]
    if f.staff:
        conds.append(FollowRelation.userid == f.staff)
    if f.department.isdigit():
        userids = staff_in_departments(with_sub_departments({int(f.department)}))
        conds.append(FollowRelation.userid.in_(sorted(userids)))
    if f.tag:
        conds.append(has_tag(f.tag))
    if f.state:
        conds.append(FollowRelation.state == f.state)
    if f.add_way.lstrip("-").isdigit():
        conds.append(FollowRelation.add_way == int(f.add_way))
    if since := settings.start_of_corp_day(f.since):
        conds.append(FollowRelation.added_at >= since)
    if until := settings.start_of_corp_day(f.until):
        conds.append(FollowRelation.added_at < until + timedelta(days=1))
    return conds


def mobile_digits(text: str) -> str | None:
    """The digits to look for in remark mobiles when the search looks like (part of) a phone number: at least
    MIN_MOBILE_DIGITS digits, with spaces, dashes, brackets or a leading + between them (+86 dropped)."""
    if not MOBILE_SEARCH.fullmatch(text):
        return None
    digits = normalize_mobile(text)
    return digits if len(digits) >= MIN_MOBILE_DIGITS else None


def remark_mobile_digits():
    """A relation's remark mobiles as digits and commas ("13800000000,13900000000"), so that a phone number
    matches however it was written. On PostgreSQL the exact expression of the trigram index
    ix_follow_relations_remark_mobiles_trgm; elsewhere the JSON text without spaces, dashes and +."""
    if db.engine.dialect.name == "postgresql":
        return literal_column(REMARK_MOBILE_DIGITS)
    text = cast(FollowRelation.remark_mobiles, String)
    for separator in (" ", "-", "+"):
        text = func.replace(text, separator, "")
    return text


def search_ids(text: str, mobiles: bool):
    """Ids of customers whose name, corp name or a relation's remark contains the text, or (with `mobiles`, for
    accounts that may see phone numbers) a relation's remark mobile contains its digits.

    A UNION of simple scans rather than an OR with EXISTS: each part can use its own index
    (PostgreSQL: pg_trgm GIN indexes), and even without them it is cheaper than the OR.
    """
    def has(column):
        return column.contains(text, autoescape=True)

    def by_relation(condition):
        return select(Customer.id).join(FollowRelation, FollowRelation.external_userid == Customer.external_userid) \
            .where(condition)

    parts = [select(Customer.id).where(has(Customer.name)), select(Customer.id).where(has(Customer.corp_name)),
             by_relation(has(FollowRelation.remark))]
    if mobiles and (digits := mobile_digits(text)):
        parts.append(by_relation(remark_mobile_digits().contains(digits, autoescape=True)))
    return union(*parts)


def customer_query(f: Filters, scope: Scope, mobiles: bool) -> Select:
    """Customers matching the filters, sorted; relation filters are EXISTS subqueries so indexes drive them. The
    search looks in remark mobiles only with `mobiles` (an account that sees them masked cannot probe numbers)."""
    q = select(Customer)
    if conds := relation_conditions(f, scope):
        q = q.where(exists().where(FollowRelation.external_userid == Customer.external_userid, *conds))
    if f.q:
        q = q.where(Customer.id.in_(search_ids(f.q, mobiles)))
    if f.group:
        q = q.where(exists().where(CustomerGroupMember.userid == Customer.external_userid,
                                   CustomerGroupMember.chat_id == f.group, CustomerGroupMember.left_at.is_(None)))
    if f.lost == "yes":
        q = q.where(Customer.lost_at.is_not(None))
    elif f.lost == "no":
        q = q.where(Customer.lost_at.is_(None))
    return q.order_by(*SORTS[f.sort])


def capped_count(query: Select, cap: int = COUNT_CAP) -> int:
    """How many rows the query has, counting at most cap + 1 (so "more than cap" is cheap to tell)."""
    limited = query.order_by(None).with_only_columns(Customer.id).limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(limited))


@dataclass
class ContactPage:
    customers: list[Customer]
    relations: dict[str, list[FollowRelation]]
    staff_names: dict[str, str]
    page: int
    has_next: bool
    total: int  # capped at COUNT_CAP + 1

    @property
    def total_capped(self) -> bool:
        return self.total > COUNT_CAP


def relations_of(external_userids: list[str], scope: Scope) -> dict[str, list[FollowRelation]]:
    """The relations of these customers that the account may see, current ones first."""
    found: dict[str, list[FollowRelation]] = {e: [] for e in external_userids}
    rows = db.session.scalars(select(FollowRelation).where(
        FollowRelation.external_userid.in_(external_userids), scope.staff_filter(FollowRelation.userid))
        .order_by(FollowRelation.ended_at.is_not(None), FollowRelation.added_at))
    for rel in rows:
        found[rel.external_userid].append(rel)
    return found


def staff_names(userids) -> dict[str, str]:
    """{userid: how the page names them}: same-named members told apart (app/contacts/staff_labels.py)."""
    return staff_labels(userids)


def load_page(f: Filters, scope: Scope, page: int, mobiles: bool) -> ContactPage:
    """One page of the list (offset pagination over an indexed order; one extra row tells if there is a next)."""
    page = max(page, 1)
    query = customer_query(f, scope, mobiles)
    rows = db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    customers = rows[:PAGE_SIZE]
    relations = relations_of([c.external_userid for c in customers], scope)
    names = staff_names(r.userid for rels in relations.values() for r in rels)
    return ContactPage(customers, relations, names, page, len(rows) > PAGE_SIZE, capped_count(query))


def choices(scope: Scope) -> dict[str, list]:
    """What the filter dropdowns offer: staff with customers, departments, tags, groups."""
    staff = db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.is_follow_user.is_(True), scope.staff_filter(Staff.userid)).order_by(Staff.name)).all()
    departments = db.session.execute(select(Department.id, Department.name).where(
        Department.removed_at.is_(None)).order_by(Department.order.desc(), Department.id)).all()
    groups = db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.name).where(
        CustomerGroup.dismissed_at.is_(None), scope.staff_filter(CustomerGroup.owner))
        .order_by(CustomerGroup.name)).all()
    return {"staff": staff, "departments": departments, "tags": tag_choices(), "groups": groups}


def tag_choices(settable: bool = False) -> list[tuple[str, str, str]]:
    """Current corp tags as (tag_id, name, group name), in WeCom's order; `settable`: without the tags a job writes (RFM, 生命周期),
    for pickers that put tags on customers."""
    query = select(CorpTag.tag_id, CorpTag.name, CorpTagGroup.name).join(
        CorpTagGroup, CorpTagGroup.group_id == CorpTag.group_id).where(
        CorpTag.deleted_at.is_(None), CorpTagGroup.deleted_at.is_(None))
    if settable:
        query = query.where(CorpTagGroup.name.not_in(READ_ONLY_GROUPS))
    return db.session.execute(query.order_by(CorpTagGroup.order.desc(), CorpTag.order.desc())).all()


def tag_names() -> dict[str, str]:
    return dict(db.session.execute(select(CorpTag.tag_id, CorpTag.name)).all())
