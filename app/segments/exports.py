"""A saved segment's members as spreadsheet rows (one per customer), for the CSV export."""
from __future__ import annotations

from flask_babel import gettext as _

from app.segments import service
from app.segments.pages import member_rows

EXPORT_LIMIT = 100_000  # customers per export, as for the contact list
BATCH = 500


def header() -> list[str]:
    return [_("客户ID"), _("客户名称"), _("企业"), _("跟进员工"), _("手机号"), _("标签"), _("RFM 分层"),
            _("客户流失时间")]


def rows(segment: service.Segment, show_mobile: bool) -> list[list]:
    """The members in id order, up to EXPORT_LIMIT, with mobiles masked unless the account may see them; when a
    customer was lost as a time (the export writes it corp-local)."""
    found: list[list] = []
    after_id = 0
    while len(found) < EXPORT_LIMIT:
        batch = service.member_page(segment.rule, after_id, min(BATCH, EXPORT_LIMIT - len(found)))
        for customer, row in zip(batch, member_rows(batch, show_mobile)):
            found.append([row.external_userid, row.name, row.corp_name, "、".join(row.staff), " ".join(row.mobiles),
                          "、".join(row.tags), row.segment or "", customer.lost_at])
        if len(batch) < BATCH:
            return found
        after_id = batch[-1].id
    return found
