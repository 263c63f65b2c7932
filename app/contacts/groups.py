"""Customer groups and their members, re-fetched whole from WeCom (group events may come late or out of order)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlalchemy import update

from app.contacts.merge import Counts, Row, from_epoch, merge
from app.contacts.models import CustomerGroup, CustomerGroupMember
from app.extensions import db
from app.wecom.errors import WeComError
from app.wecom.gateway import MAX_OWNERS_PER_GROUP_LIST, WeComGateway

GROUP_NOT_FOUND = 40050
OWNER_FILTER_REQUIRED = 81017  # groupchat/list without owner_filter when the visible range has > 1000 people


def list_group_chats(gw: WeComGateway, owners: Callable[[], list[str]]) -> list[list]:
    """[chat_id, status] of every customer group. One listing of the whole corp where WeCom allows it; a corp of
    more than 1,000 people (81017) is listed by owner, at most 100 owners a call (wecom-api.md §8), and merged."""
    try:
        return [[c["chat_id"], c.get("status", 0)] for c in gw.iter_group_chats()]
    except WeComError as exc:
        if exc.errcode != OWNER_FILTER_REQUIRED:
            raise
    userids, chats = owners(), {}
    for start in range(0, len(userids), MAX_OWNERS_PER_GROUP_LIST):
        for chat in gw.iter_group_chats(owner_userids=userids[start:start + MAX_OWNERS_PER_GROUP_LIST]):
            chats.setdefault(chat["chat_id"], chat.get("status", 0))
    return [[chat_id, status] for chat_id, status in chats.items()]


def fetch_group(gw: WeComGateway, chat_id: str) -> dict[str, Any] | None:
    """groupchat/get, or None when WeCom no longer has the group (dismissed)."""
    try:
        return gw.get_group_chat(chat_id)
    except WeComError as exc:
        if exc.errcode != GROUP_NOT_FOUND:
            raise
        return None


def _group_row(chat: dict[str, Any], status: int) -> Row:
    return {"chat_id": chat["chat_id"], "name": chat.get("name") or "", "owner": chat.get("owner") or "",
            "notice": chat.get("notice") or "", "status": status,
            "admin_userids": [a["userid"] for a in chat.get("admin_list") or []],
            "member_version": chat.get("member_version") or "", "created_at": from_epoch(chat.get("create_time")),
            "dismissed_at": None}


def _member_row(chat_id: str, member: dict[str, Any]) -> Row:
    return {"chat_id": chat_id, "userid": member["userid"], "type": member.get("type") or 2,
            "name": member.get("name") or "", "unionid": member.get("unionid"),
            "group_nickname": member.get("group_nickname") or "", "join_time": from_epoch(member.get("join_time")),
            "join_scene": member.get("join_scene") or 0, "invitor": (member.get("invitor") or {}).get("userid"),
            "state": member.get("state") or "", "left_at": None}


def save_groups(chats: list[tuple[dict[str, Any], int]], now: datetime) -> dict[str, Counts]:
    """Merge (groupchat/get detail, status) pairs with their members; members no longer listed have left."""
    ids = [chat["chat_id"] for chat, _ in chats]
    groups = merge(CustomerGroup, ("chat_id",), [_group_row(c, s) for c, s in chats], CustomerGroup.chat_id.in_(ids))
    members = merge(CustomerGroupMember, ("chat_id", "userid"),
                    [_member_row(c["chat_id"], m) for c, _ in chats for m in c.get("member_list") or []],
                    CustomerGroupMember.chat_id.in_(ids), removed_col="left_at", now=now)
    return {"groups": groups, "group_members": members}


def dismiss(now: datetime, *, only: list[str] | None = None, keep: list[str] | None = None) -> Counts:
    """Mark groups dismissed: the `only` ones, or every group not in `keep` (what a full listing no longer has)."""
    stmt = update(CustomerGroup).where(CustomerGroup.dismissed_at.is_(None))
    if only is not None:
        stmt = stmt.where(CustomerGroup.chat_id.in_(only))
    if keep is not None:
        stmt = stmt.where(CustomerGroup.chat_id.not_in(keep))
    result = db.session.execute(stmt.values(dismissed_at=now), execution_options={"synchronize_session": False})
    return Counts(removed=result.rowcount)
