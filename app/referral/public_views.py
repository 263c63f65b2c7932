"""The inviter's own pages, opened from their personal link without signing in: progress on the ladder, rewards,
rules and their poster. The link is signed (links.py): forged, altered or another inviter's id is a 404."""
from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app.core.db import transaction
from app.core.guard import public
from app.extensions import db
from app.referral import joining, links, poster, review
from app.referral.models import (CLAIM_LABELS, CreditStatus, ReferralCredit, ReferralLevel, ReferralParticipant,
                                 ReferralReservation, ReferralTask, ReservationStatus, TASK_STATUS_LABELS)
from app.referral.views import bp


def _inviter(token: str, join: bool = False) -> ReferralParticipant:
    """The inviter a link names: by participant id, or by task and customer (joined on first open when `join`)."""
    if customer := links.customer_of(token):
        found = joining.on_open(*customer) if join else joining.participant(*customer)
        return found or abort(404)
    participant_id = links.participant_id_of(token)
    return (db.session.get(ReferralParticipant, participant_id) if participant_id else None) or abort(404)


@bp.get("/p/<token>", endpoint="progress")
@public
def progress(token: str):
    inviter = _inviter(token, join=True)
    task = db.session.get(ReferralTask, inviter.task_id)
    with transaction():
        review.note_visit(inviter, request.remote_addr, request.user_agent.string)
    counts = dict(db.session.execute(select(ReferralCredit.status, func.count()).where(
        ReferralCredit.participant_id == inviter.id).group_by(ReferralCredit.status)).all())
    levels = db.session.scalars(select(ReferralLevel).where(ReferralLevel.task_id == task.id,
                                                            ReferralLevel.arm == inviter.arm)
                                .order_by(ReferralLevel.needed)).all()
    mine = {r.level_id: r for r in db.session.scalars(select(ReferralReservation).where(
        ReferralReservation.participant_id == inviter.id))}
    return render_template("referral/progress.html", task=task, inviter=inviter, levels=levels, mine=mine,
                           valid=counts.get(CreditStatus.VALID, 0), held=counts.get(CreditStatus.HELD, 0),
                           reviewing=counts.get(CreditStatus.FLAGGED, 0), claim_labels=CLAIM_LABELS,
                           status_labels=TASK_STATUS_LABELS, reserved=ReservationStatus.RESERVED,
                           given=ReservationStatus.GIVEN, token=token,
                           poster_extension=poster.extension(task.poster_background))


def misnamed(ext: str, background: bytes | None):
    """A redirect to the poster's URL with the extension it is drawn in (links sent before it changed, or before
    JPEG posters had .jpg), keeping the query string; None when `ext` is already that."""
    right = poster.extension(background)
    return None if ext == right else redirect(url_for(
        request.endpoint, **{**request.args.to_dict(flat=False), **request.view_args, "ext": right}))


@bp.get("/p/<token>/poster.<any(png, jpg):ext>", endpoint="poster")
@public
def poster_image(token: str, ext: str):
    inviter = _inviter(token)
    if not inviter.qr_code or inviter.way_deleted_at is not None:
        abort(404)
    task = db.session.get(ReferralTask, inviter.task_id)
    if elsewhere := misnamed(ext, task.poster_background):
        return elsewhere
    data = poster.poster(inviter.id, inviter.nickname, inviter.qr_code, task.poster_background)
    response = Response(data, mimetype=poster.mimetype(data), headers={"Cache-Control": "private, no-cache"})
    response.add_etag()  # asked again each time: a changed background shows at once, an unchanged one is a 304
    return response.make_conditional(request)


from app.referral import launch_views  # noqa: E402,F401  (the launch pages, on this blueprint)
