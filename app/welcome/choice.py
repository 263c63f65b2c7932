"""Which welcome a new customer gets: the channel's template (by state) > the staff member's > the default."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.welcome.models import SCOPE_CHANNEL, SCOPE_DEFAULT, SCOPE_STAFF, Channel, WelcomeTemplate


def channel_for(state: str | None) -> Channel | None:
    return db.session.scalar(select(Channel).where(Channel.state == state)) if state else None


def template_for(userid: str, channel: Channel | None) -> tuple[WelcomeTemplate | None, str | None]:
    """(the enabled template that applies, the rule that chose it: channel / staff / default), or (None, None)."""
    if channel is not None and channel.template_id is not None:
        template = db.session.get(WelcomeTemplate, channel.template_id)
        if template is not None and template.enabled:
            return template, SCOPE_CHANNEL
    for template in db.session.scalars(select(WelcomeTemplate).where(
            WelcomeTemplate.scope == SCOPE_STAFF, WelcomeTemplate.enabled.is_(True)).order_by(WelcomeTemplate.id)):
        if userid in template.userids:
            return template, SCOPE_STAFF
    template = db.session.scalar(select(WelcomeTemplate).where(
        WelcomeTemplate.scope == SCOPE_DEFAULT, WelcomeTemplate.enabled.is_(True)).order_by(WelcomeTemplate.id))
    return (template, SCOPE_DEFAULT) if template else (None, None)
