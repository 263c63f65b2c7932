"""Tag rules created, changed, switched on or off and deleted (audited); the rules and their owed marks listed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.segments.service import validate
from app.tags.models import CorpTag, CorpTagGroup, TagRule, TagRuleFailure
from app.tags.read_only import READ_ONLY_GROUPS, refusal
from app.tags.rules import clear_failures

MAX_NAME = 64


class RuleSaveError(UserError):
    """The rule cannot be saved as given; nothing changed."""


@dataclass
class RuleRow:
    rule: TagRule
    tag_name: str
    group_name: str
    owed: int


def rule_rows() -> list[RuleRow]:
    """Every rule with its tag's name and how many marks it still owes."""
    owed = dict(db.session.execute(select(TagRuleFailure.rule_id, func.count()).group_by(TagRuleFailure.rule_id)).all())
    tags = {t: (n, g) for t, n, g in db.session.execute(select(CorpTag.tag_id, CorpTag.name, CorpTagGroup.name).join(
        CorpTagGroup, CorpTagGroup.group_id == CorpTag.group_id).where(CorpTag.deleted_at.is_(None)))}
    return [RuleRow(r, *tags.get(r.tag_id, ("", "")), owed.get(r.id, 0))
            for r in db.session.scalars(select(TagRule).order_by(TagRule.id))]


def tag_choices(rule_id: int | None = None) -> list[tuple[str, str, str]]:
    """Tags a rule may maintain: current, outside the groups a job writes (RFM, 生命周期), not maintained by another rule."""
    taken = set(db.session.scalars(select(TagRule.tag_id).where(TagRule.id != (rule_id or 0))))
    rows = db.session.execute(select(CorpTag.tag_id, CorpTag.name, CorpTagGroup.name).join(
        CorpTagGroup, CorpTagGroup.group_id == CorpTag.group_id).where(
        CorpTag.deleted_at.is_(None), CorpTagGroup.deleted_at.is_(None), CorpTagGroup.name.not_in(READ_ONLY_GROUPS))
        .order_by(CorpTagGroup.order.desc(), CorpTagGroup.id, CorpTag.order.desc(), CorpTag.id))
    return [row for row in rows if row[0] not in taken]


def failures(rule_id: int, limit: int = 200) -> list[TagRuleFailure]:
    return list(db.session.scalars(select(TagRuleFailure).where(TagRuleFailure.rule_id == rule_id)
                                   .order_by(TagRuleFailure.failed_at.desc()).limit(limit)))


def save(rule_id: int | None, name: str, tag_id: str, rule: dict[str, Any], enabled: bool, actor: str) -> TagRule:
    """Create (rule_id None) or change a rule; RuleSaveError / the segment's RuleError when it cannot be saved."""
    name = name.strip()
    if not name:
        raise RuleSaveError(N_("请填写规则名称"))
    if len(name) > MAX_NAME:
        raise RuleSaveError(N_("规则名称最多 %(max)s 个字"), max=MAX_NAME)
    if refused := refusal([tag_id]):
        raise RuleSaveError(refused[0], **refused[1])
    if tag_id not in {t for t, _, _ in tag_choices(rule_id)}:
        raise RuleSaveError(N_("请选择一个标签：须是现有标签，不属于 RFM 或生命周期标签组（它们由系统自动写入），且没有被其他规则维护"))
    validate(rule)
    with transaction():
        row = db.session.get(TagRule, rule_id) if rule_id else None
        if rule_id and row is None:
            raise RuleSaveError(N_("规则不存在或已被删除"))
        if row is None:
            row = TagRule(created_by=actor, last_result={})
            db.session.add(row)
        elif row.tag_id != tag_id:
            clear_failures(row.id)
        row.name, row.tag_id, row.rule, row.enabled, row.updated_at = name, tag_id, rule, enabled, utcnow()
        db.session.flush()
        record("tags.rule_saved", target=f"tag-rule#{row.id}",
               details={"name": name, "tag_id": tag_id, "rule": rule, "enabled": enabled, "new": not rule_id})
    return row


def set_enabled(rule_id: int, enabled: bool) -> TagRule:
    with transaction():
        row = db.session.get(TagRule, rule_id)
        if row is None:
            raise RuleSaveError(N_("规则不存在或已被删除"))
        row.enabled, row.updated_at = enabled, utcnow()
        record("tags.rule_enabled" if enabled else "tags.rule_disabled", target=f"tag-rule#{row.id}",
               details={"name": row.name})
    return row


def remove(rule_id: int) -> str:
    """Delete a rule (customers keep the tag; it is simply no longer maintained); returns its name."""
    with transaction():
        row = db.session.get(TagRule, rule_id)
        if row is None:
            raise RuleSaveError(N_("规则不存在或已被删除"))
        clear_failures(row.id)
        record("tags.rule_deleted", target=f"tag-rule#{row.id}", details={"name": row.name, "tag_id": row.tag_id})
        db.session.delete(row)
        return row.name

