"""Home card of 社群运营: the groups' health score of the last built day, silent groups and groups to watch."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from app.community import activity_report as report, health
from app.home.cards import Card, number


def activity_cards(user) -> list[Card]:  # noqa: ARG001 (community managers see every group)
    found = report.summary(report.latest_day())
    if found.day is None:
        return [Card(_("群健康度"), _("未计算"), url_for("community.activity"),
                     _("每天 06:40 按前一天的客户群统计计算"), "warning")]
    band = health.band(found.score)
    tone = "danger" if band == "watch" else "success" if band == "healthy" and not (found.silent or found.watch) else (
        "warning" if found.silent or found.watch else "")
    return [Card(_("群健康度"), "—" if found.score is None else str(found.score), url_for("community.activity"),
                 _("%(day)s · %(groups)s 个群，沉默 %(silent)s 个，需关注 %(watch)s 个", day=found.day.isoformat(),
                   groups=number(found.groups), silent=number(found.silent), watch=number(found.watch)), tone)]
