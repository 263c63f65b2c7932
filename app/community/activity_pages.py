"""The 群活跃度 page: health per group and owner with 30-day trends, its Excel export, and a rebuild in the worker."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import jobs
from app.community import activity_report as report, health
from app.community.views import bp
from app.contacts.staff_labels import staff_labels
from app.core.export import COUNT, RATE, ratio, requested_format, table_response
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.extensions import db

LIMITS = {"full": round(health.FULL_ACTIVITY * 100), "span": round(health.GROWTH_SPAN * 100),
          "zero": round(health.LEAVE_ZERO * 100)}


def _filters():
    args = request.args
    band = args.get("band", "")
    return (band if band in report.BANDS else ""), args.get("silent") == "1", args.get("owner", "").strip()


def pct(part: int, whole: int):
    """A share in percent with one decimal, or None without a whole."""
    return round(100 * part / whole, 1) if whole else None


@bp.get("/activity", endpoint="activity")
@requires(P.COMMUNITY_MANAGE)
def activity():
    day = report.latest_day()
    band, silent, owner = _filters()
    args = {k: v for k, v in (("band", band), ("silent", "1" if silent else ""), ("owner", owner)) if v}
    page = report.group_page(day, band, silent, owner, request.args.get("page", 1, type=int)) if day else None
    owners = report.owner_rows(day) if day else []
    shown = page.items if page else []
    return render_template(
        "community/activity.html", day=day, summary=report.summary(day), page=page, owners=owners,
        names=staff_labels([o.owner for o in owners] + [h.owner for h in shown]),
        group_names=report.group_names(h.chat_id for h in shown), band=band, silent=silent, owner=owner, args=args,
        pct=pct, trend=report.trend(day) if day else None, band_labels=report.BAND_LABELS,
        silence_labels=report.SILENCE_LABELS, band_of=health.band, weights=health.WEIGHTS, limits=LIMITS,
        healthy=health.HEALTHY, watch=health.WATCH, job=jobs.active("community.health"))


GROUP_HEADER = (N_("群名称"), N_("群ID"), N_("群主"), N_("健康度"), N_("健康等级"), N_("活跃分"), N_("增长分"),
                N_("留存分"), N_("退群分"), N_("沉默"), N_("成员数"), N_("近7天入群"), N_("近30天入群"),
                N_("近30天扫码入群"), N_("近7天退群"), N_("近30天退群"), N_("其中主动退群"), N_("其中被移出"),
                N_("7天留存：可计人数"), N_("7天留存：留下人数"))
OWNER_HEADER = (N_("群主"), N_("群数"), N_("成员数"), N_("近7天新成员"), N_("近7天退群"), N_("近7天发言成员占比"),
                N_("近7天消息数"), N_("至少沉默群数"), N_("健康度"), N_("健康等级"))


@bp.get("/activity/export", endpoint="activity_export")
@requires(P.COMMUNITY_MANAGE)
def activity_export():
    day = report.latest_day()
    if day is None:
        flash(_("还没有计算过群活跃度"), "warning")
        return redirect(url_for("community.activity"))
    fmt = requested_format(request.args.get("format"))
    if request.args.get("table") == "owners":
        owners = report.owner_rows(day)
        names = staff_labels(o.owner for o in owners)
        rows = ([names.get(o.owner, o.owner), o.groups, o.members, o.new_members_7d, o.leaves_7d,
                 ratio(o.spoke_7d, o.member_days_7d), o.messages_7d, o.silent_at_least, o.score,
                 _(report.BAND_LABELS[health.band(o.score)]) if o.score is not None else ""] for o in owners)
        return table_response(fmt, [_(h) for h in OWNER_HEADER], rows, f"owner-health-{day}", _("群主健康度"),
                              [None, *[COUNT] * 4, RATE, COUNT, COUNT, COUNT])
    band, silent, owner = _filters()
    found = db.session.scalars(report.group_rows(day, band, silent, owner)).all()
    names, groups = staff_labels(h.owner for h in found), report.group_names(h.chat_id for h in found)
    rows = ([groups.get(h.chat_id, ""), h.chat_id, names.get(h.owner, h.owner), h.score,
             _(report.BAND_LABELS[health.band(h.score)]) if h.score is not None else "", h.activity, h.growth, h.retention,
             h.leave, _(report.SILENCE_LABELS[h.silent]) if h.silent is not None else _("无法判断"), h.members, h.joins_7d,
             h.joins_30d, h.joins_by_qr_30d, h.leaves_7d, h.leaves_30d, h.left_self_30d, h.removed_30d,
             h.retention_eligible, h.retention_kept] for h in found)
    return table_response(fmt, [_(h) for h in GROUP_HEADER], rows, f"group-health-{day}", _("群健康度"),
                          [None, None, None, COUNT, None, *[COUNT] * 4, None, *[COUNT] * 10])


@bp.post("/activity/rebuild", endpoint="activity_rebuild")
@requires(P.COMMUNITY_MANAGE)
def activity_rebuild():
    try:
        jobs.enqueue("community.health", {}, requested_by=current_user.username)
    except jobs.JobBusy:
        flash(_("正在计算群活跃度，请稍候"), "info")
    else:
        flash(_("已开始重新计算群活跃度（后台任务）"), "success")
    return redirect(url_for("community.activity"))
