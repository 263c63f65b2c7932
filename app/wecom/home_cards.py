"""Home cards of the WeCom connection: a refused Secret or a blocked IP for everyone; the callback inbox for those
who can replay events."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.core.permissions import Permission as P
from app.extensions import db
from app.home.cards import Card, number
from app.wecom import connection, token_status
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


def credential_cards(user) -> list[Card]:
    """Nothing while WeCom accepts the credentials; a red card saying why every WeCom call fails when it does not."""
    problem = connection.credentials_problem()
    if problem is None:
        return []
    value = _("调用被封禁") if problem.kind == token_status.BLOCKED else _("Secret 被拒绝")
    link = url_for("admin.settings") if user.can(P.SETTINGS_MANAGE) else None
    return [Card(_("企业微信连接"), value, link, token_status.explain(problem), "danger")]
