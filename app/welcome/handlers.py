"""Callback handlers: the welcome sent at once on an add (urgent lane), then channel tags and records; group joins."""
from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select

from app.contacts.models import Customer, Staff
from app.core import content
from app.core.db import upsert_ignore, utcnow
from app.extensions import db
from app.media import service as media
from app.referral.lookup import invitee_link
from app.tags import marking
from app.wecom.connection import NotConfigured, gateway
from app.wecom.errors import WeComError, WeComMediaRejected, WelcomeAlreadySent, WelcomeBeingSent, WelcomeCodeExpired
from app.wecom.handlers import Payload
from app.wecom.inbox import CallbackEvent
from app.welcome.choice import channel_for, template_for
from app.welcome.messages import group_code_attachments
from app.welcome.models import SCOPE_REFERRAL, Outcome, WelcomeRecord

log = logging.getLogger("scrm.welcome")
ADDS = ("add_external_contact", "add_half_external_contact")
NO_CODE, NO_TEMPLATE, INTERRUPTED, EXPIRED = "no_code", "no_template", "interrupted", "expired_in_queue"
NO_CODE_PARTNER, NO_CODE_HALF = "no_code_partner", "no_code_half_sent"
AWAITING_CONSENT, NEEDS_CONSENT = "awaiting_consent", 41053  # the customer has not agreed to chat archiving yet
WINDOW = timedelta(seconds=20)  # WeCom accepts a WelcomeCode for 20 s after the add (which precedes our receipt)
BUSY_RETRY = timedelta(seconds=1)  # after 41096 (another app is sending the welcome), try again this much later


@functools.cache
def _insert_record(dialect: str, unique: str):
    """INSERT a record unless one with the same `unique` value exists (built once per dialect)."""
    return upsert_ignore(WelcomeRecord.__table__, {}, [unique])


_STAFF_NAME = select(Staff.name).where(Staff.userid == bindparam("userid"))
_CUSTOMER_NAME = select(Customer.name).where(Customer.external_userid == bindparam("external_userid"))


def _record(payload: Payload, channel, outcome: str, **values) -> None:
    """Insert this add's record unless one exists for its event or WelcomeCode."""
    code = payload.get("WelcomeCode") or None
    row = dict(inbox_id=payload["_inbox_id"], welcome_code=code, userid=payload.get("UserID", ""),
               external_userid=payload.get("ExternalUserID", ""), state=payload.get("State") or "",
               channel_id=channel.id if channel else None, template_id=None, template_scope=None,
               outcome=outcome, errcode=None, reason="", received_at=datetime.fromisoformat(payload["_received_at"]),
               sent_at=None, latency_ms=None)
    row.update(values)
    db.session.execute(_insert_record(db.engine.dialect.name, "welcome_code" if code else "inbox_id"), row)


def _values(payload: Payload, needed: set[str]) -> dict[str, str]:
    """Variable values. The customer's name is asked from WeCom only when the template uses it and we lack it;
    the answer is carried to the follow-up, which then needs no second call."""
    userid, external_userid = payload.get("UserID", ""), payload.get("ExternalUserID", "")
    values = {"员工姓名": db.session.scalar(_STAFF_NAME, {"userid": userid}) or ""}
    if "客户昵称" in needed:
        name = db.session.scalar(_CUSTOMER_NAME, {"external_userid": external_userid})
        if not name:
            try:
                answer = gateway().get_external_contact(external_userid)
            except WeComError as exc:
                log.warning("welcome for %s goes without the customer's name: %s", external_userid, exc)
            else:
                payload.setdefault("_carry", {})["_external_contact"] = answer
                name = answer["external_contact"].get("name")
        values["客户昵称"] = name or ""
    return values


def _send(payload: Payload, template, deadline: datetime, extra: list[dict] = ()) -> tuple[str, int | None, str]:
    """Call send_welcome_msg (again only after 41096, before `deadline`): (outcome, errcode, reason). `extra`:
    attachments after the template's (a referral invitee's own link)."""
    try:
        message = content.parse(template.text, template.attachments, library=True)
        text, library = content.render(message, _values(payload, message.variables))
        library = (library + group_code_attachments(template) + list(extra))[:content.MAX_ATTACHMENTS]
        attachments, renewed = media.resolve(library), False  # ids renewed ahead are only read; uploads are rare
        while True:
            try:
                gateway().send_welcome_msg(payload["WelcomeCode"], text or None, attachments)
                break
            except WelcomeBeingSent:  # another app is sending this welcome now; WeCom allows a retry
                if utcnow() + BUSY_RETRY > deadline:
                    raise
                time.sleep(BUSY_RETRY.total_seconds())
            except WeComMediaRejected:  # WeCom forgot a media_id we held valid (clocks apart): upload once more
                if renewed or attachments == library or utcnow() >= deadline:
                    raise
                attachments, renewed = media.resolve(library, renew=True), True
    except WelcomeAlreadySent as exc:
        return Outcome.ALREADY, exc.errcode, ""
    except WelcomeCodeExpired as exc:
        return Outcome.MISSED, exc.errcode, ""
    except WeComError as exc:
        if exc.errcode == NEEDS_CONSENT:  # sent after all when they agree (msg_audit_approved brings a new code)
            return Outcome.FAILED, exc.errcode, AWAITING_CONSENT
        return Outcome.FAILED, exc.errcode, f"{exc.message} ({exc.errmsg})"[:256]
    except (content.ContentInvalid, media.MediaMissing, NotConfigured) as exc:
        return Outcome.FAILED, None, str(exc)[:256]
    return Outcome.SENT, 0, ""


def _greet(payload: Payload, channel) -> dict[str, Any]:
    """Choose the welcome and send it with the event's WelcomeCode: the record's values (outcome and the rest).
    The inbox commits the claim before this runs: a second attempt at the same event never calls WeCom again."""
    if payload.get("_attempt", 1) > 1:
        return dict(outcome=Outcome.SENDING, errcode=None, reason=INTERRUPTED)
    template, scope = template_for(payload.get("UserID", ""), channel, payload.get("State"))
    if template is None:
        return dict(outcome=Outcome.SKIPPED, errcode=None, reason=NO_TEMPLATE)
    received = datetime.fromisoformat(payload["_received_at"])
    if utcnow() - received > WINDOW:  # WeCom would answer 41050: save the call for adds that can still make it
        outcome, errcode, reason = Outcome.MISSED, None, EXPIRED
    else:
        extra = [link] if scope == SCOPE_REFERRAL and (link := invitee_link(payload.get("State"),
                                                                            payload.get("ExternalUserID", ""))) else []
        outcome, errcode, reason = _send(payload, template, received + WINDOW, extra)
    finished = utcnow()
    return dict(outcome=outcome, template_id=template.id, template_scope=scope, errcode=errcode, reason=reason,
                sent_at=finished, latency_ms=round((finished - received).total_seconds() * 1000))


def welcome_now(payload: Payload) -> None:
    """Choose and send the welcome at once, and record it (one record per WelcomeCode)."""
    if not payload.get("WelcomeCode"):
        return
    channel = channel_for(payload.get("State"))
    values = _greet(payload, channel)
    _record(payload, channel, values.pop("outcome"), **values)


def welcome_after_consent(payload: Payload) -> None:
    """The customer agreed to chat archiving: the welcome WeCom held back for it (41053) goes out with this
    event's WelcomeCode, chosen as for the add (its state), and the add's record says how it went. A customer
    already greeted, or never held back, gets nothing."""
    held = db.session.scalar(select(WelcomeRecord).where(
        WelcomeRecord.userid == payload.get("UserID", ""),
        WelcomeRecord.external_userid == payload.get("ExternalUserID", ""),
    ).order_by(WelcomeRecord.id.desc()).limit(1))
    if not payload.get("WelcomeCode") or held is None or held.errcode != NEEDS_CONSENT:
        return
    for name, value in _greet(payload, channel_for(held.state or None)).items():
        setattr(held, name, value)


def _why_no_code(payload: Payload) -> str:
    """Why WeCom sent no WelcomeCode (wecom-api.md §5), as far as we can tell: a WeCom user (business partner, who
    gets a business card), or the welcome already sent with the code of this pair's add_half_external_contact;
    otherwise a welcome configured in WeCom's admin console or an earlier chat."""
    userid, external_userid = payload.get("UserID", ""), payload.get("ExternalUserID", "")
    if db.session.scalar(select(Customer.type).where(Customer.external_userid == external_userid)) == 2:
        return NO_CODE_PARTNER
    greeted_half = db.session.scalar(select(WelcomeRecord.id).join(
        CallbackEvent, CallbackEvent.id == WelcomeRecord.inbox_id).where(
        WelcomeRecord.userid == userid, WelcomeRecord.external_userid == external_userid,
        WelcomeRecord.outcome == Outcome.SENT, CallbackEvent.change_type == ADDS[1]).limit(1))
    return NO_CODE_HALF if greeted_half is not None else NO_CODE


def after_add(payload: Payload) -> None:
    """The follow-up (default lane, after the contact is re-fetched): a record for adds without a WelcomeCode,
    and the channel's tags applied in WeCom and here."""
    userid, external_userid = payload.get("UserID", ""), payload["ExternalUserID"]
    channel = channel_for(payload.get("State"))
    if not payload.get("WelcomeCode"):
        _record(payload, channel, Outcome.SKIPPED, reason=_why_no_code(payload))
    if channel is None or not channel.tag_ids:
        return
    # the interactive lane: a new customer's tags never wait behind bulk work; written with the event's state
    result, = marking.mark([marking.Change(userid, external_userid, tuple(channel.tag_ids))],
                           "welcome.channel_tags_marked", lane=marking.Lane.INTERACTIVE,
                           details={"channel": channel.id}, commit=False).results
    if result.outcome in marking.OWED:  # the inbox handles the follow-up again later, as for any failed handler
        raise marking.Owed(result)
    if not result.ok:  # a tag deleted in WeCom since, no permission, the customer gone: logged, not retried
        log.warning("channel %s tags not applied to %s: %s", channel.id, external_userid, result.error)
