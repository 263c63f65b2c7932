"""Which welcome a new customer gets: a referral task's (by state) > the channel's (by state) > the staff
member's > the default."""
from __future__ import annotations

from sqlalchemy import bindparam, or_, select

from app.extensions import db
from app.referral.lookup import welcome_template_id as referral_template_id
from app.welcome.models import SCOPE_CHANNEL, SCOPE_DEFAULT, SCOPE_REFERRAL, SCOPE_STAFF, Channel, WelcomeTemplate


_CHANNEL = select(Channel).where(Channel.state == bindparam("state"))
# Every enabled candidate (the table is small), in one prepared query: this runs inside WeCom's 20 seconds.
_CANDIDATES = select(WelcomeTemplate).where(
    WelcomeTemplate.enabled.is_(True),
    or_(WelcomeTemplate.scope.in_((SCOPE_STAFF, SCOPE_DEFAULT)), WelcomeTemplate.id == bindparam("wanted"))
).order_by(WelcomeTemplate.id)


def channel_for(state: str | None) -> Channel | None:
    return db.session.scalar(_CHANNEL, {"state": state}) if state else None


def template_for(userid: str, channel: Channel | None, state: str | None = None
                 ) -> tuple[WelcomeTemplate | None, str | None]:
    """(the enabled template that applies, the rule that chose it: referral / channel / staff / default), or
    (None, None). `state`: the add's state, which may name a referral task's inviter."""
    referral = referral_template_id(state)
    wanted = referral or (channel.template_id if channel is not None else None)
    candidates = db.session.scalars(_CANDIDATES, {"wanted": wanted}).all()
    for template in candidates:
        if template.id == wanted:
            return template, SCOPE_REFERRAL if referral else SCOPE_CHANNEL
    for template in candidates:
        if template.scope == SCOPE_STAFF and userid in template.userids:
            return template, SCOPE_STAFF
    for template in candidates:
        if template.scope == SCOPE_DEFAULT:
            return template, SCOPE_DEFAULT
    return None, None
