"""群SOP / 群日历 pages: the month calendar (keyboard friendly, coloured by tier), the list view with its Excel export,
the SOPs with pause/resume, starting one from the ten templates, the item editor and an occurrence's execution."""
from __future__ import annotations

from datetime import time, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.community.models import TIERS
from app.community.sop import calendar_view, execution, library, reach, recurrence as rec, service
from app.community.sop.models import KINDS, PUSH, GroupSop, OccurrenceStatus as O, SopItem, SopOccurrence
from app.community.views import bp, tier_choices
from app.contacts.scope import scope_for
from app.contacts.staff_labels import staff_labels
from app.core import content, export, settings
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.media import service as media

TIER_STYLES = {"vip": "warning", "regular": "primary", "newcomer": "success"}


@bp.get("/sop", endpoint="sops")
@requires(P.COMMUNITY_MANAGE)
def sop_calendar():
    first = calendar_view.month_of(request.args.get("month"))
    tier = request.args.get("tier") if request.args.get("tier") in TIERS else None
    by_day: dict = {}
    for entry in calendar_view.entries(first, tier):
        by_day.setdefault(entry.day, []).append(entry)
    sops = db.session.scalars(select(GroupSop).order_by(GroupSop.paused, GroupSop.tier, GroupSop.id)).all()
    today = service.today()
    return render_template("community/sop_calendar.html", first=first, weeks=calendar_view.weeks(first),
                           by_day=by_day, tier=tier, tiers=dict(tier_choices()), styles=TIER_STYLES, sops=sops,
                           today=today, prev=(first - timedelta(days=1)).strftime("%Y-%m"),
                           next=(first + timedelta(days=31)).replace(day=1).strftime("%Y-%m"),
                           templates=library.TEMPLATES, reach=reach.reach_of_all(), kinds=KINDS)


LIST_HEADER = (N_("日期"), N_("时间"), N_("分层"), N_("SOP"), N_("事项"), N_("方式"), N_("状态"), N_("群数"),
               N_("已发到的群"), N_("按时执行"), N_("延迟执行"), N_("未执行"), N_("等待确认"), N_("未发送的群"), N_("原因"))


def _list_rows(entries):
    for e in entries:
        run = e.run
        counts = run.counts() if run else {}
        state = (_("待执行") if e.upcoming else _(O.LABELS[e.occurrence.status]))
        reasons = sorted({execution.reason_text(i.reason, _) for i in run.issues}) if run else []
        note = (run.note if run else (e.occurrence.error if e.occurrence else "")) or ""
        groups = sum(o.groups for o in run.owners) if run and e.item.kind == PUSH else None
        yield (e.day, e.at, _(TIERS[e.sop.tier]), e.sop.name, e.item.title, _(KINDS[e.item.kind]), state,
               groups, run.sent_groups if run and e.item.kind == PUSH else None,
               counts.get(execution.ON_TIME, 0) if run else None, counts.get(execution.LATE, 0) if run else None,
               counts.get(execution.MISSED, 0) if run else None, counts.get(execution.PENDING, 0) if run else None,
               len(run.issues) if run else None, "；".join(filter(None, [note, *reasons])))


@bp.get("/sop/list", endpoint="sop_list")
@requires(P.COMMUNITY_MANAGE)
def sop_list():
    first = calendar_view.month_of(request.args.get("month"))
    tier = request.args.get("tier") if request.args.get("tier") in TIERS else None
    entries = calendar_view.entries(first, tier, with_execution=True)
    if request.args.get("format"):
        return export.table_response(export.requested_format(request.args.get("format")),
                                     [_(h) for h in LIST_HEADER], _list_rows(entries),
                                     f"group-sop-{first:%Y-%m}", _("群日历"), [None] * 7 + [export.COUNT] * 7)
    return render_template("community/sop_list.html", first=first, tier=tier, tiers=dict(tier_choices()),
                           rows=list(zip(entries, _list_rows(entries))), styles=TIER_STYLES,
                           prev=(first - timedelta(days=1)).strftime("%Y-%m"),
                           next=(first + timedelta(days=31)).replace(day=1).strftime("%Y-%m"))


@bp.route("/sop/new", methods=["GET", "POST"], endpoint="sop_new")
@requires(P.COMMUNITY_MANAGE)
def sop_new():
    template = library.BY_KEY.get(request.values.get("template") or "")
    name = request.form.get("name", _(template.name) if template else "")
    tier = request.form.get("tier", template.tier if template else "")
    errors = []
    if request.method == "POST":
        try:
            sop = service.create(name, tier, template.key if template else None, current_user.username)
            flash(_("群SOP「%(name)s」已创建，后台会在每个事项到时安排执行", name=sop.name), "success")
            return redirect(url_for("community.sop", sop_id=sop.id))
        except service.SopInvalid as exc:
            errors = exc.errors
    return render_template("community/sop_new.html", template=template, name=name, tier=tier, errors=errors,
                           tiers=tier_choices(), kinds=KINDS, describe=_describe_spec)


def _describe_spec(spec: library.ItemSpec) -> str:
    return rec.Recurrence(spec.recurrence, service.today() + timedelta(days=spec.start_in),
                          time.fromisoformat(spec.at), spec.weekdays, spec.month_day,
                          spec.every_days, spec.times).describe(_)


@bp.get("/sop/<int:sop_id>", endpoint="sop")
@requires(P.COMMUNITY_MANAGE)
def sop_page(sop_id: int):
    sop = db.session.get(GroupSop, sop_id) or abort(404)
    items = db.session.scalars(select(SopItem).where(SopItem.sop_id == sop.id).order_by(SopItem.time_of_day,
                                                                                         SopItem.id)).all()
    recent = db.session.scalars(select(SopOccurrence).where(SopOccurrence.sop_id == sop.id)
                                .order_by(SopOccurrence.due_at.desc()).limit(30)).all()
    runs = [(occ, execution.of(occ)) for occ in recent]
    added, hidden = reach.hand_added(sop, scope_for(current_user))
    return render_template("community/sop.html", sop=sop, items=items, runs=runs, tiers=dict(tier_choices()),
                           styles=TIER_STYLES, kinds=KINDS, describe=lambda i: service.schedule_of(i).describe(_),
                           items_by_id={i.id: i for i in items}, labels=execution.STATE_LABELS,
                           state_styles=execution.STATE_STYLES, reason=lambda code: execution.reason_text(code, _),
                           tz=settings.corp_timezone(), reach=reach.reach_of_all().get(sop.id, reach.Reach()),
                           added=added, hidden=hidden, owners=staff_labels(g.owner for _a, g, _t in added),
                           statuses=O.LABELS)


@bp.post("/sop/<int:sop_id>/pause", endpoint="sop_pause")
@requires(P.COMMUNITY_MANAGE)
def sop_pause(sop_id: int):
    sop = db.session.get(GroupSop, sop_id) or abort(404)
    paused = request.form.get("paused") == "1"
    service.set_paused(sop, paused)
    flash(_("已暂停「%(name)s」：不再安排新的事项，已安排但还没发出的群发也不会发出", name=sop.name) if paused
          else _("已恢复「%(name)s」：从现在起按日历安排（暂停期间的事项不补发）", name=sop.name), "success")
    back = url_for("community.sops") if request.form.get("back") == "calendar" else None
    return redirect(back or url_for("community.sop", sop_id=sop.id))


def _item_input() -> service.ItemInput:
    form = request.form
    number = lambda name: form.get(name, type=int)  # noqa: E731
    return service.ItemInput(title=form.get("title", ""), kind=form.get("kind", ""), text=form.get("text", ""),
                             attachments=content.library_from_form(form.getlist("library")),
                             time_of_day=form.get("time_of_day", ""), recurrence=form.get("recurrence", ""),
                             start_on=form.get("start_on", ""), weekdays=[int(d) for d in form.getlist("weekdays")
                                                                          if d.isdigit()],
                             month_day=number("month_day"), every_days=number("every_days"), times=number("times"))


@bp.route("/sop/<int:sop_id>/items/new", methods=["GET", "POST"], endpoint="sop_item_new")
@bp.route("/sop/<int:sop_id>/items/<int:item_id>", methods=["GET", "POST"], endpoint="sop_item_edit")
@requires(P.COMMUNITY_MANAGE)
def sop_item_edit(sop_id: int, item_id: int | None = None):
    sop = db.session.get(GroupSop, sop_id) or abort(404)
    item = db.session.get(SopItem, item_id) if item_id else None
    if item_id and (item is None or item.sop_id != sop.id):
        abort(404)
    if item:
        data = service.ItemInput(item.title, item.kind, item.text, item.attachments, item.time_of_day, item.recurrence,
                                 item.start_on.isoformat(), list(item.weekdays or []), item.month_day,
                                 item.every_days, item.times)
    else:
        data = service.ItemInput("", PUSH, "", [], "09:00", rec.DAILY, service.today().isoformat())
    errors = []
    if request.method == "POST":
        data = _item_input()
        try:
            service.save_item(sop, item, data)
            flash(_("事项「%(title)s」已保存", title=data.title), "success")
            return redirect(url_for("community.sop", sop_id=sop.id))
        except service.SopInvalid as exc:
            errors = exc.errors
    return render_template("community/sop_item.html", sop=sop, item=item, data=data, errors=errors, kinds=KINDS,
                           recurrences=rec.LABELS, weekday_labels=rec.WEEKDAY_LABELS, library=media.attachable(),
                           picked=[content.library_id(a) for a in data.attachments if content.library_id(a)])


@bp.post("/sop/<int:sop_id>/items/<int:item_id>/delete", endpoint="sop_item_delete")
@requires(P.COMMUNITY_MANAGE)
def sop_item_delete(sop_id: int, item_id: int):
    item = db.session.get(SopItem, item_id)
    if item is None or item.sop_id != sop_id:
        abort(404)
    try:
        service.delete_item(item)
        flash(_("事项已删除"), "success")
    except service.SopInvalid as exc:
        flash(exc.errors[0].text(_), "danger")
    return redirect(url_for("community.sop", sop_id=sop_id))


@bp.get("/sop/occurrences/<int:occurrence_id>", endpoint="sop_occurrence")
@requires(P.COMMUNITY_MANAGE)
def sop_occurrence(occurrence_id: int):
    occ = db.session.get(SopOccurrence, occurrence_id) or abort(404)
    sop, item = db.session.get(GroupSop, occ.sop_id), db.session.get(SopItem, occ.item_id)
    run = execution.of(occ)
    owners = staff_labels([o.owner for o in run.owners] + [i.owner for i in run.issues if i.owner])
    return render_template("community/sop_occurrence.html", occ=occ, sop=sop, item=item, run=run, owners=owners,
                           tiers=dict(tier_choices()), styles=TIER_STYLES, kinds=KINDS, labels=execution.STATE_LABELS,
                           state_styles=execution.STATE_STYLES, reason=lambda code: execution.reason_text(code, _),
                           tz=settings.corp_timezone(), statuses=O.LABELS)
