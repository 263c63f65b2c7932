"""The stage settings: which interactions count, the day thresholds, and an optional value filter per silent stage."""
from __future__ import annotations

import copy
from typing import Any, Mapping

from sqlalchemy import select

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.lifecycle.labels import STAGE_LABELS
from app.lifecycle.models import DEEP_DORMANT, DORMANT, STAGES, WARNING, LifecycleSettings
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS

SILENT = (WARNING, DORMANT, DEEP_DORMANT)  # the stages entered by days of silence, in order

# The interactions a customer's last interaction is taken from (each switchable).
SIGNAL_LABELS = {
    "order": N_("支付订单"),
    "event": N_("商城/小程序行为（/api/v1/events）"),
    "group_join": N_("加入客户群"),
    "added": N_("添加员工（渠道活码、欢迎语、裂变邀请）"),
    "consent": N_("同意会话存档"),
}
NO_FILTER, BELOW_MEAN, SEGMENT, CLASS8 = "none", "below_mean", "segment", "class8"
FILTER_LABELS = {NO_FILTER: N_("不限"), BELOW_MEAN: N_("客单价低于平均"), SEGMENT: N_("RFM 分层属于"),
                 CLASS8: N_("RFM 八类属于")}
FILTER_VALUES = {SEGMENT: SEGMENT_LABELS, CLASS8: CLASS_LABELS}
MAX_DAYS = 3650
assert tuple(STAGE_LABELS) == STAGES

DEFAULTS: dict[str, Any] = {
    "signals": {key: True for key in SIGNAL_LABELS},
    "thresholds": {WARNING: 21, DORMANT: 30, DEEP_DORMANT: 90},
    "filters": {stage: {"kind": NO_FILTER, "values": []} for stage in SILENT},
}


class ConfigError(UserError):
    """Settings that cannot be saved; nothing changed."""


def current() -> dict[str, Any]:
    """The settings in force: the saved ones over the defaults."""
    row = db.session.scalar(select(LifecycleSettings).limit(1))
    merged = copy.deepcopy(DEFAULTS)
    for part in merged:
        merged[part].update((row.config or {}).get(part, {}) if row else {})
    return merged


def enabled_signals(config: Mapping[str, Any]) -> list[str]:
    return [key for key in SIGNAL_LABELS if config["signals"].get(key)]


def _days(stage: str, raw: Any) -> int:
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise ConfigError(N_("「%(stage)s」的天数需为整数"), stage=STAGE_LABELS[stage]) from None
    if not 1 <= days <= MAX_DAYS:
        raise ConfigError(N_("「%(stage)s」的天数需在 1 到 3650 之间"), stage=STAGE_LABELS[stage])
    return days


def validate(signals: Mapping[str, bool], thresholds: Mapping[str, Any],
             filters: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Clean settings, or ConfigError naming the field: thresholds rise strictly from 预警 to 深度沉睡, a filter names
    known segments or classes."""
    days = {stage: _days(stage, thresholds.get(stage, "")) for stage in SILENT}
    if not days[WARNING] < days[DORMANT] < days[DEEP_DORMANT]:
        raise ConfigError(N_("天数需逐级增加：预警 < 沉睡 < 深度沉睡"))
    clean_filters = {}
    for stage in SILENT:
        given = filters.get(stage) or {}
        kind = given.get("kind") or NO_FILTER
        if kind not in FILTER_LABELS:
            raise ConfigError(N_("「%(stage)s」的条件无效"), stage=STAGE_LABELS[stage])
        values = [v for v in given.get("values") or [] if v]
        if kind in FILTER_VALUES:
            unknown = [v for v in values if v not in FILTER_VALUES[kind]]
            if unknown or not values:
                raise ConfigError(N_("「%(stage)s」的条件需至少选择一项，且只能选列出的分层或类别"),
                                  stage=STAGE_LABELS[stage])
        else:
            values = []
        clean_filters[stage] = {"kind": kind, "values": values}
    return {"signals": {key: bool(signals.get(key)) for key in SIGNAL_LABELS}, "thresholds": days,
            "filters": clean_filters}


def save(config: dict[str, Any], actor: str) -> bool:
    """Store validated settings (see `validate`); audited; False when nothing changed."""
    if config == current():
        return False
    with transaction():
        row = db.session.scalar(select(LifecycleSettings).limit(1))
        if row is None:
            row = LifecycleSettings(config=config)
            db.session.add(row)
        row.config, row.updated_at, row.updated_by = config, utcnow(), actor
        record("lifecycle.settings_changed", target="lifecycle", details=config)
    return True
