"""Home cards of contacts: customers in the account's scope, new and lost today and this week, the last sync."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select

from app.contacts import sync
from app.contacts.models import Customer, FollowRelation, SyncRun
from app.contacts.scope import scope_for
from app.core import settings
from app.extensions import db
from app.home.cards import Card, number


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def customer_cards(user) -> list[Card]:
    scope = scope_for(user)
    today = datetime.now(settings.corp_timezone()).date()
    day_start = settings.start_of_corp_day(today.isoformat())
    week_start = day_start - timedelta(days=6)
    rel = FollowRelation
    lost_by_customer = and_(rel.ended_by == "customer", rel.ended_at >= week_start)
    new_today, new_week, lost_today, lost_week = db.session.execute(
        select(_count_if(rel.added_at >= day_start), _count_if(rel.added_at >= week_start),
               _count_if(and_(lost_by_customer, rel.ended_at >= day_start)), _count_if(lost_by_customer))
        .where(scope.staff_filter(rel.userid), (rel.added_at >= week_start) | (rel.ended_at >= week_start))).one()
    if scope.everything:
        customers = db.session.scalar(select(func.count()).select_from(Customer).where(Customer.lost_at.is_(None)))
    else:
        customers = db.session.scalar(select(func.count(rel.external_userid.distinct()))
                                      .where(scope.staff_filter(rel.userid), rel.ended_at.is_(None)))
    return [
        Card(_("客户"), number(customers), url_for("contacts.index", lost="no"),
             _("仍是好友的客户") if scope.everything else _("您负责范围内仍是好友的客户")),
        Card(_("今日新增客户"), number(new_today), url_for("contacts.index", since=today.isoformat()),
             _("近 7 天 %(n)s，按员工好友关系计", n=number(new_week)), "success" if new_today else ""),
        Card(_("今日客户删除员工"), number(lost_today), url_for("contacts.staff"),
             _("近 7 天 %(n)s", n=number(lost_week)), "warning" if lost_today else ""),
    ]


def sync_cards(user) -> list[Card]:
    run = db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(1)).first()
    if run is None:
        return [Card(_("企业微信同步"), _("从未同步"), url_for("contacts.sync_runs"),
                     _("先做一次全量同步，控制台才有员工、客户和客户群"), "warning")]
    tone = {sync.FAILED: "danger", sync.RUNNING: ""}.get(run.status, "success")
    when = run.finished_at or run.started_at
    note = _("%(when)s，由 %(who)s 发起", when=when.astimezone(settings.corp_timezone()).strftime("%Y-%m-%d %H:%M"),
             who=run.started_by)
    if run.status == sync.FAILED and run.errors:
        failed = run.errors[-1]
        note = _("%(stage)s 阶段出错：%(message)s", stage=_(sync.STAGE_LABELS[failed["stage"]]),
                 # a run recorded before summaries existed: its message up to WeCom's details
                 message=failed.get("summary") or failed["message"].split(" (api=")[0])
    return [Card(_("企业微信同步"), _(sync.STATUS_LABELS[run.status]), url_for("contacts.sync_run", run_id=run.id),
                 note, tone)]
