"""Tags no one may set by hand: the groups a job rewrites (RFM分层 and RFM八类 by every RFM recompute,
app/rfm/writeback.py; 生命周期 by the lifecycle stages, app/lifecycle/writeback.py). Only those jobs mark them."""
from __future__ import annotations

from sqlalchemy import select

from app.core.permissions import N_
from app.extensions import db
from app.tags.models import CorpTag, CorpTagGroup

SEGMENT_GROUP = "RFM分层"
CLASS_GROUP = "RFM八类"
RFM_GROUPS = (SEGMENT_GROUP, CLASS_GROUP)
LIFECYCLE_GROUP = "生命周期"  # the lifecycle stages (app/lifecycle/writeback.py)
RFM, LIFECYCLE = "rfm", "lifecycle"
MAINTAINER = {SEGMENT_GROUP: RFM, CLASS_GROUP: RFM, LIFECYCLE_GROUP: LIFECYCLE}  # group name -> the job writing it
READ_ONLY_GROUPS = tuple(MAINTAINER)
RFM_TAGS_REFUSED = N_("「%(tags)s」是 RFM 标签：每晚由 RFM 计算按消费数据自动改写，不能手动添加、移除或作为渠道标签")
LIFECYCLE_TAGS_REFUSED = N_("「%(tags)s」是生命周期标签：由生命周期阶段按客户最近一次互动自动写入（阶段变化时改写），"
                            "不能手动添加、移除或作为渠道标签")
REFUSED = {RFM: RFM_TAGS_REFUSED, LIFECYCLE: LIFECYCLE_TAGS_REFUSED}


def maintained(tag_ids: list[str]) -> dict[str, list[str]]:
    """{job: 「group / name」 of each tag among `tag_ids` it writes}: tags no one may set by hand."""
    if not tag_ids:
        return {}
    found: dict[str, list[str]] = {}
    for group, name in db.session.execute(
            select(CorpTagGroup.name, CorpTag.name).join(CorpTagGroup, CorpTagGroup.group_id == CorpTag.group_id)
            .where(CorpTag.tag_id.in_(tag_ids), CorpTagGroup.name.in_(READ_ONLY_GROUPS)).order_by(CorpTag.name)):
        found.setdefault(MAINTAINER[group], []).append(f"{group} / {name}")
    return found


def refusal(tag_ids: list[str]) -> tuple[str, dict[str, str]] | None:
    """(message, its parameters) saying why some of `tag_ids` cannot be set by hand, or None when all can."""
    for job, tags in maintained(tag_ids).items():
        return REFUSED[job], {"tags": "」「".join(tags)}
    return None

