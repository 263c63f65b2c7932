"""The local owner follows WeCom: a customer's follow relation moves to the takeover member, a group's owner changes,
only once WeCom reported success (transfer_result status 1, DELETE_BY_TRANSFER, or a group call without failure)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from app.contacts.customers import ENDED_BY_STAFF, end_relation, ensure_relation, update_lost
from app.contacts.models import CustomerGroup, FollowRelation
from app.extensions import db
from app.transfer.models import RESIGNED, SUCCEEDED, TransferItem

TRANSFER_SOURCE = "DELETE_BY_TRANSFER"  # the Source WeCom gives the old member's del_external_contact (§5)
ASSIGNED_ADD_WAY = 202                  # 管理员/负责人分配
COPIED = ("remark", "description", "remark_corp_name", "remark_mobiles", "tag_ids", "state")


def customer_succeeded(item: TransferItem, at: datetime) -> None:
    """Mark the item succeeded and move the relation (idempotent: an event and the poll may both report it)."""
    item.status, item.finished_at, item.reason, item.reason_params = SUCCEEDED, at, "", {}
    if item.owner_moved:
        return
    ext, handover, takeover = item.object_id, item.handover_userid, item.takeover_userid
    old = db.session.scalar(select(FollowRelation).where(FollowRelation.userid == handover,
                                                         FollowRelation.external_userid == ext))
    fields = {k: getattr(old, k) for k in COPIED} if old is not None else {}
    end_relation(handover, ext, ENDED_BY_STAFF, at, TRANSFER_SOURCE)
    mine = db.session.scalar(select(FollowRelation).where(FollowRelation.userid == takeover,
                                                          FollowRelation.external_userid == ext))
    if mine is None:
        ensure_relation(takeover, ext)
        db.session.execute(update(FollowRelation).where(FollowRelation.userid == takeover,
                                                        FollowRelation.external_userid == ext)
                           .values(**fields, add_way=ASSIGNED_ADD_WAY, oper_userid=takeover, added_at=at))
    elif mine.ended_at is not None:
        mine.ended_at, mine.ended_by, mine.end_source = None, None, None
    item.owner_moved = True
    update_lost(at, [ext])


def group_succeeded(item: TransferItem, kind: str, at: datetime) -> None:
    item.status, item.finished_at, item.owner_moved = SUCCEEDED, at, True
    values = {"owner": item.takeover_userid}
    if kind == RESIGNED:
        values["status"] = 3  # 离职继承完成 (groupchat/list status_filter)
    db.session.execute(update(CustomerGroup).where(CustomerGroup.chat_id == item.object_id).values(**values))
