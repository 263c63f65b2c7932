"""Channels (渠道活码): contact ways created, changed and deleted in WeCom through the gateway, imported, measured."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from app.contacts.models import FollowRelation, Staff
from app.core import wecom_ways
from app.core.audit import record
from app.core.bounds import MAX_DB_ID
from app.core.db import transaction, utcnow
from app.core.errors import FieldErrors
from app.core.permissions import N_
from app.extensions import db
from app.referral.reconcile import inviter_config_ids, inviter_way
from app.tags.models import CorpTag
from app.tags.read_only import refusal
from app.wecom.connection import gateway
from app.welcome.models import Channel, WelcomeTemplate

MAX_USERS = 100  # WeCom: at most 100 members per contact way
QR_SCENE = 2
WORDING = wecom_ways.Wording(name=N_("请填写渠道名称（最多 64 个字）"), state=N_("请填写渠道标识 state（最多 30 个字符）"),
                             taken=N_("这个渠道标识已被另一个渠道使用"))
# Contact ways the console makes for its other features, with why the import leaves them out: they are not channels
# (WeCom lists them among the corp's ways all the same). Each by the module that makes them: which of the listed
# config_ids it holds (left out without a WeCom call), and the rule that recognises, on get_contact_way's answer, a
# way it made but does not hold.
NOT_CHANNELS = ((inviter_config_ids, inviter_way, N_("任务宝为邀请人生成的专属活码")),)
READING = N_("正在读取企业微信的联系我配置")


class ChannelInvalid(FieldErrors):
    """A channel the console refuses to create or change."""


@dataclass
class ChannelInput:
    name: str
    state: str
    userids: list[str]
    skip_verify: bool = True
    tag_ids: list[str] = field(default_factory=list)
    template_id: int | None = None


def new_state() -> str:
    """A fresh state suggestion for a new channel."""
    return wecom_ways.new_state("ch-")


def _validate(data: ChannelInput, channel: Channel | None) -> None:
    errors: dict[str, str | tuple[str, dict]] = {}
    wecom_ways.check_name_and_state(errors, Channel, channel, data.name, data.state, WORDING)
    known = set(db.session.scalars(select(Staff.userid).where(Staff.userid.in_(data.userids),
                                                              Staff.is_follow_user.is_(True))))
    if not data.userids:
        errors["userids"] = N_("至少选择一位员工")
    elif len(data.userids) > MAX_USERS:
        errors["userids"] = N_("一个活码最多 100 位员工")
    elif set(data.userids) - known:
        errors["userids"] = N_("只能选择有客户联系权限的员工")
    elif channel is not None and channel.type == 1 and len(data.userids) != 1:
        errors["userids"] = N_("单人活码只能有一位员工；需要多位员工请新建一个多人活码")
    if set(data.tag_ids) - set(db.session.scalars(select(CorpTag.tag_id).where(
            CorpTag.tag_id.in_(data.tag_ids), CorpTag.deleted_at.is_(None)))):
        errors["tag_ids"] = N_("有的标签已在企业微信删除，请重新选择")
    elif refused := refusal(data.tag_ids):
        errors["tag_ids"] = refused
    if data.template_id is not None and not (0 < data.template_id <= MAX_DB_ID
                                             and db.session.get(WelcomeTemplate, data.template_id)):
        errors["template_id"] = N_("欢迎语不存在")
    if errors:
        raise ChannelInvalid(errors)


def create(data: ChannelInput) -> Channel:
    """add_contact_way (QR, single or multi staff), then keep it here; WeCom's config is removed if saving fails."""
    _validate(data, None)
    kind = 1 if len(data.userids) == 1 else 2
    answer = gateway().add_contact_way(kind, QR_SCENE, state=data.state, user=data.userids,
                                       skip_verify=data.skip_verify, remark=data.name[:wecom_ways.MAX_REMARK])
    try:
        with transaction():
            channel = Channel(name=data.name.strip(), config_id=answer["config_id"], state=data.state, type=kind,
                              userids=list(data.userids), skip_verify=data.skip_verify,
                              qr_code=answer.get("qr_code") or "", tag_ids=list(data.tag_ids),
                              template_id=data.template_id, source="console")
            db.session.add(channel)
            db.session.flush()
            record("welcome.channel_created", target=f"{channel.name}#{channel.id}",
                   details={"config_id": channel.config_id, "state": channel.state})
    except Exception:
        gateway().del_contact_way(answer["config_id"])
        raise
    return channel


def update(channel: Channel, data: ChannelInput) -> None:
    """update_contact_way with the new staff, state and verification, then save the rest here."""
    _validate(data, channel)
    gateway().update_contact_way(channel.config_id, state=data.state, user=data.userids,
                                 skip_verify=data.skip_verify, remark=data.name[:wecom_ways.MAX_REMARK])
    with transaction():
        channel.name, channel.state, channel.userids = data.name.strip(), data.state, list(data.userids)
        channel.skip_verify, channel.tag_ids = data.skip_verify, list(data.tag_ids)
        channel.template_id = data.template_id
        channel.updated_at = utcnow()
        record("welcome.channel_updated", target=f"{channel.name}#{channel.id}")


def delete(channel: Channel) -> None:
    """del_contact_way (a config WeCom no longer knows counts as deleted), then forget the channel."""
    wecom_ways.delete_in_wecom(gateway().del_contact_way, channel.config_id)
    with transaction():
        record("welcome.channel_deleted", target=f"{channel.name}#{channel.id}",
               details={"config_id": channel.config_id})
        db.session.delete(channel)


@dataclass
class ImportResult:
    added: int = 0
    known: int = 0
    state_taken: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # why (a msgid of NOT_CHANNELS) -> ways left out


def _not_a_channel(way: dict) -> str | None:
    """Why a way is not a channel (another console feature made it), None for a channel."""
    return next((why for _, made_by, why in NOT_CHANNELS if made_by(way)), None)


def import_from_wecom(progress=None, started_by: str | None = None) -> ImportResult:
    """Contact ways made in WeCom (list_contact_way: the last 90 days) become channels; known ones are left alone, and
    so are the ways other console features made (NOT_CHANNELS), counted with why: only the ways nobody here holds
    are read with get_contact_way. `progress(done, total, message)` is told before each way; `started_by` (who asked
    for the import, run by the worker) goes into the audit entry."""
    api, result = gateway(), ImportResult()
    listed = [item["config_id"] for item in api.iter_contact_ways()]
    known = set(db.session.scalars(select(Channel.config_id)))
    held = {config_id: why for held_by, _, why in NOT_CHANNELS for config_id in held_by(listed)}
    ways = []
    for done, config_id in enumerate(listed):
        if progress:
            progress(done, len(listed), READING)
        if config_id in known:
            result.known += 1
            continue
        why = held.get(config_id)
        if why is None:
            way = api.get_contact_way(config_id)
            if (why := _not_a_channel(way)) is None:
                ways.append(way)
                continue
        result.skipped[why] = result.skipped.get(why, 0) + 1
    with transaction():
        states = set(db.session.scalars(select(Channel.state).where(Channel.state.is_not(None))))
        for way in ways:
            state = way.get("state") or None
            if state in states:
                result.state_taken.append(state)
                state = None
            states.add(state)
            db.session.add(Channel(
                name=way.get("remark") or way.get("state") or way["config_id"][:12], config_id=way["config_id"],
                state=state, type=int(way.get("type") or 1), userids=list(way.get("user") or []),
                skip_verify=bool(way.get("skip_verify", True)), qr_code=way.get("qr_code") or "",
                source="wecom"))
            result.added += 1
        record("welcome.channels_imported", details={"added": result.added, "known": result.known,
                                                      "skipped": result.skipped, "started_by": started_by})
    return result


def run_import(job, started_by: str) -> dict:
    """The job kind welcome.channel_import: the import in the worker; its result is what the channels page shows."""
    return asdict(import_from_wecom(job.progress, started_by))


@dataclass
class ChannelStats:
    adds: int = 0
    eligible_1d: int = 0   # added at least a day ago
    kept_1d: int = 0       # ... and still friends a day after the add
    eligible_7d: int = 0
    kept_7d: int = 0
    lost: int = 0          # the relation has ended (either side)

    @staticmethod
    def rate(kept: int, eligible: int) -> float | None:
        return kept / eligible if eligible else None


def stats(states: list[str], now: datetime | None = None) -> dict[str, ChannelStats]:
    """Per state: adds, kept after 1 and 7 days (of those old enough), lost; from the follow relations."""
    now = now or utcnow()
    result = {state: ChannelStats() for state in states}
    rows = db.session.execute(select(FollowRelation.state, FollowRelation.added_at, FollowRelation.ended_at)
                              .where(FollowRelation.state.in_(states)))
    for state, added_at, ended_at in rows:
        s = result[state]
        s.adds += 1
        s.lost += ended_at is not None
        if added_at is None:
            continue
        for days, eligible, kept in ((1, "eligible_1d", "kept_1d"), (7, "eligible_7d", "kept_7d")):
            mark = added_at + timedelta(days=days)
            if mark <= now:
                setattr(s, eligible, getattr(s, eligible) + 1)
                setattr(s, kept, getattr(s, kept) + (ended_at is None or ended_at > mark))
    return result
