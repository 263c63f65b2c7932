"""Home cards of 客户继承 (for supervisors and admins): customers of members who left still waiting for someone to take
them over, and customers or groups whose transfer failed lately, within the account's scope."""
from __future__ import annotations

from datetime import timedelta

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.contacts.scope import scope_for
from app.core.db import utcnow
from app.extensions import db
from app.home.cards import Card, number
from app.transfer import pages
from app.transfer.models import FAILED, TransferItem

FAILED_DAYS = 30


def transfer_cards(user) -> list[Card]:
    scope = scope_for(user)
    people = pages.departed(scope)
    waiting = sum(max(p.customers - p.in_transfer, 0) for p in people)
    groups = sum(p.groups for p in people)
    failed = select(func.count()).where(TransferItem.status == FAILED,
                                        TransferItem.finished_at >= utcnow() - timedelta(days=FAILED_DAYS))
    if not scope.everything:
        failed = failed.where(TransferItem.handover_userid.in_(sorted(scope.userids)))
    failures = db.session.scalar(failed)
    return [Card(_("离职成员待分配客户"), number(waiting), url_for("transfer.resigned"),
                 _("%(people)s 位离职成员 · %(groups)s 个客户群", people=number(len(people)), groups=number(groups)),
                 "warning" if waiting or groups else ""),
            Card(_("继承失败"), number(failures), url_for("transfer.resigned"),
                 _("最近 %(days)s 天的客户与客户群", days=FAILED_DAYS), "danger" if failures else "")]
