"""WeCom's callback URL and the admin page of received events (blueprint `wecom`)."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.core.guard import public, requires
from app.core.permissions import Permission as P
from app.extensions import csrf, db
from app.wecom import inbox
from app.wecom.connection import NotConfigured, callback_cipher
from app.wecom.errors import CallbackDecryptError, CallbackSignatureError

bp = Blueprint("wecom", __name__, url_prefix="/wecom", template_folder="templates")
log = logging.getLogger("scrm.wecom.callback")
PAGE_SIZE = 50
STATUS_BADGES = {inbox.Status.PENDING: "text-bg-info", inbox.Status.PROCESSING: "text-bg-primary",
                 inbox.Status.DONE: "text-bg-success", inbox.Status.IGNORED: "text-bg-secondary",
                 inbox.Status.DEAD: "text-bg-danger"}
# A signed event whose timestamp is further than this from now, either way, is a replay (or a clock far off) and is
# refused unstored. WeCom's own tries of one event all fall within about 20 s (3 tries, 5 s each, then a pause): the
# emulator signs each try anew; whether WeCom reuses the first try's timestamp is UNCONFIRMED, and 5 minutes holds
# either way, with room for a few minutes of clock drift.
CALLBACK_MAX_SKEW_SECONDS = 300


def _signature_args() -> tuple[str, str, str]:
    args = request.args
    return args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")


def _fresh(timestamp: str) -> bool:
    if not (timestamp.isdigit() and len(timestamp) <= 12):
        return False
    return abs(time.time() - int(timestamp)) <= CALLBACK_MAX_SKEW_SECONDS


def _refuse(reason: str, exc: Exception | None = None):
    log.warning("callback refused from %s: %s %s", request.remote_addr, reason, exc or "")
    return "", 403


@bp.get("/callback", endpoint="callback_verify")
@public
def callback_verify():
    """WeCom's URL verification: answer the decrypted echostr as plain text."""
    try:
        plaintext = callback_cipher().verify_url(*_signature_args(), request.args.get("echostr", ""))
    except NotConfigured as exc:
        return _refuse("not configured", exc)
    except (CallbackSignatureError, CallbackDecryptError) as exc:
        return _refuse("bad signature or echostr", exc)
    return plaintext, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/callback", endpoint="callback")
@public
@csrf.exempt
def callback():
    """An event: verify, decrypt, store once, answer 200 with an empty body at once; workers handle it."""
    if not _fresh(request.args.get("timestamp", "")):
        return _refuse("timestamp missing or more than %s s from now (a replay?)" % CALLBACK_MAX_SKEW_SECONDS)
    try:
        fields = callback_cipher().decrypt_event(request.get_data(), *_signature_args())
    except NotConfigured as exc:
        return _refuse("not configured", exc)
    except (CallbackSignatureError, CallbackDecryptError) as exc:
        return _refuse("bad signature or body", exc)
    except SQLAlchemyError as exc:  # the credentials are unreadable (database down as this process starts)
        log.error("callback not verified, the credentials cannot be read: %s", exc)
        return "", 503
    try:
        inbox.ingest(fields)
    except OSError as exc:  # neither the database nor the spool took it: WeCom must try again
        log.error("callback event neither stored nor spooled: %s", exc)
        return "", 503
    return "", 200


@bp.get("/events", endpoint="events")
@requires(P.CALLBACKS_MANAGE)
def events():
    status = request.args.get("status", "")
    q = select(inbox.CallbackEvent).order_by(inbox.CallbackEvent.id.desc())
    if status:
        q = q.where(inbox.CallbackEvent.status == status)
    page = db.paginate(q, per_page=PAGE_SIZE, error_out=False)
    counts = dict(db.session.execute(select(inbox.CallbackEvent.status, func.count())
                                     .group_by(inbox.CallbackEvent.status)).all())
    return render_template("wecom/events.html", page=page, status=status, counts=counts,
                           statuses=list(inbox.STATUS_LABELS), status_labels=inbox.STATUS_LABELS,
                           status_badges=STATUS_BADGES, event_labels=inbox.EVENT_LABELS,
                           change_labels=inbox.CHANGE_LABELS)


@bp.post("/events/<int:event_id>/replay", endpoint="replay")
@requires(P.CALLBACKS_MANAGE)
def replay(event_id: int):
    event = db.session.get(inbox.CallbackEvent, event_id) or abort(404)
    if event.status not in (inbox.Status.DEAD, inbox.Status.IGNORED):
        flash(_("只有失败或未处理的事件可以重放"), "warning")
    else:
        inbox.replay(event)
        flash(_("事件 #%(id)s 已重新排队", id=event_id), "success")
    return redirect(url_for("wecom.events", status=request.args.get("status", "")))
