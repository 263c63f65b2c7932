"""Follow-up rules (跟进规则): saving them, and the job (tasks.rules, every 5 minutes) that turns what happened to
customers into tasks — a tag added to a relation (e.g. 高意向 → that staff member follows up within 24 h), a customer
entering a lifecycle stage (e.g. a 不能失去 customer entered 沉睡 → 1:1 care within 24 h)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, literal, select, text

from app.contacts.models import FollowRelation
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.lifecycle import movements as lifecycle
from app.lifecycle.models import STAGES, StageMovement
from app.rfm.models import CustomerRfmScore
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.tags.models import CorpTag
from app.tasks.models import FOLLOWUP_RULE, FollowupRule, FollowupRuleHit
from app.tasks.service import create_task

TAG_ADDED, STAGE_ENTERED = "tag_added", "stage_entered"
TRIGGERS = {TAG_ADDED: N_("客户被打上标签"), STAGE_ENTERED: N_("客户进入生命周期阶段")}
MAX_DUE_HOURS = 24 * 30
MOVEMENTS_PER_RUN = 5000


class RuleError(UserError):
    """A follow-up rule refused; the message names the field."""


def _tagged(tag_id: str):
    """Current relations carrying the tag (JSON list `tag_ids`; PostgreSQL uses its GIN index)."""
    if db.session.get_bind().dialect.name == "postgresql":
        has = text("CAST(follow_relations.tag_ids AS jsonb) @> CAST(:tag_list AS jsonb)").bindparams(
            tag_list=f'["{tag_id}"]')
    else:
        has = exists(select(literal(1)).select_from(func.json_each(FollowRelation.tag_ids).table_valued("value"))
                     .where(text("value = :tag_value").bindparams(tag_value=tag_id)))
    return select(FollowRelation.userid, FollowRelation.external_userid).where(
        FollowRelation.ended_at.is_(None), has)


def save_rule(*, name: str, trigger: str, due_hours: int, task_title: str, task_body: str = "",
              tag_id: str | None = None, stage: str | None = None, rfm_filter: str | None = None,
              actor: str) -> FollowupRule:
    """A new enabled rule; what is true already (relations with the tag, movements so far) never fires it."""
    name, task_title = (name or "").strip(), (task_title or "").strip()
    if not name or len(name) > 64:
        raise RuleError(N_("规则名称必填，最多 64 个字"))
    if trigger not in TRIGGERS:
        raise RuleError(N_("触发条件无效"))
    if not isinstance(due_hours, int) or not 1 <= due_hours <= MAX_DUE_HOURS:
        raise RuleError(N_("跟进时限必须是 1 到 %(n)s 小时"), n=MAX_DUE_HOURS)
    if not task_title or len(task_title) > 128:
        raise RuleError(N_("任务标题必填，最多 128 个字"))
    if trigger == TAG_ADDED and (not tag_id or db.session.scalar(select(CorpTag.id).where(
            CorpTag.tag_id == tag_id, CorpTag.deleted_at.is_(None))) is None):
        raise RuleError(N_("请选择一个已有的标签"))
    if trigger == STAGE_ENTERED and stage not in STAGES:
        raise RuleError(N_("请选择一个生命周期阶段"))
    if rfm_filter and rfm_filter not in SEGMENT_LABELS and rfm_filter not in CLASS_LABELS:
        raise RuleError(N_("RFM 分层或八类无效"))
    with transaction():
        rule = FollowupRule(name=name, trigger=trigger, due_hours=due_hours, task_title=task_title,
                            task_body=task_body or "", tag_id=tag_id if trigger == TAG_ADDED else None,
                            stage=stage if trigger == STAGE_ENTERED else None, rfm_filter=rfm_filter or None,
                            enabled=True, created_by=actor[:64], watermark=lifecycle.last_id())
        db.session.add(rule)
        db.session.flush()
        if trigger == TAG_ADDED:
            now = utcnow()
            for userid, external_userid in db.session.execute(_tagged(tag_id)).all():
                db.session.add(FollowupRuleHit(rule_id=rule.id, userid=userid, external_userid=external_userid,
                                               since=now))
        record("tasks.rule_saved", target=f"followup_rule#{rule.id}",
               details={"name": name, "trigger": trigger, "tag_id": tag_id, "stage": stage, "due_hours": due_hours})
    return rule


def set_enabled(rule_id: int, enabled: bool, actor: str) -> None:
    with transaction():
        rule = db.session.get(FollowupRule, rule_id)
        if rule is None:
            raise RuleError(N_("规则不存在"))
        rule.enabled = enabled
        record("tasks.rule_saved", target=f"followup_rule#{rule.id}", details={"enabled": enabled, "by": actor})


def _in_filter(rule: FollowupRule, external_userids: list[str]) -> set[str]:
    if not rule.rfm_filter:
        return set(external_userids)
    column = CustomerRfmScore.segment if rule.rfm_filter in SEGMENT_LABELS else CustomerRfmScore.class8
    return set(db.session.scalars(select(CustomerRfmScore.external_userid).where(
        CustomerRfmScore.external_userid.in_(external_userids), column == rule.rfm_filter)))


def _task(rule: FollowupRule, userid: str, external_userid: str, key: str, started: datetime):
    return create_task(userid, rule.task_title, started + timedelta(hours=rule.due_hours), source=FOLLOWUP_RULE,
                       source_key=key, body=rule.task_body, external_userid=external_userid,
                       created_by=f"rule:{rule.id}")


def _run_tag_rule(rule: FollowupRule) -> int:
    """Tasks for relations that got the tag since the last run; relations that lost it may fire again later."""
    now = utcnow()
    with transaction():
        current = set(db.session.execute(_tagged(rule.tag_id)).all())
        hits = {(h.userid, h.external_userid): h for h in db.session.scalars(
            select(FollowupRuleHit).where(FollowupRuleHit.rule_id == rule.id))}
        gone = [h.id for key, h in hits.items() if key not in current]
        if gone:
            db.session.execute(delete(FollowupRuleHit).where(FollowupRuleHit.id.in_(gone)))
        new = sorted(current - set(hits))
        wanted = _in_filter(rule, [e for _u, e in new])
        created = 0
        for userid, external_userid in new:
            hit = FollowupRuleHit(rule_id=rule.id, userid=userid, external_userid=external_userid, since=now)
            if external_userid in wanted:
                key = f"followup:{rule.id}:{userid}:{external_userid}:{int(now.timestamp())}"
                hit.task_id = _task(rule, userid, external_userid, key, now).id
                created += 1
            db.session.add(hit)
    return created


def _owner(external_userid: str) -> str | None:
    """The customer's first-added current staff member."""
    return db.session.scalar(select(FollowRelation.userid).where(
        FollowRelation.external_userid == external_userid, FollowRelation.ended_at.is_(None))
        .order_by(FollowRelation.added_at.is_(None), FollowRelation.added_at, FollowRelation.id).limit(1))


def _run_stage_rule(rule: FollowupRule) -> int:
    """Tasks for customers who entered the rule's stage after its watermark; the SLA runs from the movement."""
    with transaction():
        moved = list(db.session.scalars(select(StageMovement).where(StageMovement.id > rule.watermark)
                                        .order_by(StageMovement.id).limit(MOVEMENTS_PER_RUN)))
        entering = [m for m in moved if m.to_stage == rule.stage]
        wanted = _in_filter(rule, [m.external_userid for m in entering])
        created = 0
        for movement in entering:
            owner = _owner(movement.external_userid) if movement.external_userid in wanted else None
            if owner:
                _task(rule, owner, movement.external_userid, f"followup:{rule.id}:movement:{movement.id}",
                      movement.at)
                created += 1
        if moved:
            db.session.get(FollowupRule, rule.id, with_for_update=True).watermark = moved[-1].id
    return created


def run_job() -> dict:
    """Every enabled rule once; the tasks created per rule id."""
    created = {}
    for rule in db.session.scalars(select(FollowupRule).where(FollowupRule.enabled.is_(True))
                                   .order_by(FollowupRule.id)).all():
        run = _run_tag_rule if rule.trigger == TAG_ADDED else _run_stage_rule
        created[str(rule.id)] = run(rule)
    return {"created": created}
