"""The filtered contact list as CSV or Excel: one row per customer and visible relation; audited."""
from __future__ import annotations

from typing import Iterator

from flask import Response
from flask_babel import gettext as _

from app.contacts.contact_list import Filters, customer_query, relations_of, staff_names, tag_names
from app.contacts.labels import ADD_WAY_LABELS, mask_mobile
from app.contacts.scope import Scope
from app.core.audit import record
from app.core.db import transaction
from app.core.export import table_response
from app.extensions import db
from app.welcome.channel_names import names_by_state

EXPORT_LIMIT = 100_000  # customers per export
BATCH = 500


def header() -> list[str]:
    return [_("客户ID"), _("客户名称"), _("企业"), _("跟进员工"), _("备注"), _("手机号"), _("标签"),
            _("渠道"), _("渠道 state"), _("添加方式"), _("添加时间"), _("关系结束时间"), _("客户流失时间")]


def rows(f: Filters, scope: Scope, show_mobile: bool) -> Iterator[list]:
    """Rows of the export in list order, times as datetimes (written corp-local); a customer without a visible relation
    still gets one row."""
    tags = tag_names()
    query = customer_query(f, scope, show_mobile).limit(EXPORT_LIMIT)
    customers = db.session.scalars(query).all()
    for start in range(0, len(customers), BATCH):
        batch = customers[start:start + BATCH]
        relations = relations_of([c.external_userid for c in batch], scope)
        names = staff_names(r.userid for rels in relations.values() for r in rels)
        channels = names_by_state(r.state for rels in relations.values() for r in rels)
        for c in batch:
            base = [c.external_userid, c.name, c.corp_name or c.corp_full_name]
            for rel in relations[c.external_userid] or [None]:
                if rel is None:
                    yield base + [""] * 8 + [c.lost_at]
                    continue
                mobiles = rel.remark_mobiles if show_mobile else [mask_mobile(m) for m in rel.remark_mobiles]
                yield base + [names.get(rel.userid, rel.userid), rel.remark, " ".join(mobiles),
                              "、".join(tags.get(t, t) for t in rel.tag_ids), channels.get(rel.state, ""), rel.state,
                              _(ADD_WAY_LABELS.get(rel.add_way, "未知来源")), rel.added_at,
                              rel.ended_at, c.lost_at]


def export(f: Filters, scope: Scope, show_mobile: bool, fmt: str) -> Response:
    """The file in the asked format (csv or xlsx); the export and its filters go to the audit log."""
    data = list(rows(f, scope, show_mobile))
    with transaction():
        record("contacts.exported", details={"filters": f.args(), "format": fmt, "rows": len(data),
                                             "mobiles": "shown" if show_mobile else "masked"})
    return table_response(fmt, header(), data, "contacts", _("客户"))
