"""The referral side of the welcome chain: the welcome template of a running task, by the add's state, and the
invitee's own link that the welcome carries (the invitee joins the task as an inviter when they first open it)."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from app.core import settings
from app.extensions import db
from app.referral import links
from app.referral.models import ReferralParticipant, ReferralTask, TaskStatus
from app.referral.rules import parse_state

# one prepared query: this runs inside WeCom's 20 seconds
_TEMPLATE = (select(ReferralTask.welcome_template_id).join(ReferralParticipant, ReferralParticipant.task_id ==
                                                            ReferralTask.id)
             .where(ReferralParticipant.state == bindparam("state"), ReferralTask.status == TaskStatus.RUNNING))


def welcome_template_id(state: str | None) -> int | None:
    """The welcome template of the running task whose inviter's contact way carries `state`, if any."""
    if parse_state(state) is None:
        return None
    return db.session.scalar(_TEMPLATE, {"state": state})


INVITEE_LINK_TITLE = "生成我的专属邀请海报"
INVITEE_LINK_DESC = "邀请好友也能领奖励"


def invitee_link(state: str | None, external_userid: str) -> dict | None:
    """The welcome's link card to the invitee's own progress page in the task the state names (signed; nothing is
    written now: they join when they open it), or None without a console address to link to."""
    parsed = parse_state(state)
    base_url = settings.get("console.url") if parsed and external_userid else ""
    if not base_url:
        return None
    return {"msgtype": "link", "link": {"title": INVITEE_LINK_TITLE, "desc": INVITEE_LINK_DESC,
                                        "url": links.customer_url(base_url, parsed[0], external_userid)}}
