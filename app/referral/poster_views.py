"""The task's poster page (blueprint `referral`): upload or reset the background, and a preview with a sample
nickname and where the inviter's QR code goes."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.core.guard import requires
from app.core.permissions import Permission as P
from app.extensions import db
from app.referral import background, poster
from app.referral.models import ReferralTask, TaskStatus
from app.referral.public_views import bp, misnamed

SAMPLE_NICKNAME = "小明同学"
SAMPLE_QR = "https://work.weixin.qq.com/ca/cawcde0000000000"  # the shape of a contact way's QR link


def _task(task_id: int) -> ReferralTask:
    return db.session.get(ReferralTask, task_id) or abort(404)


@bp.route("/<int:task_id>/poster", methods=["GET", "POST"], endpoint="poster_page")
@requires(P.REFERRAL_MANAGE)
def poster_page(task_id: int):
    task = _task(task_id)
    error = None
    if request.method == "POST":
        if task.status == TaskStatus.ENDED:
            error = _("任务已结束，不能再更换海报")
        elif request.form.get("action") == "reset":
            background.change(task, None)
            flash(_("已恢复默认海报背景"), "success")
            return redirect(url_for("referral.poster_page", task_id=task.id))
        else:
            upload = request.files.get("background")
            try:
                data = background.checked(upload.read() if upload else b"")
            except background.BackgroundInvalid as exc:
                error = str(exc)
            else:
                background.change(task, data)
                flash(_("海报背景已更换，邀请人的海报会按新背景重新生成"), "success")
                return redirect(url_for("referral.poster_page", task_id=task.id))
    return render_template("referral/poster.html", task=task, error=error, size=poster.SIZE,
                           max_mb=background.MAX_BYTES // 1024 // 1024, min_width=background.MIN_WIDTH,
                           no_font=poster.cjk_font() is None, custom=task.poster_background is not None,
                           version=(task.updated_at.timestamp() if task.updated_at else 0),
                           extension=poster.extension(task.poster_background)), 400 if error else 200


@bp.get("/<int:task_id>/poster/preview.<any(png, jpg):ext>", endpoint="poster_preview")
@requires(P.REFERRAL_MANAGE)
def poster_preview(task_id: int, ext: str):
    task = _task(task_id)
    if elsewhere := misnamed(ext, task.poster_background):
        return elsewhere
    data = poster.render(SAMPLE_NICKNAME, SAMPLE_QR, task.poster_background)
    return Response(data, mimetype=poster.mimetype(data), headers={"Cache-Control": "no-store"})
