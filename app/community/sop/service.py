"""群SOP use cases: start an SOP from a built-in template (or empty), save and delete items, pause and resume."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from app.community.models import TIERS
from app.community.sop import library, recurrence as rec
from app.community.sop.models import KINDS, TASK, GroupSop, SopItem, SopOccurrence
from app.core import content, settings
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.media import service as media
from app.sending import guards, sendrules
from app.wordlist import service as wordlist


class SopInvalid(ValueError):
    """Input refused: {field: msgid (with its params)}; nothing was changed."""

    def __init__(self, errors: dict[str, content.ContentError]):
        self.errors = list(errors.values())
        super().__init__("; ".join(e.text() for e in self.errors))


@dataclass
class ItemInput:
    title: str
    kind: str
    text: str
    attachments: list[dict[str, Any]]
    time_of_day: str
    recurrence: str
    start_on: str  # "YYYY-MM-DD", corp date
    weekdays: list[int] = field(default_factory=list)
    month_day: int | None = None
    every_days: int | None = None
    times: int | None = None


def today() -> date:
    return utcnow().astimezone(settings.corp_timezone()).date()


def schedule_of(item: SopItem) -> rec.Recurrence:
    return rec.Recurrence(item.recurrence, item.start_on, guards.parse_hhmm(item.time_of_day),
                          tuple(item.weekdays or ()), item.month_day, item.every_days, item.times)


def _error(errors: dict, where: str, message: str, **params) -> None:
    errors.setdefault(where, content.ContentError(where, message, params))


def _check_schedule(data: ItemInput, errors: dict) -> date | None:
    try:
        guards.parse_hhmm(data.time_of_day)
    except UserError:
        _error(errors, "time_of_day", N_("时间格式应为 HH:MM，例如 09:00"))
    try:
        start = date.fromisoformat((data.start_on or "").strip())
    except ValueError:
        _error(errors, "start_on", N_("请填写开始日期（年-月-日）"))
        start = None
    if data.recurrence not in rec.LABELS:
        _error(errors, "recurrence", N_("请选择重复方式"))
    elif data.recurrence == rec.WEEKLY and not (data.weekdays and set(data.weekdays) <= set(range(7))):
        _error(errors, "weekdays", N_("每周重复：请至少选择一个星期几"))
    elif data.recurrence == rec.MONTHLY and not (data.month_day and 1 <= data.month_day <= 31):
        _error(errors, "month_day", N_("每月重复：日期须在 1-31 之间（小月取最后一天）"))
    elif data.recurrence == rec.EVERY:
        if not (data.every_days and 1 <= data.every_days <= rec.MAX_EVERY_DAYS):
            _error(errors, "every_days", N_("间隔天数须在 1-%(max)s 之间"), max=rec.MAX_EVERY_DAYS)
        if not data.times:
            _error(errors, "times", N_("每隔 N 天重复：请填写共几次（1-%(max)s）"), max=rec.MAX_TIMES)
    if data.times is not None and not 1 <= data.times <= rec.MAX_TIMES:
        _error(errors, "times", N_("次数须在 1-%(max)s 之间"), max=rec.MAX_TIMES)
    return start


def _check_content(data: ItemInput, errors: dict) -> content.Content | None:
    if data.kind == TASK and data.attachments:
        _error(errors, "attachments", N_("群主任务不带附件：附件只随群发发出"))
        return None
    try:
        message = content.parse(data.text, data.attachments, offered=sendrules.VARIABLES, library=True)
    except content.ContentInvalid as exc:
        for problem in exc.errors:
            errors.setdefault(problem.where.split(".")[0].split("[")[0], problem)
        return None
    if sendrules.PER_CUSTOMER in message.variables:
        _error(errors, "text", N_("群发给客户群时不能用 {客户昵称}（同一条消息发给群里所有人）"))
    for where, hits in wordlist.content_hits(message.text, message.attachments).items():
        _error(errors, where.split(".")[0].split("[")[0], wordlist.REFUSED, words=wordlist.named(hits))
    for problem in media.library_errors(list(message.attachments)):
        errors.setdefault("attachments", problem)
    return message


def validate(data: ItemInput) -> tuple[date, content.Content]:
    """The start day and the parsed content; SopInvalid naming every field in error."""
    errors: dict[str, content.ContentError] = {}
    data.title = (data.title or "").strip()
    if not data.title or len(data.title) > 64:
        _error(errors, "title", N_("请填写标题（最多 64 个字）"))
    if data.kind not in KINDS:
        _error(errors, "kind", N_("请选择执行方式"))
    start = _check_schedule(data, errors)
    message = _check_content(data, errors) if data.kind in KINDS else None
    if errors:
        raise SopInvalid(errors)
    return start, message


def save_item(sop: GroupSop, item: SopItem | None, data: ItemInput, now: datetime | None = None) -> SopItem:
    """Create or change an item (committed). A changed schedule applies from `now` on (default: this instant): due
    times already planned stay."""
    start, message = validate(data)
    now = now or utcnow()
    with transaction():
        if item is None:
            item = SopItem(sop_id=sop.id, created_at=now)
            db.session.add(item)
        before = (item.recurrence, item.start_on, item.time_of_day, item.weekdays, item.month_day, item.every_days,
                  item.times)
        item.title, item.kind = data.title, data.kind
        item.text, item.attachments = message.text, [dict(a) for a in message.attachments]
        item.time_of_day = guards.parse_hhmm(data.time_of_day).strftime("%H:%M")
        item.recurrence, item.start_on = data.recurrence, start
        item.weekdays = sorted(set(data.weekdays)) if data.recurrence == rec.WEEKLY else []
        item.month_day = data.month_day if data.recurrence == rec.MONTHLY else None
        item.every_days = data.every_days if data.recurrence == rec.EVERY else None
        item.times = data.times if data.recurrence != rec.ONCE else None
        after = (item.recurrence, item.start_on, item.time_of_day, item.weekdays, item.month_day, item.every_days,
                 item.times)
        if before != after:
            item.plan_from = now
        item.updated_at = sop.updated_at = now
        db.session.flush()
        record("community.sop_item_saved", target=f"{sop.name}#{sop.id}",
               details={"item": item.id, "title": item.title})
    return item


def delete_item(item: SopItem) -> None:
    """Remove an item that was never planned; one with occurrences keeps its history (SopInvalid)."""
    if db.session.scalar(select(SopOccurrence.id).where(SopOccurrence.item_id == item.id).limit(1)) is not None:
        raise SopInvalid({"item": content.ContentError("item", N_("该事项已有执行记录，不能删除；可以暂停整个 SOP"))})
    with transaction():
        record("community.sop_item_deleted", target=f"sop#{item.sop_id}", details={"title": item.title})
        db.session.execute(delete(SopItem).where(SopItem.id == item.id))


def _first_day(day: date, at: str, now: datetime) -> date:
    """A template item's first day: the next one when its time has already passed on `day` (a 21-day check-in made
    after 08:00 starts tomorrow and still runs 21 times)."""
    tz = settings.corp_timezone()
    due = datetime.combine(day, guards.parse_hhmm(at), tzinfo=tz)
    return day + timedelta(days=1) if due <= now.astimezone(tz) else day


def create(name: str, tier: str, template_key: str | None, actor: str, now: datetime | None = None) -> GroupSop:
    """A new SOP for a tier, running from `now` (default: this instant), with the template's items starting that day
    or, when their time has passed, the next (committed); SopInvalid on bad input."""
    errors: dict[str, content.ContentError] = {}
    name = (name or "").strip()
    if not name or len(name) > 64:
        _error(errors, "name", N_("请填写名称（最多 64 个字）"))
    if tier not in TIERS:
        _error(errors, "tier", N_("请选择群分层"))
    template = library.BY_KEY.get(template_key or "")
    if template_key and template is None:
        _error(errors, "template", N_("没有这个模板"))
    if errors:
        raise SopInvalid(errors)
    now = now or utcnow()
    first = now.astimezone(settings.corp_timezone()).date()
    with transaction():
        sop = GroupSop(name=name, tier=tier, template_key=template.key if template else None, active_since=now,
                       created_by=actor, created_at=now, updated_at=now)
        db.session.add(sop)
        db.session.flush()
        for spec in template.items if template else ():
            db.session.add(SopItem(
                sop_id=sop.id, title=spec.title, kind=spec.kind, text=spec.text, attachments=[], time_of_day=spec.at,
                recurrence=spec.recurrence,
                start_on=_first_day(first + timedelta(days=spec.start_in), spec.at, now),
                weekdays=list(spec.weekdays), month_day=spec.month_day, every_days=spec.every_days, times=spec.times,
                plan_from=now, created_at=now, updated_at=now))
        record("community.sop_created", target=f"{name}#{sop.id}", details={"tier": tier, "template": template_key})
    return sop


def set_paused(sop: GroupSop, paused: bool, now: datetime | None = None) -> None:
    """Pause (nothing more is planned; planned sends not yet out are vetoed) or resume (from `now`, default this
    instant, on: due times while paused are not made up)."""
    if sop.paused == paused:
        return
    with transaction():
        sop.paused, sop.updated_at = paused, now or utcnow()
        if not paused:
            sop.active_since = sop.updated_at
        record("community.sop_paused" if paused else "community.sop_resumed", target=f"{sop.name}#{sop.id}")


def _items_using(item_id: int) -> list[str]:
    rows = db.session.execute(select(GroupSop.name, SopItem.title, SopItem.attachments)
                              .join(GroupSop, GroupSop.id == SopItem.sop_id)).all()
    return [f"{name} · {title}" for name, title, atts in rows if item_id in content.library_ids(atts or [])]


def _in_use() -> set[int]:
    rows = db.session.scalars(select(SopItem.attachments).join(GroupSop, GroupSop.id == SopItem.sop_id)
                              .where(GroupSop.paused.is_(False)))
    return set().union(*(set(content.library_ids(a or [])) for a in rows))


media.register_user(media.LibraryUser(N_("群SOP"), _items_using, _in_use))
