"""跟进任务 pages (blueprint `tasks`): the list per staff member with SLA clocks and its Excel export, the overdue
view of a supervisor's team, the page an app message links to (fits a phone), done / cancel, and the rules."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.contacts.models import Customer
from app.contacts.scope import scope_for
from app.contacts.staff_labels import staff_labels
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.export import COUNT, requested_format, table_response
from app.core.guard import requires, signed_in
from app.core.permissions import N_, Permission as P
from app.extensions import db
from app.lifecycle.models import STAGES
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.staffmsg.dispatch import dispatch_soon
from app.tags.models import CorpTag, CorpTagGroup
from app.tasks import listing, rules, service
from app.tasks.models import FOLLOWUP_RULE, GROUP_SOP, JOURNEY, MANUAL, FollowupRule, Task
from app.web import error_page

bp = Blueprint("tasks", __name__, url_prefix="/tasks", template_folder="templates")
PAGE_SIZE = 50
EXPORT_LIMIT = 50_000
STAGE_LABELS = {"active": N_("活跃"), "warning": N_("预警"), "dormant": N_("沉睡"), "deep_dormant": N_("深度沉睡"),
                "lost": N_("已流失")}
SOURCE_LABELS = {MANUAL: N_("手动"), FOLLOWUP_RULE: N_("跟进规则"), JOURNEY: N_("客户旅程"), GROUP_SOP: N_("群SOP")}


def duration(minutes: int) -> str:
    days, rest = divmod(max(0, minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)s 天 %(h)s 小时", d=days, h=hours)
    if hours:
        return _("%(h)s 小时 %(m)s 分", h=hours, m=mins)
    return _("%(m)s 分钟", m=mins)


def clock_text(task: Task, now) -> str:
    c = listing.clock(task, now)
    return {"remaining": lambda: _("剩余 %(t)s", t=duration(c.minutes)),
            "overdue": lambda: _("已逾期 %(t)s", t=duration(c.minutes)),
            "on_time": lambda: _("按时完成"),
            "late": lambda: _("逾期完成（晚 %(t)s）", t=duration(c.minutes)),
            "cancelled": lambda: _("已取消")}[c.kind]()


def _filters() -> tuple[str, str]:
    view = request.args.get("view", "open")
    if view not in listing.VIEWS:
        abort(error_page(400, _("view 只能是 %(views)s", views=", ".join(listing.VIEWS))))
    staff = request.args.get("staff", "").strip()
    if len(staff) > 64:
        abort(error_page(400, _("staff 过长")))
    return view, staff


def _names(tasks: list[Task]) -> tuple[dict, dict]:
    staff = staff_labels({t.assignee for t in tasks})
    customers = dict(db.session.execute(select(Customer.external_userid, Customer.name).where(
        Customer.external_userid.in_(sorted({t.external_userid for t in tasks if t.external_userid})))).all())
    return staff, customers


def _list(view: str, staff: str, title: str):
    now, scope = utcnow(), scope_for(current_user)
    page = db.paginate(listing.tasks_query(scope, view, now, staff or None), page=request.args.get("page", 1, type=int),
                       per_page=PAGE_SIZE, error_out=False)
    names, customers = _names(page.items)
    return render_template("tasks/index.html", page=page, view=view, staff=staff, names=names, customers=customers,
                           now=now, clock=listing.clock, clock_text=clock_text,
                           summary=listing.staff_summary(scope, now),
                           scope=scope, title=title, views=listing.VIEWS, can_complete=listing.can_complete,
                           summary_days=listing.SUMMARY_DAYS, sources=SOURCE_LABELS)


@bp.get("/", endpoint="index")
@requires(P.TASKS_VIEW)
def index():
    view, staff = _filters()
    return _list(view, staff, _("跟进任务"))


@bp.get("/overdue", endpoint="overdue")
@requires(P.TASKS_VIEW)
def overdue():
    """A supervisor's view: the overdue tasks of the staff they lead (everyone's for other roles)."""
    return _list("overdue", _filters()[1], _("逾期任务"))


@bp.get("/export", endpoint="export")
@requires(P.TASKS_VIEW)
def export():
    view, staff = _filters()
    now = utcnow()
    tasks = list(db.session.scalars(listing.tasks_query(scope_for(current_user), view, now, staff or None)
                                    .limit(EXPORT_LIMIT)))
    names, customers = _names(tasks)
    header = [_("任务"), _("负责员工"), "userid", _("客户"), "external_userid", _("来源"), _("创建时间"), _("截止时间"),
              _("SLA"), _("逾期（分钟）"), _("完成时间"), _("完成人")]
    rows = [[t.title, names.get(t.assignee, t.assignee), t.assignee, customers.get(t.external_userid, ""),
             t.external_userid or "", _(SOURCE_LABELS.get(t.source, t.source)), t.created_at, t.due_at,
             clock_text(t, now), _overdue_minutes(t, now), t.done_at, t.done_by or ""] for t in tasks]
    with transaction():
        record("tasks.exported", target=view, details={"staff": staff, "rows": len(rows)})
    return table_response(requested_format(request.args.get("format")), header, rows, f"tasks-{view}", _("跟进任务"),
                          [None] * 9 + [COUNT])


def _overdue_minutes(task: Task, now) -> int | None:
    """How late the task is (open) or was (done), for the export's number column; None when it is not late."""
    c = listing.clock(task, now)
    return c.minutes if c.kind in ("overdue", "late") else None


@bp.get("/mine", endpoint="mine")
@signed_in
def mine():
    """The signed-in person's own tasks (their account names their WeCom userid)."""
    userid = current_user.wecom_userid
    now = utcnow()
    tasks = []
    if userid:
        tasks = list(db.session.scalars(select(Task).where(Task.assignee == userid, Task.state == "open")
                                        .order_by(Task.due_at).limit(200)))
    _staff, customers = _names(tasks)
    return render_template("tasks/mine.html", tasks=tasks, userid=userid, customers=customers, now=now,
                           clock=listing.clock, clock_text=clock_text, bare=True)


def _task(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None or not listing.can_see(current_user, task):
        abort(error_page(404, _("任务不存在，或不在您可查看的范围内")))
    return task


@bp.get("/<int:task_id>", endpoint="detail")
@signed_in
def detail(task_id: int):
    task, now = _task(task_id), utcnow()
    names, customers = _names([task])
    return render_template("tasks/detail.html", task=task, names=names, customers=customers, now=now,
                           clock=listing.clock, clock_text=clock_text,
                           may_complete=listing.can_complete(current_user, task),
                           may_cancel=task.state == "open" and current_user.can(P.TASKS_MANAGE), bare=True,
                           sources=SOURCE_LABELS)


def _back(task: Task):
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return redirect(target)
    return redirect(url_for("tasks.detail", task_id=task.id))


@bp.post("/<int:task_id>/done", endpoint="done")
@signed_in
def done(task_id: int):
    task = _task(task_id)
    if not listing.can_complete(current_user, task):
        abort(error_page(403, _("只有任务的负责员工本人（账号已关联其企业微信 userid）或任务管理员可以标记完成")))
    try:
        service.complete(task.id, current_user.username)
    except service.TaskError as exc:
        flash(exc.localized(), "warning")
    else:
        flash(_("已标记完成：%(title)s", title=task.title), "success")
    return _back(task)


@bp.post("/<int:task_id>/cancel", endpoint="cancel")
@requires(P.TASKS_MANAGE)
def cancel(task_id: int):
    task = _task(task_id)
    try:
        service.cancel(task.id, current_user.username, request.form.get("reason", "")[:200])
    except service.TaskError as exc:
        flash(exc.localized(), "warning")
    else:
        flash(_("已取消任务：%(title)s", title=task.title), "success")
    return _back(task)


def _tag_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(select(CorpTag.tag_id, CorpTag.name, CorpTagGroup.name)
                              .join(CorpTagGroup, CorpTagGroup.group_id == CorpTag.group_id)
                              .where(CorpTag.deleted_at.is_(None)).order_by(CorpTagGroup.name, CorpTag.order))
    return [(tag_id, f"{group} / {name}") for tag_id, name, group in rows]


@bp.route("/rules", methods=["GET", "POST"], endpoint="rules")
@requires(P.TASKS_MANAGE)
def rules_page():
    form = request.form
    if request.method == "POST":
        try:
            hours = int(form.get("due_hours", "") or 0)
        except ValueError:
            hours = 0
        try:
            rule = rules.save_rule(name=form.get("name", ""), trigger=form.get("trigger", ""), due_hours=hours,
                                   task_title=form.get("task_title", ""), task_body=form.get("task_body", "")[:2000],
                                   tag_id=form.get("tag_id") or None, stage=form.get("stage") or None,
                                   rfm_filter=form.get("rfm_filter") or None, actor=current_user.username)
        except rules.RuleError as exc:
            flash(exc.localized(), "danger")
        else:
            flash(_("已保存跟进规则「%(name)s」，此后发生的变化才会生成任务", name=rule.name), "success")
            return redirect(url_for("tasks.rules"))
    items = list(db.session.scalars(select(FollowupRule).order_by(FollowupRule.id)))
    tags = _tag_choices()
    return render_template("tasks/rules.html", rules=items, tags=tags, tag_names=dict(tags), form=form,
                           stages=[(s, STAGE_LABELS.get(s, s)) for s in STAGES], triggers=rules.TRIGGERS,
                           segments=SEGMENT_LABELS, classes=CLASS_LABELS,
                           rfm_labels={**SEGMENT_LABELS, **CLASS_LABELS}, stage_labels=STAGE_LABELS)


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@requires(P.TASKS_MANAGE)
def new():
    """A task created by hand for one staff member (optionally about one of their customers)."""
    form = request.form
    if request.method == "POST":
        try:
            task = service.create_manual(assignee=form.get("assignee", "").strip(), title=form.get("title", ""),
                                         due_local=form.get("due", ""), body=form.get("body", "")[:2000],
                                         external_userid=form.get("external_userid", "").strip() or None,
                                         scope=scope_for(current_user), actor=current_user.username)
        except service.TaskError as exc:
            flash(exc.localized(), "danger")
        else:
            dispatch_soon(current_user.username)
            flash(_("已创建任务并通知 %(name)s", name=staff_labels([task.assignee]).get(task.assignee, task.assignee)),
                  "success")
            return redirect(url_for("tasks.detail", task_id=task.id))
    chosen_staff = form.get("assignee", "")
    return render_template("tasks/new.html", form=form,
                           chosen_staff=[(chosen_staff, staff_labels([chosen_staff]).get(chosen_staff, chosen_staff))]
                           if chosen_staff else [])


@bp.post("/rules/<int:rule_id>/toggle", endpoint="rule_toggle")
@requires(P.TASKS_MANAGE)
def rule_toggle(rule_id: int):
    try:
        rules.set_enabled(rule_id, request.form.get("enabled") == "1", current_user.username)
    except rules.RuleError as exc:
        flash(exc.localized(), "danger")
    return redirect(url_for("tasks.rules"))
