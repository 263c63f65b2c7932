"""The referral side of the welcome chain: the welcome template of a running task, by the add's state."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from app.extensions import db
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
