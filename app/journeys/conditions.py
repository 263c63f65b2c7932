"""A step's condition as SQL over an entry: RFM class or segment now, or whether the customer ordered since entry."""
from __future__ import annotations

from sqlalchemy import exists

from app.journeys.models import JourneyEntry as E
from app.rfm.models import CustomerRfmScore as Score, Order


def holds(condition: dict, customer=E.external_userid, since=E.entered_at):
    """True where the customer (an external_userid column) meets the condition; `since` is when they entered."""
    field = condition["field"]
    if field == "ordered":
        ordered = exists().where(Order.external_userid == customer, Order.status == "paid", Order.paid_at >= since)
        return ordered if condition["value"] else ~ordered
    column = Score.class8 if field == "class8" else Score.segment
    return exists().where(Score.external_userid == customer, column.in_(condition["in"]))
