"""Orders that came without a customer (only a unionid or a mobile) given one, by unionid or else by remark mobile,
in the caller's transaction: all of them before each RFM recompute and each evaluation of the rule tags, and a stored
batch's own at once, an API call's or a file import's (so its customers leave their journeys as it is stored)."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable

from sqlalchemy import literal_column, or_, select, update

from app.contacts.labels import normalize_mobile
from app.contacts.models import REMARK_MOBILE_DIGITS, Customer, FollowRelation
from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import Order

UPDATE_CHUNK = 1000
CHUNK = 500


def _by_mobile(mobiles: set[str], narrow: bool) -> dict[str, set[str]]:
    """Normalised mobile -> customers whose relations list it; `narrow`: read only relations that may list one of
    `mobiles` (PostgreSQL's trigram index on the digits; elsewhere every relation is read)."""
    query = select(FollowRelation.external_userid, FollowRelation.remark_mobiles)
    if narrow and db.session.get_bind().dialect.name == "postgresql":
        digits = literal_column(REMARK_MOBILE_DIGITS)
        query = query.where(or_(*(digits.like(f"%{mobile}%") for mobile in sorted(mobiles))))
    found: dict[str, set[str]] = {}
    for ext, listed in db.session.execute(query):
        for mobile in listed or ():
            if normalize_mobile(mobile):
                found.setdefault(normalize_mobile(mobile), set()).add(ext)
    return found


Mobiles = Callable[[set[str]], dict[str, set[str]]]  # normalised mobiles -> {mobile: customers listing it}


def narrowed(mobiles: set[str]) -> dict[str, set[str]]:
    return _by_mobile(mobiles, narrow=True)


class MobileBook:
    """Every relation's mobiles, read on first use and then looked up: for a long run of batches (a file import),
    where reading the relations again for each batch would cost more than storing it (a relation added meanwhile
    is matched by the next recompute's matching)."""

    def __init__(self) -> None:
        self._found: dict[str, set[str]] | None = None

    def __call__(self, mobiles: set[str]) -> dict[str, set[str]]:
        if self._found is None:
            self._found = _by_mobile(mobiles, narrow=False)
        return self._found


def _match(open_orders: list, mobiles_of: Mobiles) -> tuple[dict[str, int], dict[int, str]]:
    """(counts by way of matching, {order id: the customer it now has}) for (id, unionid, mobile) rows."""
    wanted = sorted({o.unionid for o in open_orders if o.unionid})
    by_unionid: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        by_unionid.update((u, ext) for u, ext in db.session.execute(
            select(Customer.unionid, Customer.external_userid).where(Customer.unionid.in_(wanted[start:start + CHUNK]))))
    mobiles = {normalize_mobile(o.mobile) for o in open_orders if o.mobile and o.unionid not in by_unionid}
    by_mobile = mobiles_of(mobiles - {""}) if mobiles - {""} else {}
    counts, matched = Counter(unionid=0, mobile=0, unmatched=0), {}
    for order in open_orders:
        who = by_unionid.get(order.unionid) if order.unionid else None
        way = "unionid"
        if who is None:
            found = by_mobile.get(normalize_mobile(order.mobile), set()) if order.mobile else set()
            who, way = (next(iter(found)), "mobile") if len(found) == 1 else (None, "unmatched")
        counts[way] += 1
        if who:
            matched[order.id] = who
    changes = [{"id": order_id, "external_userid": who, "updated_at": utcnow()} for order_id, who in matched.items()]
    for start in range(0, len(changes), UPDATE_CHUNK):
        db.session.execute(update(Order), changes[start:start + UPDATE_CHUNK])
    return dict(counts), matched


def match_orders() -> dict[str, int]:
    """Give orders without external_userid the customer with the same unionid, else the one whose relation
    lists the same mobile (a mobile listed for several customers matches none). Counts by way of matching."""
    open_orders = db.session.execute(select(Order.id, Order.unionid, Order.mobile)
                                     .where(Order.external_userid.is_(None))).all()
    if not open_orders:
        return {"unionid": 0, "mobile": 0, "unmatched": 0}
    return _match(open_orders, MobileBook())[0]


def match_these(order_ids: Iterable[str], mobiles_of: Mobiles = narrowed) -> list[str]:
    """The same for just these orders (by order_id), e.g. a stored batch; the customers of the paid ones matched.
    The mobiles are looked up narrowly (a few orders) unless a MobileBook is given (batch after batch)."""
    ids = sorted(set(order_ids))
    open_orders = [row for start in range(0, len(ids), CHUNK) for row in db.session.execute(
        select(Order.id, Order.unionid, Order.mobile, Order.status).where(
            Order.order_id.in_(ids[start:start + CHUNK]), Order.external_userid.is_(None)))]
    if not open_orders:
        return []
    matched = _match(open_orders, mobiles_of)[1]
    return sorted({matched[o.id] for o in open_orders if o.id in matched and o.status == "paid"})
