"""Console settings kept in the database (WeCom credentials, timezone, receive rule); secrets encrypted at rest."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, available_timezones

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db

RECEIVE_RULES = {
    "month": N_("每月最多接收当月天数条"),
    "week": N_("每周最多接收 7 条"),
    "day": N_("每天最多接收 1 条"),
}


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    config_default: str | None  # the config (environment) value used until someone saves one
    secret: bool = False


SPECS = {s.key: s for s in (
    SettingSpec("wecom.corp_id", N_("企业 ID (CorpID)"), "WECOM_CORP_ID"),
    SettingSpec("wecom.secret", N_("应用 Secret"), "WECOM_SECRET", secret=True),
    SettingSpec("wecom.agent_id", N_("应用 AgentId"), "WECOM_AGENT_ID"),
    SettingSpec("wecom.token", N_("回调 Token"), "WECOM_TOKEN", secret=True),
    SettingSpec("wecom.aes_key", N_("回调 EncodingAESKey"), "WECOM_AES_KEY", secret=True),
    SettingSpec("timezone", N_("企业时区"), "SCRM_TIMEZONE"),
    SettingSpec("console.url", N_("控制台访问地址"), "SCRM_PUBLIC_URL"),
    SettingSpec("wecom.receive_rule", N_("客户群发接收规则"), None),
)}
DEFAULTS = {"wecom.receive_rule": "month"}


class Setting(db.Model):
    """One stored setting; secret values are Fernet-encrypted with a key derived from SECRET_KEY."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class SettingsError(UserError):
    """A settings change was refused; the message names the field and why."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def get(key: str) -> str:
    """The effective value: the saved one, else the configuration's, else the built-in default."""
    spec = SPECS[key]
    row = db.session.get(Setting, key)
    if row is not None:
        if not spec.secret:
            return row.value
        try:
            return _fernet().decrypt(row.value.encode()).decode()
        except InvalidToken:
            raise SettingsError(N_("%(key)s 无法解密（SECRET_KEY 可能已更换），请在设置页重新填写"), key=key) from None
    if spec.config_default:
        return current_app.config.get(spec.config_default) or DEFAULTS.get(key, "")
    return DEFAULTS.get(key, "")


def masked(value: str) -> str:
    """A secret shown back: never in full, only enough to recognise it."""
    if not value:
        return ""
    if len(value) <= 8:
        return "•" * len(value)
    return "•" * 8 + value[-4:]


def _validate(key: str, value: str) -> str:
    value = value.strip()
    if key == "timezone" and value not in available_timezones():
        raise SettingsError(N_("时区 %(value)s 无效，例如 Asia/Shanghai"), value=repr(value))
    if key == "wecom.receive_rule" and value not in RECEIVE_RULES:
        raise SettingsError(N_("接收规则只能是 month、week 或 day"))
    if key == "wecom.aes_key" and value and (len(value) != 43 or not value.isalnum()):
        raise SettingsError(N_("EncodingAESKey 必须是 43 位字母或数字"))
    if key == "wecom.agent_id" and value and not value.isdigit():
        raise SettingsError(N_("AgentId 必须是数字"))
    if key == "console.url" and value and (not value.startswith(("https://", "http://")) or " " in value):
        raise SettingsError(N_("控制台访问地址必须以 https:// 或 http:// 开头，例如 https://scrm.example.com"))
    if len(value) > 512:
        raise SettingsError(N_("%(key)s 过长"), key=key)
    return value


def save(changes: dict[str, str], actor_name: str) -> list[str]:
    """Validate and store changed settings in one transaction; audit which keys changed, never secret values."""
    clean = {key: _validate(key, value) for key, value in changes.items()}
    changed: list[str] = []
    with transaction():
        for key, value in clean.items():
            spec = SPECS[key]
            if get(key) == value:
                continue
            stored = _fernet().encrypt(value.encode()).decode() if spec.secret else value
            row = db.session.get(Setting, key)
            if row is None:
                db.session.add(Setting(key=key, value=stored, updated_by=actor_name))
            else:
                row.value, row.updated_by = stored, actor_name
            changed.append(key)
        if changed:
            shown = {k: ("(secret)" if SPECS[k].secret else clean[k]) for k in changed}
            record("settings.changed", target=",".join(changed), details=shown)
    return changed


def corp_timezone() -> ZoneInfo:
    return ZoneInfo(get("timezone") or "Asia/Shanghai")


def start_of_corp_day(text: str | None) -> datetime | None:
    """The start of a YYYY-MM-DD day in the corp's timezone (form filters); None when blank or not a date."""
    try:
        day = datetime.strptime(text or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.min, tzinfo=corp_timezone())


def stored_keys() -> set[str]:
    return set(db.session.scalars(select(Setting.key)))
