"""Home card of the callback inbox: events waiting and events that failed, for those who can replay them."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.home.cards import Card, number
from app.wecom.inbox import CallbackEvent, Status


def callback_cards(user) -> list[Card]:
    counts = dict(db.session.execute(
        select(CallbackEvent.status, func.count())
        .where(CallbackEvent.status.in_((Status.PENDING, Status.PROCESSING, Status.DEAD)))
        .group_by(CallbackEvent.status)).all())
    waiting = counts.get(Status.PENDING, 0) + counts.get(Status.PROCESSING, 0)
    dead = counts.get(Status.DEAD, 0)
    if dead:
        return [Card(_("回调事件失败"), number(dead), url_for("wecom.events", status=Status.DEAD),
                     _("处理 5 次仍失败，请查看原因后重放；另有 %(n)s 个待处理", n=number(waiting)), "danger")]
    return [Card(_("回调事件待处理"), number(waiting), url_for("wecom.events", status=Status.PENDING),
                 _("没有失败的事件"), "warning" if waiting > 100 else "")]
