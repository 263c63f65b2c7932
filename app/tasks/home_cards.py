"""Home cards of 跟进任务: the overdue tasks within the account's scope, and the account's own open tasks."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from app.contacts.scope import scope_for
from app.core.db import utcnow
from app.extensions import db
from app.home.cards import Card, number
from app.tasks.models import OPEN, Task


def task_cards(user) -> list[Card]:
    now = utcnow()
    open_count, overdue = db.session.execute(
        select(func.count(), func.sum(case((Task.due_at <= now, 1), else_=0)))
        .where(Task.state == OPEN, scope_for(user).staff_filter(Task.assignee))).one()
    cards = [Card(_("逾期跟进任务"), number(overdue or 0), url_for("tasks.overdue"),
                  _("进行中 %(n)s 个", n=number(open_count)), "danger" if overdue else "")]
    if user.wecom_userid:
        mine = db.session.scalar(select(func.count()).where(Task.state == OPEN, Task.assignee == user.wecom_userid))
        cards.append(Card(_("我的任务"), number(mine), url_for("tasks.mine")))
    return cards
