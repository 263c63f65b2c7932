"""A saved segment's members as spreadsheet rows (one per customer), for the CSV export."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.contacts.models import Customer
from app.extensions import db
from app.segments import service
from app.segments.pages import member_rows

EXPORT_LIMIT = 100_000  # customers per export, as for the contact list
BATCH = 500


def header() -> list[str]:
    return [_("客户ID"), _("客户名称"), _("企业"), _("跟进员工"), _("手机号"), _("标签"), _("RFM 分层"),
            _("客户流失时间")]


def rows(segment: service.Segment, show_mobile: bool) -> list[list[str]]:
    """The members in id order, up to EXPORT_LIMIT, with mobiles masked unless the account may see them."""
    ids = service.member_ids(segment.rule).subquery()
    customers = list(db.session.scalars(select(Customer).join(ids, ids.c.customer_id == Customer.id)
                                        .order_by(Customer.id).limit(EXPORT_LIMIT)))
    found = []
    for start in range(0, len(customers), BATCH):
        for row in member_rows(customers[start:start + BATCH], show_mobile):
            found.append([row.external_userid, row.name, row.corp_name, "、".join(row.staff), " ".join(row.mobiles),
                          "、".join(row.tags), row.segment or "", row.lost_at])
    return found
