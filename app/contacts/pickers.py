"""The pickers' JSON search (customers, groups, staff, channels by name), inside the account's scope; routes on
the `contacts` blueprint, read by app/static/picker.js."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, exists, func, or_, select

from app.contacts.contact_list import search_ids, staff_names
from app.contacts.group_tags import CustomerTags, chats_with
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, FollowRelation, Staff
from app.contacts.scope import Scope, scope_for
from app.contacts.staff_labels import staff_labels
from app.contacts.views import bp
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.welcome.models import Channel

LIMIT = 20
MAX_QUERY = 64


def _query() -> str:
    return (request.args.get("q") or "").strip()[:MAX_QUERY]


def _answer(results: list[dict]) -> object:
    """{"results": [{"value", "label", "hint"}]}: what the picker lists (value is what the form sends)."""
    return jsonify(results=results[:LIMIT], more=len(results) > LIMIT)


def customers(text: str, scope: Scope, staff: str = "", mobiles: bool = False) -> list[dict]:
    """Customers by name, corp name or remark (phone digits for those who see numbers), of `staff` if given."""
    query: Select = select(Customer).where(scope.customer_filter(Customer.external_userid))
    if text:
        query = query.where(Customer.id.in_(search_ids(text, mobiles)))
    if staff:
        query = query.where(exists().where(FollowRelation.external_userid == Customer.external_userid,
                                           FollowRelation.userid == staff, FollowRelation.ended_at.is_(None)))
    rows = db.session.scalars(query.order_by(Customer.name, Customer.id).limit(LIMIT + 1)).all()
    followers: dict[str, list[str]] = {}
    for ext, userid in db.session.execute(select(FollowRelation.external_userid, FollowRelation.userid).where(
            FollowRelation.external_userid.in_([c.external_userid for c in rows]), FollowRelation.ended_at.is_(None),
            scope.staff_filter(FollowRelation.userid))):
        followers.setdefault(ext, []).append(userid)
    names = staff_names(u for us in followers.values() for u in us)
    return [{"value": c.external_userid, "label": c.name or c.external_userid,
             "hint": " · ".join(p for p in (c.corp_name, _("跟进：%(names)s", names="、".join(
                 names.get(u, u) for u in followers.get(c.external_userid, []))) if followers.get(c.external_userid)
                 else "") if p)} for c in rows]


def groups(text: str, scope: Scope, owner: str = "", tag: str = "", smallest: int | None = None,
           largest: int | None = None) -> list[dict]:
    """Live groups by name, owner, a tag one of their customers carries, and size (current members)."""
    size = (select(func.count()).where(CustomerGroupMember.chat_id == CustomerGroup.chat_id,
                                       CustomerGroupMember.left_at.is_(None)).correlate(CustomerGroup)
            .scalar_subquery())
    query = select(CustomerGroup, size.label("size")).where(CustomerGroup.dismissed_at.is_(None),
                                                             scope.staff_filter(CustomerGroup.owner))
    if text:
        query = query.where(or_(CustomerGroup.name.contains(text, autoescape=True), CustomerGroup.chat_id == text))
    if owner:
        query = query.where(CustomerGroup.owner == owner)
    if tag:
        query = query.where(CustomerGroup.chat_id.in_(chats_with(CustomerTags((tag,)))))
    if smallest is not None:
        query = query.where(size >= smallest)
    if largest is not None:
        query = query.where(size <= largest)
    rows = db.session.execute(query.order_by(CustomerGroup.name, CustomerGroup.id).limit(LIMIT + 1)).all()
    owners = staff_labels(g.owner for g, _n in rows)
    return [{"value": g.chat_id, "label": g.name or _("未命名群"),
             "hint": _("群主 %(owner)s · %(n)s 人", owner=owners.get(g.owner, g.owner), n=n)} for g, n in rows]


def staff(text: str, scope: Scope) -> list[dict]:
    """Staff by name, userid or alias; the label tells same-named members apart."""
    query = select(Staff.userid).where(Staff.removed_at.is_(None), scope.staff_filter(Staff.userid))
    if text:
        query = query.where(or_(Staff.name.contains(text, autoescape=True), Staff.userid.contains(text, autoescape=True),
                                Staff.alias.contains(text, autoescape=True)))
    userids = db.session.scalars(query.order_by(Staff.name, Staff.userid).limit(LIMIT + 1)).all()
    labels = staff_labels(userids, always=True)
    return [{"value": u, "label": labels[u], "hint": ""} for u in userids]


def channels(text: str) -> list[dict]:
    """Channels (contact ways with a state) by name or state."""
    query = select(Channel.state, Channel.name).where(Channel.state.is_not(None))
    if text:
        query = query.where(or_(Channel.name.contains(text, autoescape=True), Channel.state.contains(text, autoescape=True)))
    return [{"value": state, "label": name, "hint": state}
            for state, name in db.session.execute(query.order_by(Channel.name).limit(LIMIT + 1))]


def _number(name: str) -> int | None:
    value = (request.args.get(name) or "").strip()
    return int(value) if value.isdigit() else None


@bp.get("/pick/customers", endpoint="pick_customers")
@requires(P.CONTACTS_VIEW)
def pick_customers():
    return _answer(customers(_query(), scope_for(current_user), request.args.get("staff", "").strip(),
                             current_user.can(P.CONTACTS_VIEW_MOBILE)))


@bp.get("/pick/groups", endpoint="pick_groups")
@requires(P.GROUPS_VIEW)
def pick_groups():
    return _answer(groups(_query(), scope_for(current_user), request.args.get("owner", "").strip(),
                          request.args.get("tag", "").strip(), _number("min"), _number("max")))


@bp.get("/pick/staff", endpoint="pick_staff")
@requires(P.CONTACTS_VIEW)
def pick_staff():
    return _answer(staff(_query(), scope_for(current_user)))


@bp.get("/pick/channels", endpoint="pick_channels")
@requires(P.CONTACTS_VIEW)
def pick_channels():
    return _answer(channels(_query()))
