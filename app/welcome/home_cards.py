"""Home card of welcomes: today's new customers greeted in time, and those the 20 seconds were too short for."""
from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.core import settings
from app.extensions import db
from app.home.cards import Card, number
from app.welcome.models import Outcome, WelcomeRecord


def welcome_cards(user) -> list[Card]:
    today = datetime.now(settings.corp_timezone()).date()
    since = settings.start_of_corp_day(today.isoformat())
    counts = dict(db.session.execute(select(WelcomeRecord.outcome, func.count())
                                     .where(WelcomeRecord.received_at >= since)
                                     .group_by(WelcomeRecord.outcome)).all())
    missed = counts.get(Outcome.MISSED, 0) + counts.get(Outcome.FAILED, 0)
    return [Card(_("今日欢迎语"), number(counts.get(Outcome.SENT, 0)), url_for("welcome.index", days=1),
                 _("超时或失败 %(n)s", n=number(missed)), "danger" if missed else "")]
