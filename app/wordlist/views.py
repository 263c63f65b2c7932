"""敏感词库 pages (blueprint `wordlist`): categories on/off, search, add, delete, import, export; the editors' check."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core import export
from app.core.guard import requires, signed_in
from app.core.permissions import Permission as P
from app.core.uploads import chosen_file
from app.wordlist import importing, service

bp = Blueprint("wordlist", __name__, url_prefix="/wordlist", template_folder="templates")
MAX_CHECK_CHARS = 20_000


@bp.get("/", endpoint="index")
@requires(P.SETTINGS_MANAGE)
def index():
    query, category_id = request.args.get("q", ""), request.args.get("category", 0, type=int)
    categories = service.categories()
    return render_template("wordlist/index.html", categories=categories, q=query, category_id=category_id,
                           names={row.category.id: row.category.name for row in categories},
                           page=service.search(query, category_id, request.args.get("page", 1, type=int)),
                           custom=service.CUSTOM)


def _back():
    return redirect(url_for("wordlist.index", q=request.args.get("q") or None,
                            category=request.args.get("category") or None))


@bp.post("/words", endpoint="add")
@requires(P.SETTINGS_MANAGE)
def add():
    try:
        row = service.add(request.form.get("word", ""), request.form.get("category", ""), current_user.username)
    except service.WordlistError as exc:
        flash(_("没有添加：%(why)s", why=exc.localized()), "danger")
    else:
        flash(_("已添加敏感词「%(word)s」", word=row.word), "success")
    return _back()


@bp.post("/words/<int:word_id>/delete", endpoint="delete")
@requires(P.SETTINGS_MANAGE)
def delete(word_id: int):
    try:
        word = service.delete(word_id)
    except service.WordlistError as exc:
        flash(exc.localized(), "danger")
    else:
        flash(_("已删除敏感词「%(word)s」", word=word), "success")
    return _back()


@bp.post("/categories/<int:category_id>", endpoint="toggle")
@requires(P.SETTINGS_MANAGE)
def toggle(category_id: int):
    try:
        category = service.set_enabled(category_id, request.form.get("enabled") == "1")
    except service.WordlistError as exc:
        flash(exc.localized(), "danger")
    else:
        flash(_("分类「%(name)s」已启用", name=category.name) if category.enabled
              else _("分类「%(name)s」已停用：其中的词不再拦截", name=category.name), "success")
    return redirect(url_for("wordlist.index"))


@bp.post("/import", endpoint="import_words")
@requires(P.SETTINGS_MANAGE)
def import_words():
    upload = chosen_file(_("请选择要导入的文件"), url_for("wordlist.index"))
    try:
        report = importing.import_file(upload.filename, upload.read(), current_user.username)
    except importing.ImportInvalid as exc:
        flash(exc.localized(), "danger")
        return render_template("wordlist/import_errors.html", problems=exc.problems[:200],
                               more=max(0, len(exc.problems) - 200), filename=upload.filename), 422
    flash(_("已导入 %(added)s 个敏感词；%(existing)s 个已在词库里，未改动", added=report.added,
            existing=report.existing), "success")
    return redirect(url_for("wordlist.index"))


@bp.get("/export", endpoint="export_words")
@requires(P.SETTINGS_MANAGE)
def export_words():
    return export.table_response(export.requested_format(request.args.get("format")), ("词", "分类"),
                                 service.export_rows(), "sensitive-words", "敏感词")


@bp.post("/check", endpoint="check")
@signed_in
def check():
    """The library words in a text, with positions for the editors' highlighting: {"hits": [{word, category,
    start, end}]} (positions in characters, end exclusive)."""
    payload = request.get_json(silent=True)
    text = payload.get("text") if isinstance(payload, dict) else None
    if not isinstance(text, str) or len(text) > MAX_CHECK_CHARS:
        return jsonify(error=_("请用 JSON 提交 text（最多 %(n)s 个字符）", n=MAX_CHECK_CHARS)), 400
    hits = service.find(text)
    return jsonify(hits=[{"word": h.word, "category": h.category, "start": h.start, "end": h.end} for h in hits],
                   message=_(service.REFUSED, words=service.named(hits)) if hits else "")
