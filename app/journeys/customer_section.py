"""The journeys part of a customer's page (app/contacts/customer_page.py): entering, each step and leaving, in the
timeline; a wait shows when it began and when it ends."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.contacts.customer_page import Section, TimelineEntry
from app.core.permissions import N_
from app.extensions import db
from app.journeys.exits import LABELS as EXIT_LABELS
from app.journeys.models import EntryStatus, Journey, JourneyEntry as E, JourneyStepLog as L
from app.web import localtime

ENTRY_LIMIT = 20
OUTCOMES = {"message": N_("安排了一对一消息"), "task": N_("给跟进成员派了任务"), "notify": N_("通知了成员和主管"),
            "tag": N_("打上或移除了标签"), "skipped": N_("跳过了一步"), "held": N_("对照组：这一步未执行")}


def _step(log: L, journey: str) -> TimelineEntry:
    if log.outcome == "wait":
        return TimelineEntry(log.at, "journey", _("旅程「%(journey)s」：开始等待，%(due)s 结束", journey=journey,
                                                  due=localtime(log.due_at)))
    what = _(OUTCOMES[log.outcome]) if log.outcome in OUTCOMES else log.outcome
    return TimelineEntry(log.at, "journey", _("旅程「%(journey)s」：%(what)s", journey=journey, what=what))


def journey_section(external_userid: str) -> Section | None:
    """The customer's latest journeys in the timeline (no card); None when they were in none."""
    entries = db.session.execute(select(E, Journey.name).join(Journey, Journey.id == E.journey_id).where(
        E.external_userid == external_userid).order_by(E.entered_at.desc()).limit(ENTRY_LIMIT)).all()
    if not entries:
        return None
    names = {entry.id: name for entry, name in entries}
    timeline = [_step(log, names[log.entry_id]) for log in db.session.scalars(
        select(L).where(L.entry_id.in_(names)).order_by(L.id))]
    for entry, name in entries:
        timeline.append(TimelineEntry(entry.entered_at, "journey", _("进入旅程「%(journey)s」", journey=name)))
        if entry.status != EntryStatus.ACTIVE and entry.ended_at:
            reason = _(EXIT_LABELS[entry.exit_reason]) if entry.exit_reason in EXIT_LABELS else entry.exit_reason
            timeline.append(TimelineEntry(entry.ended_at, "journey", _("离开旅程「%(journey)s」：%(reason)s",
                                                                       journey=name, reason=reason)))
    return Section(None, None, timeline)
