"""Tags no one may set by hand: the RFM job's groups, rewritten by every recompute (app/rfm/writeback.py)."""
from __future__ import annotations

from sqlalchemy import select

from app.core.permissions import N_
from app.extensions import db
from app.tags.models import CorpTag, CorpTagGroup

SEGMENT_GROUP = "RFM分层"
CLASS_GROUP = "RFM八类"
RFM_GROUPS = (SEGMENT_GROUP, CLASS_GROUP)
LIFECYCLE_GROUP = "生命周期"  # the lifecycle stages (app/lifecycle/writeback.py)
RFM_TAGS_REFUSED = N_("「%(tags)s」是 RFM 标签：每晚由 RFM 计算按消费数据自动改写，不能手动添加、移除或作为渠道标签")


def rfm_tags(tag_ids: list[str]) -> list[str]:
    """「group / name」 of each tag among `tag_ids` that the RFM job writes (and so no one may set by hand)."""
    if not tag_ids:
        return []
    return [f"{group} / {name}" for group, name in db.session.execute(
        select(CorpTagGroup.name, CorpTag.name).join(CorpTagGroup, CorpTagGroup.group_id == CorpTag.group_id)
        .where(CorpTag.tag_id.in_(tag_ids), CorpTagGroup.name.in_(RFM_GROUPS)).order_by(CorpTag.name))]
