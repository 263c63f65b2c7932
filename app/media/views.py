"""素材库 pages (blueprint `media`): search and list with image previews, upload, download, delete."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core import content
from app.core.guard import requires
from app.core.permissions import Permission as P
from app.core.uploads import chosen_file
from app.extensions import db
from app.media import limits, service
from app.media.models import MediaItem
from app.wecom.connection import NotConfigured
from app.wecom.errors import WeComError

bp = Blueprint("media", __name__, url_prefix="/media", template_folder="templates")


def preview_attachment(attachment: dict) -> dict:
    """An attachment as a preview shows it: a library image itself, a video's or file's name, a library cover's
    image (others as they are)."""
    item_id = content.library_id(attachment) or content.cover_id(attachment)
    item = db.session.get(MediaItem, item_id) if item_id else None
    if item is None:
        return attachment
    kind = attachment["msgtype"]
    if kind in content.COVERS:
        return {"msgtype": kind, kind: dict(attachment[kind], cover_url=url_for("media.file", item_id=item.id))}
    if item.kind == "image":
        return {"msgtype": "image", "image": {"pic_url": url_for("media.file", item_id=item.id)}}
    return {"msgtype": item.kind, item.kind: {"title": item.name}}


@bp.get("/", endpoint="index")
@requires(P.MEDIA_VIEW)
def index():
    query, kind = request.args.get("q", ""), request.args.get("kind", "")
    kind = kind if kind in limits.KINDS else ""
    page = service.search(query, kind, request.args.get("page", 1, type=int))
    return render_template("media/index.html", page=page, q=query, kind=kind, kinds=limits.KINDS,
                           max_mb={k: v // limits.MB for k, v in limits.MAX_BYTES.items()}, formats=limits.FORMATS,
                           can_manage=current_user.can(P.MEDIA_MANAGE))


@bp.post("/", endpoint="upload")
@requires(P.MEDIA_MANAGE)
def upload():
    upload_file = chosen_file(_("请选择要上传的文件"), url_for("media.index"))
    try:
        item = service.add(request.form.get("kind", ""), request.form.get("name", ""), upload_file.filename,
                           upload_file.read(), current_user.username)
    except limits.MediaInvalid as exc:
        flash(_("没有上传：%(why)s", why=exc.text(_)), "danger")
    else:
        flash(_("素材「%(name)s」已加入素材库", name=item.name), "success")
    return redirect(url_for("media.index"))


@bp.get("/<int:item_id>/file", endpoint="file")
@requires(P.MEDIA_VIEW)
def file(item_id: int):
    item = db.session.get(MediaItem, item_id) or abort(404)
    inline = item.kind == "image" and not request.args.get("download")
    disposition = "inline" if inline else "attachment"
    response = Response(service.data_of(item), mimetype=item.content_type)
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(item.filename, safe='')}"
    return response


@bp.post("/<int:item_id>/url", endpoint="image_url")
@requires(P.MEDIA_MANAGE)
def image_url(item_id: int):
    item = db.session.get(MediaItem, item_id) or abort(404)
    try:
        service.permanent_url(item)
    except limits.MediaInvalid as exc:
        flash(exc.text(_), "danger")
    except (WeComError, NotConfigured) as exc:
        flash(_("企业微信没有给出长期链接：%(why)s", why=getattr(exc, "message", str(exc))), "danger")
    else:
        flash(_("「%(name)s」的长期链接已生成，可填作链接封面或图片链接", name=item.name), "success")
    return redirect(url_for("media.index", q=item.name))


@bp.post("/<int:item_id>/delete", endpoint="delete")
@requires(P.MEDIA_MANAGE)
def delete(item_id: int):
    item = db.session.get(MediaItem, item_id) or abort(404)
    name = item.name
    try:
        service.delete(item)
    except limits.MediaInvalid as exc:
        flash(_("没有删除：%(why)s", why=exc.text(_)), "danger")
    else:
        flash(_("素材「%(name)s」已删除", name=name), "success")
    return redirect(url_for("media.index"))
