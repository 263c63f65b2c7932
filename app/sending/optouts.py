"""Do-not-disturb (免打扰): customers who asked for no mass messages; every send skips them (reason opt_out)."""
from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Customer
from app.core import audit
from app.core.db import transaction
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.sending.models import CustomerOptOut


class OptOutError(UserError):
    """An opt-out change refused; the message says why."""


def listing(limit: int = 500) -> list[tuple[CustomerOptOut, Customer]]:
    query = (select(CustomerOptOut, Customer).join(Customer, Customer.id == CustomerOptOut.customer_id)
             .order_by(CustomerOptOut.created_at.desc()).limit(limit))
    return [(row, customer) for row, customer in db.session.execute(query)]


def add(external_userid: str, reason: str, actor: str) -> CustomerOptOut:
    customer = db.session.scalar(select(Customer).where(Customer.external_userid == external_userid.strip()))
    if customer is None:
        raise OptOutError(N_("找不到客户 %(id)s（请填写 external_userid）"), id=external_userid.strip())
    if db.session.scalar(select(CustomerOptOut).where(CustomerOptOut.customer_id == customer.id)):
        raise OptOutError(N_("%(name)s 已在免打扰名单中"), name=customer.name or customer.external_userid)
    with transaction():
        row = CustomerOptOut(customer_id=customer.id, reason=reason.strip()[:256], created_by=actor)
        db.session.add(row)
        audit.record("campaigns.opt_out_added", target=f"customer:{customer.external_userid}",
                     details={"reason": row.reason})
    return row


def remove(opt_out_id: int) -> None:
    row = db.session.get(CustomerOptOut, opt_out_id)
    if row is None:
        raise OptOutError(N_("这条免打扰记录已不存在"))
    customer = db.session.get(Customer, row.customer_id)
    with transaction():
        audit.record("campaigns.opt_out_removed", target=f"customer:{customer.external_userid}",
                     details={"reason": row.reason, "since": row.created_at.isoformat()})
        db.session.delete(row)
