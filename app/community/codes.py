"""Join codes (群活码): created, changed and deleted in WeCom through the gateway (groupchat/*_join_way), kept here."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.contacts.models import CustomerGroup
from app.core import wecom_ways
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import FieldErrors
from app.core.permissions import N_
from app.extensions import db
from app.community import opened
from app.community.models import TIERS, Invitation, JoinCode
from app.wecom.connection import gateway
from app.welcome.models import WelcomeTemplate

MAX_CHATS = 5       # WeCom: chat_id_list holds at most 5 groups
MAX_BASE_NAME = 40  # WeCom: room_base_name ≤ 40 characters
QR_SCENE = 2
WORDING = wecom_ways.Wording(name=N_("请填写活码名称（最多 64 个字）"),
                             state=N_("请填写来源标识 state（最多 30 个字符），例如门店或渠道编号"),
                             taken=N_("这个来源标识已被另一个群活码使用"))


class CodeInvalid(FieldErrors):
    """A join code the console refuses to create, change or delete."""


@dataclass
class CodeInput:
    name: str
    state: str
    chat_ids: list[str] = field(default_factory=list)
    auto_create_room: bool = True
    room_base_name: str = ""
    room_base_id: int | None = 1
    tier: str | None = None


def new_state() -> str:
    """A fresh state suggestion for a new code (rename it after the store or channel)."""
    return wecom_ways.new_state("grp-")


def _validate(data: CodeInput, code: JoinCode | None) -> None:
    errors: dict[str, str | tuple[str, dict]] = {}
    wecom_ways.check_name_and_state(errors, JoinCode, code, data.name, data.state, WORDING)
    chats = list(dict.fromkeys(data.chat_ids))
    live = set(db.session.scalars(select(CustomerGroup.chat_id).where(CustomerGroup.chat_id.in_(chats),
                                                                       CustomerGroup.dismissed_at.is_(None))))
    if not chats:
        errors["chat_ids"] = N_("至少选择一个客户群")
    elif len(chats) > MAX_CHATS:
        errors["chat_ids"] = N_("一个群活码最多 5 个群")
    elif set(chats) - live:
        errors["chat_ids"] = N_("有的群已解散或不存在，请重新选择")
    if data.auto_create_room:
        if not data.room_base_name.strip() or len(data.room_base_name) > MAX_BASE_NAME:
            errors["room_base_name"] = N_("自动建群需要群名前缀（最多 40 个字）")
        if data.room_base_id is None or not 0 <= data.room_base_id <= 1_000_000:
            errors["room_base_id"] = N_("起始序号须为 0 到 1000000 的整数")
    if data.tier is not None and data.tier not in TIERS:
        errors["tier"] = N_("请选择群分层")
    if errors:
        raise CodeInvalid(errors)


def _config(data: CodeInput) -> dict:
    """The whole config (update_join_way replaces it: every field is sent)."""
    config = {"scene": QR_SCENE, "remark": data.name.strip()[:wecom_ways.MAX_REMARK], "state": data.state,
              "chat_id_list": list(dict.fromkeys(data.chat_ids)), "auto_create_room": int(data.auto_create_room)}
    if data.auto_create_room:
        config.update(room_base_name=data.room_base_name.strip(), room_base_id=data.room_base_id)
    return config


def _copy(code: JoinCode, data: CodeInput) -> None:
    code.name, code.state, code.tier = data.name.strip(), data.state, data.tier
    code.chat_ids = list(dict.fromkeys(data.chat_ids))
    code.auto_create_room = data.auto_create_room
    code.room_base_name = data.room_base_name.strip() if data.auto_create_room else ""
    code.room_base_id = data.room_base_id if data.auto_create_room and data.room_base_id is not None else 1
    code.updated_at = utcnow()


def create(data: CodeInput, actor: str) -> JoinCode:
    """add_join_way, then get_join_way for its QR code; WeCom's config is removed again if keeping it here fails."""
    _validate(data, None)
    api = gateway()
    config_id = api.add_join_way(_config(data))
    try:
        way = api.get_join_way(config_id)
        with transaction():
            code = JoinCode(config_id=config_id, qr_code=way.get("qr_code") or "", created_by=actor,
                            wecom_chat_ids=list(way.get("chat_id_list") or []), checked_at=utcnow())
            _copy(code, data)
            db.session.add(code)
            db.session.flush()
            record("community.code_created", target=f"{code.name}#{code.id}",
                   details={"config_id": config_id, "state": code.state, "chat_ids": code.chat_ids})
    except Exception:
        api.del_join_way(config_id)
        raise
    return code


def update(code: JoinCode, data: CodeInput) -> None:
    """update_join_way with the whole new config, then save it here."""
    _validate(data, code)
    gateway().update_join_way(code.config_id, _config(data))
    with transaction():
        _copy(code, data)
        record("community.code_updated", target=f"{code.name}#{code.id}", details={"chat_ids": code.chat_ids})


def refresh(code: JoinCode) -> None:
    """get_join_way: the QR code and the groups WeCom has behind the code now (any it opened itself gets the tier)."""
    way = gateway().get_join_way(code.config_id)
    with transaction():
        opened.apply_way(code, way, utcnow())


def delete(code: JoinCode) -> None:
    """del_join_way (a config WeCom no longer knows counts as deleted), then forget the code; the joins stay in the
    group members' state. A code an invitation carries is kept (its invitations still count joins by it)."""
    if db.session.scalar(select(Invitation.id).where(Invitation.join_code_id == code.id).limit(1)):
        raise CodeInvalid({"code": N_("有入群邀请在用这个群活码，不能删除")})
    if welcome := db.session.scalar(select(WelcomeTemplate.name).where(WelcomeTemplate.group_code_id == code.id).limit(1)):
        raise CodeInvalid({"code": (N_("欢迎语「%(name)s」附带这个群活码，请先在欢迎语里换掉它"), {"name": welcome})})
    wecom_ways.delete_in_wecom(gateway().del_join_way, code.config_id)
    with transaction():
        record("community.code_deleted", target=f"{code.name}#{code.id}", details={"config_id": code.config_id})
        db.session.delete(code)
