"""The tags page (blueprint `tags`): groups and tags changed in WeCom first, and the rules that maintain tags."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app import jobs
from app.jobs import views as job_pages
from app.core.errors import UserError
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.segments.service import RuleError
from app.tags import catalog, marking, presets, rule_admin, rules
from app.tags.limits import MAX_CORP_TAGS, MAX_NAME_CHARS, split_names
from app.tags.models import CorpTag, TagRule, TagRuleRun
from app.wecom import connection

bp = Blueprint("tags", __name__, url_prefix="/tags", template_folder="templates")


def _back(anchor: str | None = None):
    """Back to the page at the part just changed, where the message is repeated (the top is out of sight)."""
    return redirect(url_for("tags.index", at=anchor) + f"#{anchor}" if anchor else url_for("tags.index"))


def _refused(exc: Exception) -> None:
    if isinstance(exc, RuleError):
        for problem in exc.problems:
            flash(_("规则有误：%(where)s %(why)s", where=problem.path, why=problem.message), "danger")
    else:
        flash(exc.localized() if isinstance(exc, UserError) else str(exc), "danger")


def _progress_text(run: TagRuleRun) -> str:
    if not run.total:
        return _("正在找出每条规则的客户 …")
    return _("已标记 %(done)s / %(total)s 条跟进关系", done=run.done, total=run.total)


@bp.get("/", endpoint="index")
@requires(P.TAGS_MANAGE)
def index():
    total = db.session.scalar(select(func.count()).select_from(CorpTag).where(CorpTag.deleted_at.is_(None)))
    return render_template("tags/index.html", groups=catalog.catalogue(), total=total, max_total=MAX_CORP_TAGS,
                           max_name=MAX_NAME_CHARS, rule_rows=rule_admin.rule_rows(), run=rules.latest_run(),
                           status_labels=rules.STATUS_LABELS, percent=rules.percent, read=presets.read,
                           progress_text=_progress_text, focus=request.args.get("at"),
                           job=jobs.active("tags.rules"), progress_of=jobs.progress_of,
                           mark_budget=connection.mark_tag_budget(), skip_reason=marking.STAFF_LEFT)


@bp.get("/counts", endpoint="counts")
@requires(P.TAGS_MANAGE)
def counts():
    """Customers per tag id, which the page fills in once shown (a pass over every relation)."""
    return jsonify(catalog.customer_counts())


@bp.post("/groups", endpoint="create_group")
@requires(P.TAGS_MANAGE)
def create_group():
    name = request.form.get("name", "")
    try:
        group_id = catalog.create_group(name, split_names(request.form.get("tags", "")))
    except UserError as exc:
        _refused(exc)
        return _back("new-group")
    flash(_("已在企业微信中创建标签组「%(name)s」", name=name.strip()), "success")
    return _back(f"group-{group_id}")


@bp.post("/groups/<group_id>/tags", endpoint="add_tags")
@requires(P.TAGS_MANAGE)
def add_tags(group_id: str):
    try:
        names = catalog.add_tags(group_id, split_names(request.form.get("tags", "")))
    except UserError as exc:
        _refused(exc)
    else:
        flash(_("已在企业微信中添加标签：%(names)s", names="、".join(names)), "success")
    return _back(f"group-{group_id}")


@bp.post("/items/<item_id>/rename", endpoint="rename")
@requires(P.TAGS_MANAGE)
def rename(item_id: str):
    try:
        catalog.rename(item_id, request.form.get("name", ""))
    except UserError as exc:
        _refused(exc)
    else:
        flash(_("已改名为「%(name)s」，企业微信中同步修改", name=request.form.get("name", "").strip()), "success")
    return _back(request.form.get("anchor"))


@bp.post("/items/<item_id>/move", endpoint="move")
@requires(P.TAGS_MANAGE)
def move(item_id: str):
    try:
        catalog.move(item_id, -1 if request.form.get("direction") == "up" else 1)
    except UserError as exc:
        _refused(exc)
    return _back(request.form.get("anchor"))


@bp.route("/items/<item_id>/delete", methods=["GET", "POST"], endpoint="delete")
@requires(P.TAGS_MANAGE)
def delete(item_id: str):
    try:
        if request.method == "POST":
            plan = catalog.delete(item_id)
            flash(_("已在企业微信中删除「%(name)s」，%(n)s 位客户不再带有它", name=plan.name, n=plan.customers), "success")
            return _back()
        plan = catalog.deletion(item_id)
    except UserError as exc:
        _refused(exc)
        return _back()
    return render_template("tags/delete.html", plan=plan)


def _rule_form(rule: TagRule | None):
    kind, values = presets.read(rule.rule) if rule else (presets.SPENT, {"spent_days": "90", "spent_yuan": "1000"})
    if request.method == "POST":
        kind, values = request.form.get("kind", ""), request.form.to_dict()
        try:
            saved = rule_admin.save(rule.id if rule else None, request.form.get("name", ""),
                                    request.form.get("tag_id", ""), presets.build(kind, request.form),
                                    request.form.get("enabled") == "on", current_user.username)
        except (UserError, RuleError) as exc:
            _refused(exc)
        else:
            flash(_("规则「%(name)s」已保存，下次执行时生效", name=saved.name), "success")
            return _back("rules")
    return render_template("tags/rule.html", rule=rule, kind=kind, values=values,
                           name=request.form.get("name", rule.name if rule else ""),
                           tag_id=request.form.get("tag_id", rule.tag_id if rule else ""),
                           enabled=(request.form.get("enabled") == "on") if request.method == "POST"
                           else (rule.enabled if rule else True),
                           tags=rule_admin.tag_choices(rule.id if rule else None), kinds=presets.KIND_LABELS,
                           matches=presets.STATE_MATCHES, failures=rule_admin.failures(rule.id) if rule else [])


@bp.route("/rules/new", methods=["GET", "POST"], endpoint="new_rule")
@requires(P.TAGS_MANAGE)
def new_rule():
    return _rule_form(None)


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"], endpoint="rule")
@requires(P.TAGS_MANAGE)
def edit_rule(rule_id: int):
    return _rule_form(db.session.get(TagRule, rule_id) or abort(404))


@bp.post("/rules/<int:rule_id>/enabled", endpoint="rule_enabled")
@requires(P.TAGS_MANAGE)
def rule_enabled(rule_id: int):
    try:
        row = rule_admin.set_enabled(rule_id, request.form.get("enabled") == "1")
    except UserError as exc:
        _refused(exc)
    else:
        flash(_("规则「%(name)s」已启用", name=row.name) if row.enabled else _("规则「%(name)s」已停用", name=row.name),
              "success")
    return _back("rules")


@bp.post("/rules/<int:rule_id>/delete", endpoint="delete_rule")
@requires(P.TAGS_MANAGE)
def delete_rule(rule_id: int):
    try:
        name = rule_admin.remove(rule_id)
    except UserError as exc:
        _refused(exc)
    else:
        flash(_("规则「%(name)s」已删除；客户身上已有的标签保留，不再自动维护", name=name), "success")
    return _back("rules")


@bp.post("/rules/run", endpoint="run_rules")
@requires(P.TAGS_MANAGE)
def run_rules():
    try:
        rules.require_enabled_rule()
    except UserError as exc:
        _refused(exc)
    else:
        job_pages.start("tags.rules", {"started_by": current_user.username})
    return _back("rules")
