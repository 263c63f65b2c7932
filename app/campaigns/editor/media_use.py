"""Which pushes use which media-library items: an item in use cannot be deleted, and its WeCom media_id is renewed
ahead of the sends (app/media/service.py)."""
from __future__ import annotations

from sqlalchemy import select

from app.campaigns.models import Campaign, CampaignStatus as S, CampaignVariant
from app.core import content
from app.core.permissions import N_
from app.extensions import db
from app.media import service as media

LIVE = (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.SCHEDULED, S.RUNNING)


def _items_by_campaign() -> dict[int, tuple[str, set[int]]]:
    """{campaign id: (name, library items of its content and variants)} of the pushes that may still send."""
    query = select(Campaign.id, Campaign.name, Campaign.content).where(Campaign.status.in_(LIVE))
    found = {cid: (name, set(content.library_ids((body or {}).get("attachments") or [])))
             for cid, name, body in db.session.execute(query)}
    for cid, body in db.session.execute(select(CampaignVariant.campaign_id, CampaignVariant.content)
                                        .where(CampaignVariant.campaign_id.in_(list(found)))):
        found[cid][1].update(content.library_ids((body or {}).get("attachments") or []))
    return found


def pushes_using(item_id: int) -> list[str]:
    """Names of the pushes that may still send and attach the item."""
    return [name for name, items in _items_by_campaign().values() if item_id in items]


def items_in_use() -> set[int]:
    """Items the pushes that may still send attach."""
    return set().union(*(items for _name, items in _items_by_campaign().values()))


media.register_user(media.LibraryUser(N_("群发"), pushes_using, items_in_use))
