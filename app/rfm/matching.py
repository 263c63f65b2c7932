"""Orders that came without a customer (only a unionid or a mobile) given one, by unionid or else by remark mobile,
in the caller's transaction: before each RFM recompute and each evaluation of the rule tags."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update

from app.contacts.labels import normalize_mobile
from app.contacts.models import Customer, FollowRelation
from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import Order

UPDATE_CHUNK = 1000


def match_orders() -> dict[str, int]:
    """Give orders without external_userid the customer with the same unionid, else the one whose relation
    lists the same mobile (a mobile listed for several customers matches none). Counts by way of matching."""
    open_orders = db.session.execute(select(Order.id, Order.unionid, Order.mobile)
                                     .where(Order.external_userid.is_(None))).all()
    if not open_orders:
        return {"unionid": 0, "mobile": 0, "unmatched": 0}
    unionids = {o.unionid for o in open_orders if o.unionid}
    by_unionid: dict[str, str] = {}
    wanted = sorted(unionids)
    for start in range(0, len(wanted), 500):
        by_unionid.update((u, ext) for u, ext in db.session.execute(
            select(Customer.unionid, Customer.external_userid).where(Customer.unionid.in_(wanted[start:start + 500]))))
    by_mobile: dict[str, set[str]] = {}
    if any(o.mobile for o in open_orders):
        for ext, mobiles in db.session.execute(select(FollowRelation.external_userid, FollowRelation.remark_mobiles)):
            for mobile in mobiles or ():
                if normalize_mobile(mobile):
                    by_mobile.setdefault(normalize_mobile(mobile), set()).add(ext)
    changes, counts = [], Counter(unionid=0, mobile=0, unmatched=0)
    for order in open_orders:
        who = by_unionid.get(order.unionid) if order.unionid else None
        way = "unionid"
        if who is None:
            found = by_mobile.get(normalize_mobile(order.mobile), set()) if order.mobile else set()
            who, way = (next(iter(found)), "mobile") if len(found) == 1 else (None, "unmatched")
        counts[way] += 1
        if who:
            changes.append({"id": order.id, "external_userid": who, "updated_at": utcnow()})
    for start in range(0, len(changes), UPDATE_CHUNK):
        db.session.execute(update(Order), changes[start:start + UPDATE_CHUNK])
    return dict(counts)
