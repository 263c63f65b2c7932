"""任务宝 pages (blueprint `referral`): tasks, the task form, a task's page with results, the review queue, the
rewards to hand out, the Excel export; the inviter's signed progress page and poster live in public_views.py."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app import jobs
from app.contacts.models import Staff
from app.contacts.staff_labels import staff_labels
from app.core import edit_pages
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.export import requested_format, table_response
from app.core.guard import requires
from app.core.permissions import N_, Permission as P
from app.core.settings import corp_timezone
from app.extensions import db
from app.referral import ab, links, poster, results, review, service
from app.referral.models import (ARM_A, ARM_B, CLAIM_LABELS, CREDIT_STATUS_LABELS, END_REASON_LABELS, REASON_LABELS,
                                 RESERVATION_LABELS, TASK_STATUS_LABELS, CreditStatus, ReferralCredit,
                                 ReferralLevel, ReferralParticipant, ReferralReservation, ReferralTask,
                                 ReservationStatus)
from app.segments.models import Segment
from app.welcome.channel_pages import tag_choices
from app.welcome.models import SCOPE_CHANNEL, WelcomeTemplate

bp = Blueprint("referral", __name__, url_prefix="/referral", template_folder="templates")
LEVEL_ROWS = 5
ACTION_LABELS = {"schedule": N_("排期（到开始时间自动开始）"), "unschedule": N_("撤回为草稿"), "pause": N_("暂停"),
                 "resume": N_("恢复"), "end": N_("立即结束")}


def _task(task_id: int) -> ReferralTask:
    return db.session.get(ReferralTask, task_id) or abort(404)


@bp.get("/", endpoint="index")
@requires(P.REFERRAL_MANAGE)
def index():
    tasks = db.session.scalars(select(ReferralTask).order_by(ReferralTask.id.desc())).all()
    participants = dict(db.session.execute(select(ReferralParticipant.task_id, func.count())
                                           .group_by(ReferralParticipant.task_id)).all())
    counts: dict[int, dict[str, int]] = {}
    for task_id, status, n in db.session.execute(select(ReferralCredit.task_id, ReferralCredit.status, func.count())
                                                 .group_by(ReferralCredit.task_id, ReferralCredit.status)):
        counts.setdefault(task_id, {})[status] = n
    return render_template("referral/index.html", tasks=tasks, participants=participants, counts=counts,
                           status_labels=TASK_STATUS_LABELS, end_labels=END_REASON_LABELS)


def _local(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=corp_timezone())
    except (TypeError, ValueError):
        return None


def _int(name: str, default: int | None = None) -> int | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        return -1  # out of every allowed range: the service names the field


def _levels() -> list[service.LevelInput]:
    """Both ladders' rows: ladder A's fields as named, ladder B's (an A/B test) prefixed "b_"."""
    out = []
    for arm, p in ((ARM_A, ""), (ARM_B, "b_")):
        for i in range(LEVEL_ROWS):
            needed = _int(f"{p}needed_{i}")
            if needed is None:
                continue
            codes = [c.strip() for c in (request.form.get(f"{p}codes_{i}") or "").splitlines() if c.strip()]
            try:
                cost = round(float(request.form.get(f"{p}cost_{i}") or 0) * 100)
            except ValueError:
                cost = -1
            out.append(service.LevelInput(needed=needed, reward=request.form.get(f"{p}reward_{i}") or "",
                                          stock=_int(f"{p}stock_{i}", 0),
                                          claim_kind=request.form.get(f"{p}kind_{i}") or "",
                                          claim_link=(request.form.get(f"{p}link_{i}") or "").strip(), cost_fen=cost,
                                          codes=codes, arm=arm))
    return out


def _input() -> service.TaskInput:
    now = utcnow()
    return service.TaskInput(
        name=request.form.get("name") or "", starts_at=_local(request.form.get("starts_at")) or now,
        ends_at=_local(request.form.get("ends_at")) or now, staff_userids=request.form.getlist("staff_userids"),
        levels=_levels(), segment_id=_int("segment_id"), daily_cap=_int("daily_cap"),
        backup_userid=request.form.get("backup_userid") or None, hold_hours=_int("hold_hours", 168),
        burst_count=_int("burst_count", 5), burst_minutes=_int("burst_minutes", 60),
        invitee_tag_ids=request.form.getlist("invitee_tag_ids"),
        participant_tag_ids=request.form.getlist("participant_tag_ids"),
        welcome_template_id=_int("welcome_template_id"), rules_text=(request.form.get("rules_text") or "")[:2000],
        milestone_text=(request.form.get("milestone_text") or "").strip(),
        near_text=(request.form.get("near_text") or "").strip())


def _data(task: ReferralTask | None) -> dict:
    tz = corp_timezone()
    if task is None:
        start = utcnow().astimezone(tz).replace(second=0, microsecond=0) + timedelta(hours=1)
        return dict(name="", starts_at=start, ends_at=start + timedelta(days=14), staff_userids=[], segment_id=None,
                    daily_cap=None, backup_userid=None, hold_hours=168, burst_count=5, burst_minutes=60,
                    welcome_template_id=None, rules_text="", levels=[], invitee_tag_ids=[], participant_tag_ids=[],
                    milestone_text="", near_text="")
    levels = db.session.scalars(select(ReferralLevel).where(ReferralLevel.task_id == task.id)
                                .order_by(ReferralLevel.arm, ReferralLevel.needed)).all()
    return dict(name=task.name, starts_at=task.starts_at.astimezone(tz), ends_at=task.ends_at.astimezone(tz),
                staff_userids=task.staff_userids, segment_id=task.segment_id, daily_cap=task.daily_cap,
                backup_userid=task.backup_userid, hold_hours=task.hold_hours, burst_count=task.burst_count,
                burst_minutes=task.burst_minutes, welcome_template_id=task.welcome_template_id,
                rules_text=task.rules_text, levels=levels, invitee_tag_ids=task.invitee_tag_ids,
                participant_tag_ids=task.participant_tag_ids, milestone_text=task.milestone_text,
                near_text=task.near_text)


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@bp.route("/<int:task_id>/edit", methods=["GET", "POST"], endpoint="edit")
@requires(P.REFERRAL_MANAGE)
def edit(task_id: int | None = None):
    task = _task(task_id) if task_id else None
    errors: dict[str, str] = {}
    data = _data(task)
    if request.method == "POST":
        entered = _input()
        saved, errors = edit_pages.save(task, lambda: service.create(entered), lambda t: service.update(t, entered),
                                        N_("任务「%(name)s」已保存为草稿"), N_("任务「%(name)s」已保存"))
        if saved:
            return redirect(url_for("referral.detail", task_id=saved.id))
        data = dict(entered.__dict__, starts_at=entered.starts_at, ends_at=entered.ends_at, levels=entered.levels)
    staff = db.session.execute(select(Staff.userid, Staff.name).where(Staff.is_follow_user.is_(True),
                                                                     Staff.removed_at.is_(None))
                               .order_by(Staff.name)).all()
    segments = db.session.execute(select(Segment.id, Segment.name).order_by(Segment.name)).all()
    templates = db.session.execute(select(WelcomeTemplate.id, WelcomeTemplate.name)
                                   .where(WelcomeTemplate.scope == SCOPE_CHANNEL).order_by(WelcomeTemplate.name)).all()
    return render_template("referral/edit.html", task=task, data=data, errors=errors, staff=staff,
                           segments=segments, templates=templates, tag_groups=tag_choices(), claim_labels=CLAIM_LABELS, rows=LEVEL_ROWS)


@bp.get("/<int:task_id>", endpoint="detail")
@requires(P.REFERRAL_MANAGE)
def detail(task_id: int):
    task = _task(task_id)
    data = results.build(task.id)
    comparison = ab.compare(task.id)
    ab_table = ab.table(comparison) + (comparison,) if comparison else None
    inviters = db.session.execute(
        select(ReferralParticipant, func.count(ReferralCredit.id).filter(ReferralCredit.status == CreditStatus.VALID),
               func.count(ReferralCredit.id).filter(ReferralCredit.status == CreditStatus.HELD))
        .outerjoin(ReferralCredit, ReferralCredit.participant_id == ReferralParticipant.id)
        .where(ReferralParticipant.task_id == task.id).group_by(ReferralParticipant.id)
        .order_by(ReferralParticipant.id.desc()).limit(50)).all()
    actions = [a for (s, a) in service.MOVES if s == task.status and a != "start"]
    people = staff_labels(set(task.staff_userids) | set(data.per_staff) | {p.userid for p, _v, _h in inviters})
    way_errors = db.session.scalar(select(func.count()).select_from(ReferralParticipant).where(
        ReferralParticipant.task_id == task.id, ReferralParticipant.way_error.is_not(None)))
    return render_template("referral/detail.html", task=task, data=data, inviters=inviters, actions=actions,
                           action_labels=ACTION_LABELS, status_labels=TASK_STATUS_LABELS, people=people,
                           credit_labels=CREDIT_STATUS_LABELS, reason_labels=REASON_LABELS,
                           end_labels=END_REASON_LABELS, claim_labels=CLAIM_LABELS, way_errors=way_errors,
                           flagged=data.statuses[CreditStatus.FLAGGED], no_font=poster.cjk_font() is None,
                           link=links.progress_url, ab=ab_table)


@bp.post("/<int:task_id>/move/<action>", endpoint="move")
@requires(P.REFERRAL_MANAGE)
def move(task_id: int, action: str):
    task = _task(task_id)
    if action not in ACTION_LABELS:
        abort(404)
    try:
        service.move(task, action)
        flash(_("任务已更新：%(state)s", state=_(TASK_STATUS_LABELS[task.status])), "success")
    except service.TaskInvalid:
        flash(_("当前状态下不能这样操作"), "danger")
    return redirect(url_for("referral.detail", task_id=task.id))


@bp.post("/<int:task_id>/enroll", endpoint="enroll")
@requires(P.REFERRAL_MANAGE)
def enroll(task_id: int):
    """Inviters by hand (one external_userid a line): each gets a contact way from the next tick."""
    task = _task(task_id)
    ids = [line.strip() for line in (request.form.get("external_userids") or "").splitlines() if line.strip()]
    if not ids or len(ids) > 1000 or any(len(i) > 64 for i in ids):
        flash(_("请每行填写一个客户 external_userid（最多 1000 行）"), "danger")
        return redirect(url_for("referral.detail", task_id=task.id))
    with transaction():
        for external_userid in ids:
            service.join(task, external_userid)
    flash(_("已加入 %(n)s 位邀请人，专属活码随后在后台创建", n=len(ids)), "success")
    return redirect(url_for("referral.detail", task_id=task.id))


@bp.post("/<int:task_id>/enroll-segment", endpoint="enroll_segment")
@requires(P.REFERRAL_MANAGE)
def enroll_segment(task_id: int):
    """Every member of the task's segment joins as an inviter (a job: a segment may hold many thousands)."""
    task = _task(task_id)
    if task.segment_id is None:
        flash(_("任务没有指定邀请人人群"), "danger")
    else:
        try:
            jobs.enqueue("referral.enroll", {"task_id": task.id}, requested_by=current_user.username,
                         unique=f"referral.enroll:{task.id}")
            flash(_("正在从人群加入邀请人，专属活码随后在后台创建"), "success")
        except jobs.JobBusy:
            flash(_("上一次加入还在进行"), "warning")
    return redirect(url_for("referral.detail", task_id=task.id))


@bp.get("/<int:task_id>/review", endpoint="review")
@requires(P.REFERRAL_MANAGE)
def review_queue(task_id: int):
    task = _task(task_id)
    credits = review.flagged(task.id)
    inviters = {p.id: p for p in db.session.scalars(select(ReferralParticipant).where(
        ReferralParticipant.id.in_({c.participant_id for c in credits})))}
    return render_template("referral/review.html", task=task, credits=credits, inviters=inviters,
                           reason_labels=REASON_LABELS, people=staff_labels(c.userid for c in credits))


@bp.post("/<int:task_id>/review/<int:credit_id>", endpoint="decide")
@requires(P.REFERRAL_MANAGE)
def decide(task_id: int, credit_id: int):
    task = _task(task_id)
    approve = request.form.get("decision") == "approve"
    try:
        review.decide(credit_id, approve, request.form.get("note") or "", current_user.username)
        flash(_("已通过") if approve else _("已驳回"), "success")
    except review.ReviewInvalid as exc:
        flash(_(str(exc)), "danger")
    return redirect(url_for("referral.review", task_id=task.id))


@bp.get("/<int:task_id>/rewards", endpoint="rewards")
@requires(P.REFERRAL_MANAGE)
def rewards_page(task_id: int):
    task = _task(task_id)
    rows = db.session.execute(select(ReferralReservation, ReferralParticipant, ReferralLevel)
                              .join(ReferralParticipant, ReferralParticipant.id == ReferralReservation.participant_id)
                              .join(ReferralLevel, ReferralLevel.id == ReferralReservation.level_id)
                              .where(ReferralReservation.task_id == task.id)
                              .order_by(ReferralReservation.id.desc())).all()
    return render_template("referral/rewards.html", task=task, rows=rows, labels=RESERVATION_LABELS,
                           people=staff_labels(p.userid for _r, p, _l in rows))


@bp.post("/<int:task_id>/rewards/<int:reservation_id>/given", endpoint="given")
@requires(P.REFERRAL_MANAGE)
def given(task_id: int, reservation_id: int):
    task = _task(task_id)
    with transaction():
        done = db.session.execute(db.update(ReferralReservation).where(
            ReferralReservation.id == reservation_id, ReferralReservation.task_id == task.id,
            ReferralReservation.status == ReservationStatus.RESERVED).values(
            status=ReservationStatus.GIVEN, given_at=utcnow(), given_by=current_user.username)).rowcount
        if done:
            record("referral.reward_given", target=f"#{reservation_id}", details={"task": task.id})
    flash(_("已标记为已发放") if done else _("这份奖励不在待发放状态"), "success" if done else "danger")
    return redirect(url_for("referral.rewards", task_id=task.id))


@bp.get("/<int:task_id>/export", endpoint="export")
@requires(P.REFERRAL_MANAGE)
def export(task_id: int):
    """Every credit of the task: inviter, invitee, staff member, status and why, when."""
    task = _task(task_id)
    inviters = {i.id: i for i in db.session.execute(select(ReferralParticipant.id, ReferralParticipant.nickname,
                                                           ReferralParticipant.arm)
                                                    .where(ReferralParticipant.task_id == task.id))}
    credits = db.session.scalars(select(ReferralCredit).where(ReferralCredit.task_id == task.id)
                                 .order_by(ReferralCredit.id)).all()
    people = staff_labels(c.userid for c in credits)
    header = [_("邀请人"), _("阶梯"), _("被邀请客户"), _("接待员工"), _("状态"), _("原因"), _("添加时间"), _("考察期至"),
              _("审核人"), _("审核理由")]
    rows = ([inviters[c.participant_id].nickname, inviters[c.participant_id].arm, c.invitee,
             people.get(c.userid, c.userid),
             _(CREDIT_STATUS_LABELS[c.status]), _(REASON_LABELS[c.reason]) if c.reason in REASON_LABELS else "",
             c.added_at, c.hold_until, c.reviewed_by or "", c.review_note] for c in credits)
    return table_response(requested_format(request.args.get("format")), header, rows, f"referral-{task.id}",
                          task.name)


@bp.get("/<int:task_id>/export-ab", endpoint="export_ab")
@requires(P.REFERRAL_MANAGE)
def export_ab(task_id: int):
    """The A/B comparison of the task's two ladders, as on its page."""
    task = _task(task_id)
    comparison = ab.compare(task.id) or abort(404)
    header, rows = ab.table(comparison, fractions=True)
    return table_response(requested_format(request.args.get("format")), header, rows, f"referral-{task.id}-ab",
                          task.name, [None, *[ab.excel_format] * 5])
