"""Home cards of RFM: the customers to look after first (champions, at risk, can't lose) and who moved in lately,
counted within the account's scope."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.contacts.scope import scope_for
from app.extensions import db
from app.home.cards import Card, number
from app.rfm import recompute
from app.rfm.models import CustomerRfmScore as S
from app.rfm.segments import SEGMENT_LABELS

WATCHED = (("champions", "success"), ("at_risk", "warning"), ("cant_lose", "danger"))


def rfm_cards(user) -> list[Card]:
    run = recompute.latest_run()
    if run is None:
        return [Card(_("RFM 分层"), _("尚未计算"), url_for("rfm.index"), _("导入订单后重算，即可看到客户分层"), "warning")]
    keys = [key for key, _tone in WATCHED]
    mine = scope_for(user).customer_filter(S.external_userid)
    totals = dict(db.session.execute(select(S.segment, func.count()).where(S.segment.in_(keys), mine)
                                     .group_by(S.segment)).all())
    moved_in = dict(db.session.execute(
        select(S.segment, func.count()).where(S.segment.in_(keys), mine, S.previous_segment.is_not(None),
                                              S.previous_segment != S.segment).group_by(S.segment)).all())
    as_of = run.as_of.isoformat() if run.as_of else ""
    return [Card(_(SEGMENT_LABELS[key]), number(totals.get(key)), url_for("rfm.customers", segment=key),
                 _("较上次新进入 %(n)s（截至 %(day)s）", n=number(moved_in.get(key)), day=as_of),
                 tone if totals.get(key) else "")
            for key, tone in WATCHED]
