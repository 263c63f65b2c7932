"""The RFM part of a customer's page (app/contacts/customer_page.py): the score card and the orders in the timeline."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.contacts.customer_page import Section, TimelineEntry
from app.extensions import db
from app.rfm.models import CustomerRfmScore, Order
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS

ORDER_LIMIT = 50


def yuan(fen: int) -> str:
    return "%.2f" % (fen / 100)


def rfm_section(external_userid: str) -> Section | None:
    """The customer's RFM score card (once scored) and latest orders; None when there is neither."""
    orders = db.session.scalars(select(Order).where(Order.external_userid == external_userid)
                                .order_by(Order.paid_at.desc()).limit(ORDER_LIMIT)).all()
    score = db.session.get(CustomerRfmScore, external_userid)
    if not orders and score is None:
        return None
    timeline = [TimelineEntry(order.paid_at, "order", _("订单 %(id)s：%(amount)s 元（%(status)s）", id=order.order_id,
                                                        amount=yuan(order.amount_fen), status=order.status))
                for order in orders]
    scored = score is not None and score.segment
    return Section("rfm/_customer_card.html" if scored else None,
                   {"rfm": score, "segment_labels": SEGMENT_LABELS, "class_labels": CLASS_LABELS}, timeline)
