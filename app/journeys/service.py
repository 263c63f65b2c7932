"""A journey's use cases: create (blank or from a template), edit the draft, submit and approve a version (the only
way content starts to run), pause and resume, archive. Every change is a row of the version history."""
from __future__ import annotations

from sqlalchemy import select, update

from app.core import audit
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.journeys import spec as specs, versions
from app.journeys.models import EntryStatus, Journey, JourneyEntry, JourneyStatus as S, JourneyVersion
from app.tags.models import CorpTag, TagRule
from app.tags.read_only import refusal
from app.wordlist import service as words


HISTORY_LABELS = {"saved": N_("保存草稿"), "submitted": N_("提交"), "approved": N_("批准并运行"), "rejected": N_("驳回"),
                  "commented": N_("审批留言"), "paused": N_("暂停"), "resumed": N_("恢复"), "archived": N_("归档")}


class JourneyError(UserError):
    """A change the rules refuse; the message says why."""


def _history(journey: Journey, action: str, actor: str, comment: str = "", spec: dict | None = None) -> None:
    db.session.add(JourneyVersion(journey_id=journey.id, version=journey.version, action=action, spec=spec,
                                  actor=actor, comment=comment))
    audit.record(f"journeys.{action}", target=f"journey:{journey.id}",
                 details={"version": journey.version, "comment": comment})


def _check_words(spec: dict) -> None:
    for number, step in enumerate(spec["steps"], start=1):
        texts = [step.get("text") or "", step.get("title") or ""]
        hits = [h for text in texts for h in words.find(text)]
        if hits:
            raise JourneyError(N_("第 %(n)s 步含敏感词：%(words)s，请修改后再保存"), n=number, words=words.named(hits))


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise JourneyError(N_("旅程名称必填，最多 64 个字"))
    return name


def create(name: str, template: str | None, actor: str) -> Journey:
    """A draft journey, from a built-in template or blank (one wait step to start from)."""
    if template:
        default_name, spec = specs.template(template)
    else:
        default_name, spec = "", specs.check({"trigger": {"kind": "first_order"},
                                              "steps": [{"kind": "wait", "days": 1}], "exits": ["order"]})
    with transaction():
        journey = Journey(name=_name(name or default_name), template=template, draft=spec, created_by=actor)
        db.session.add(journey)
        db.session.flush()
        _history(journey, "saved", actor, spec=spec)
    return journey


def save(journey: Journey, name: str, raw: dict, actor: str) -> Journey:
    """Store an edited draft as a new version; what runs (the live version) is untouched until approved."""
    spec = specs.check(raw)
    _check_words(spec)
    _check_tags(spec)
    name = _name(name)
    if journey.status == S.ARCHIVED:
        raise JourneyError(N_("已归档的旅程不能修改"))
    if spec == journey.draft and name == journey.name:
        return journey
    with transaction():
        journey.name, journey.draft, journey.updated_at = name, spec, utcnow()
        journey.version += 1
        if journey.status == S.PENDING_APPROVAL or journey.pending_version is not None:
            journey.pending_version = None  # the version under review was replaced: review again
            if journey.status == S.PENDING_APPROVAL:
                journey.status = S.DRAFT
        _history(journey, "saved", actor, spec=spec)
    return journey


def _check_tags(spec: dict) -> None:
    """A tag step names a current corp tag that a person may set: not one the RFM or lifecycle jobs write, nor one
    a tag rule keeps in line with its condition."""
    used = specs.tags_used(spec)
    if not used:
        return
    known = set(db.session.scalars(select(CorpTag.tag_id).where(CorpTag.tag_id.in_(used),
                                                                CorpTag.deleted_at.is_(None))))
    if missing := [t for t in used if t not in known]:
        raise JourneyError(N_("打标签步骤中的标签不存在或已在企业微信删除：%(tags)s"), tags="、".join(missing))
    if refused := refusal(used):
        raise JourneyError(refused[0], **refused[1])
    if ruled := list(db.session.scalars(select(CorpTag.name).join(TagRule, TagRule.tag_id == CorpTag.tag_id)
                                        .where(CorpTag.tag_id.in_(used)))):
        raise JourneyError(N_("「%(tags)s」由标签规则维护（规则会按条件改回去），旅程不能打上或移除它"), tags="」「".join(ruled))


def _go_live(journey: Journey, actor: str) -> None:
    """The draft becomes the running version; customers already in the journey carry on by step identity. The
    journey's row is locked first, as the runner does before a step (runner.run_step), so neither waits on the other
    holding entries."""
    db.session.execute(select(Journey.id).where(Journey.id == journey.id).with_for_update())
    versions.carry(journey, journey.live, journey.draft, journey.version)
    journey.live, journey.live_version, journey.pending_version = journey.draft, journey.version, None
    if journey.status in (S.DRAFT, S.PENDING_APPROVAL):
        journey.status = S.ACTIVE
    journey.started_at = journey.started_at or utcnow()
    _history(journey, "approved", actor, spec=journey.draft)


def submit(journey: Journey, actor: str, may_approve: bool) -> Journey:
    """Ask for the draft to run. Someone who may approve sends (主管) approves it at once, recorded as their
    approval; anyone else's version waits for a supervisor. The live version keeps running meanwhile."""
    if journey.status == S.ARCHIVED:
        raise JourneyError(N_("已归档的旅程不能提交"))
    if journey.live_version == journey.version:
        raise JourneyError(N_("当前版本已经在运行"))
    spec = specs.check(journey.draft)
    _check_words(spec)
    _check_tags(spec)
    with transaction():
        _history(journey, "submitted", actor)
        if may_approve:
            _go_live(journey, actor)
        else:
            journey.pending_version = journey.version
            if journey.status == S.DRAFT:
                journey.status = S.PENDING_APPROVAL
    return journey


def approve(journey: Journey, actor: str, may_approve: bool, version: int, comment: str = "") -> Journey:
    if not may_approve:
        raise JourneyError(N_("您的角色不能审批旅程"))
    if journey.pending_version is None:
        raise JourneyError(N_("这个旅程没有待审批的版本"))
    if version != journey.version:
        raise JourneyError(N_("旅程在您查看后又被修改（现在是第 %(v)s 版），请重新查看后再审批"), v=journey.version)
    with transaction():
        _go_live(journey, actor)
        if comment:
            _history(journey, "commented", actor, comment)
    return journey


def reject(journey: Journey, actor: str, may_approve: bool, comment: str) -> Journey:
    if not may_approve:
        raise JourneyError(N_("您的角色不能审批旅程"))
    if journey.pending_version is None:
        raise JourneyError(N_("这个旅程没有待审批的版本"))
    if not comment.strip():
        raise JourneyError(N_("驳回时请写明原因"))
    with transaction():
        journey.pending_version = None
        if journey.status == S.PENDING_APPROVAL:
            journey.status = S.DRAFT
        _history(journey, "rejected", actor, comment.strip())
    return journey


def pause(journey: Journey, actor: str, reason: str) -> Journey:
    """Stop entering and running steps (exits still apply); planned messages not yet handed to WeCom are vetoed."""
    if journey.status != S.ACTIVE:
        raise JourneyError(N_("只有运行中的旅程可以暂停"))
    with transaction():
        journey.status, journey.paused_reason = S.PAUSED, reason
        _history(journey, "paused", actor, reason)
    return journey


def resume(journey: Journey, actor: str) -> Journey:
    if journey.status != S.PAUSED:
        raise JourneyError(N_("只有已暂停的旅程可以恢复"))
    with transaction():
        journey.status, journey.paused_reason = S.ACTIVE, None
        _history(journey, "resumed", actor)
    return journey


def archive(journey: Journey, actor: str) -> Journey:
    if journey.status == S.ARCHIVED:
        raise JourneyError(N_("旅程已经归档"))
    with transaction():
        journey.status = S.ARCHIVED
        db.session.execute(update(JourneyEntry).where(JourneyEntry.journey_id == journey.id,
                                                      JourneyEntry.status == EntryStatus.ACTIVE)
                           .values(status=EntryStatus.EXITED, exit_reason="archived", ended_at=utcnow()),
                           execution_options={"synchronize_session": False})
        _history(journey, "archived", actor)
    return journey


def history(journey_id: int) -> list[JourneyVersion]:
    return list(db.session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id)
                                   .order_by(JourneyVersion.id.desc())))


def all_journeys() -> list[Journey]:
    return list(db.session.scalars(select(Journey).order_by(Journey.id.desc())))
