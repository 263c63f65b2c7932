"""Creating and editing a campaign from its spec (the editor's and the API's shape): every problem at once, audited.

A spec is ``{"name", "category", "chat_type", "segment_id" | "audience_rule", "group_filter", "content",
"variants", "holdout_percent", "schedule": {"kind", "run_at", "time_of_day", "weekdays", "ends_on"},
"sender_userids", "sender_department_ids", "attribution_days"}``. Every save bumps the version; a campaign
that was approved (or waiting for approval) goes back to draft and must be submitted again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import delete, select

from app.campaigns.models import (CATEGORY_LABELS, CHAT_TYPE_LABELS, SCHEDULE_LABELS, Campaign, CampaignStatus as S,
                                  CampaignVariant)
from app.campaigns.execution.schedule import Schedule
from app.contacts.models import Staff
from app.core import audit, content, settings
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_, Permission
from app.extensions import db
from app.media import service as media
from app.segments import service as segments
from app.sending import guards, sendrules
from app.wordlist import service as wordlist

EDITABLE = (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.SCHEDULED, S.RUNNING)
MAX_HOLDOUT = 50
VARIANT_KEYS = "ABCDE"


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one editor field: a msgid with %(name)s params, translated where it is shown."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, gettext=None) -> str:
        """The message with its params; with `gettext` translated, a `label` param and nested errors included."""
        translate = gettext or (lambda m, **p: m % p if p else m)
        params = {k: v.text(gettext) if isinstance(v, FieldError) else translate(v) if k == "label" else v
                  for k, v in self.params.items()}
        return translate(self.message, **params)


Problem = tuple[str, FieldError | content.ContentError]  # (field, message): msgids with params


@dataclass
class CampaignInvalid(Exception):
    """The spec cannot be saved: (field, message) problems, and the sensitive words found per content field."""

    problems: list[Problem]
    words: dict[str, list[wordlist.Hit]] = field(default_factory=dict)

    def messages(self, gettext=None) -> list[tuple[str, str]]:
        """(field, text) per problem, translated with `gettext`; a variant's prefixed with its key."""
        translate = gettext or (lambda m, **p: m % p if p else m)
        found = []
        for name, problem in self.problems:
            message = problem.text(gettext)
            if name.startswith("variants."):
                message = translate(N_("版本 %(key)s：%(problem)s"), key=name.split(".", 1)[1], problem=message)
            found.append((name, message))
        return found

    def content_errors(self, name: str = "content") -> list[content.ContentError]:
        """The content errors of one content field, for the shared content editor."""
        return [m for f, m in self.problems if f == name and isinstance(m, content.ContentError)]

    def __str__(self) -> str:
        return "；".join(f"{f}: {m}" for f, m in self.messages())


def parse_local_datetime(text: str | None) -> datetime | None:
    """A time from the editor (corp-local "YYYY-MM-DDTHH:MM") or the API (ISO 8601 with offset), as UTC."""
    if not text:
        return None
    value = datetime.fromisoformat(str(text).strip().replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=settings.corp_timezone())
    return value.astimezone(timezone.utc)


def schedule_of(campaign: Campaign) -> Schedule:
    kind = campaign.schedule_kind
    approved = campaign.approved_at.replace(microsecond=0) if campaign.approved_at else None  # as runs store it
    return Schedule(kind=kind, run_at=approved if kind == "now" else campaign.run_at,
                    time_of_day=guards.parse_hhmm(campaign.time_of_day) if campaign.time_of_day else None,
                    weekdays=tuple(campaign.weekdays or ()), ends_on=campaign.ends_on)


PER_CUSTOMER_REFUSED = N_("群发不能用 {客户昵称}：企业微信给一位成员的所有客户发同一段文字，无法逐人填写昵称，"
                          "客户看到的是「%(seen)s」。请删掉 {客户昵称}")


def sample_sender() -> str:
    """A real member's name to show a push as a customer sees it (a sample name before the first sync)."""
    name = db.session.scalar(select(Staff.name).where(Staff.status == 1, Staff.removed_at.is_(None))
                             .order_by(Staff.name).limit(1))
    return name or content.SAMPLE_VALUES["员工姓名"]


def customer_sees(text: str) -> str | None:
    """The text as WeCom delivers it when it names {客户昵称} (which a push cannot fill), else None."""
    if sendrules.PER_CUSTOMER not in content.Content(text or "").variables:
        return None
    return sendrules.render_text(text, sample_sender())


def unfillable(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(version key, what the customer sees) for each text of a saved push that still names {客户昵称}."""
    versions = spec.get("variants") or [{"key": "A", "content": spec.get("content") or {}}]
    return [(v.get("key", "A"), seen) for v in versions
            if (seen := customer_sees((v.get("content") or {}).get("text", ""))) is not None]


class _Checker:
    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.problems: list[Problem] = []
        self.hits: dict[str, list[wordlist.Hit]] = {}
        self.values: dict[str, Any] = {}

    def add(self, name: str, message: str | content.ContentError, **params) -> None:
        """A problem with field `name`: a content error, or a msgid marked N_() with its params."""
        self.problems.append((name, message if isinstance(message, content.ContentError)
                              else FieldError(message, params)))

    def integer(self, name: str, default: int, low: int, high: int, label: str) -> int:
        try:
            value = int(self.spec.get(name, default) if self.spec.get(name, "") != "" else default)
        except (TypeError, ValueError):
            value = None
        if value is None or not low <= value <= high:
            self.add(name, N_("%(label)s须是 %(low)s 到 %(high)s 之间的整数"), label=label, low=low, high=high)
            return default
        return value

    def content(self, name: str, value: Any) -> dict:
        """The content as stored (app.core.content: the same variables and limits as welcome messages)."""
        value = value if isinstance(value, dict) else {}
        text, attachments = str(value.get("text") or ""), list(value.get("attachments") or [])
        try:
            clean = content.parse(text, attachments, offered=sendrules.VARIABLES, library=True).to_json()
        except content.ContentInvalid as exc:
            clean = {"text": text.strip(), "attachments": attachments}
            for error in exc.errors:
                self.add(name, error)
        for error in media.library_errors(clean["attachments"]):
            self.add(name, error)
        if (seen := customer_sees(clean["text"])) is not None:
            self.add(name, PER_CUSTOMER_REFUSED, seen=seen)
        if hits := wordlist.content_hits(clean["text"], clean["attachments"]):
            if "text" in hits:
                self.hits[name] = hits["text"]
            self.add(name, wordlist.REFUSED, words=wordlist.named(h for found in hits.values() for h in found))
        return clean


def _check(spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
    c = _Checker(spec)
    v = c.values
    v["name"] = str(spec.get("name") or "").strip()
    if not v["name"] or len(v["name"]) > 64:
        c.add("name", N_("请填写群发名称（最长 64 个字符）"))
    v["category"] = spec.get("category") or "promotion"
    if v["category"] not in CATEGORY_LABELS:
        c.add("category", N_("类别只能是促销、内容或服务通知"))
    v["chat_type"] = spec.get("chat_type") or "single"
    if v["chat_type"] not in CHAT_TYPE_LABELS:
        c.add("chat_type", N_("发送对象只能是客户或客户群"))
    _check_audience(c)
    v["content"] = c.content("content", spec.get("content"))
    variants = _check_variants(c)
    v["holdout_percent"] = c.integer("holdout_percent", 0, 0, MAX_HOLDOUT, N_("对照组比例"))
    v["attribution_days"] = c.integer("attribution_days", 3, 1, 30, N_("转化归因天数"))
    _check_schedule(c)
    _check_senders(c)
    if c.problems:
        raise CampaignInvalid(c.problems, c.hits)
    return v, variants


def _check_audience(c: _Checker) -> None:
    spec, v = c.spec, c.values
    v["segment_id"], v["audience_rule"], v["group_filter"] = None, None, {}
    if v["chat_type"] == "group":
        gf = spec.get("group_filter") or {}
        v["group_filter"] = {"owners": [str(x) for x in gf.get("owners") or [] if str(x).strip()],
                             "name_contains": str(gf.get("name_contains") or "").strip(),
                             "chat_ids": [str(x) for x in gf.get("chat_ids") or [] if str(x).strip()]}
        if not any(v["group_filter"].values()):
            c.add("group_filter", N_("请至少用一个条件选择客户群（群主、群名包含或指定群）"))
        return
    if spec.get("segment_id") not in (None, ""):
        try:
            v["segment_id"] = int(spec["segment_id"])
        except (TypeError, ValueError):
            v["segment_id"] = 0
        if segments.get_segment(v["segment_id"]) is None:
            c.add("segment_id", N_("人群 %(id)s 不存在"), id=spec["segment_id"])
    elif spec.get("audience_rule") is not None:
        try:
            segments.validate(spec["audience_rule"])
            v["audience_rule"] = spec["audience_rule"]
        except segments.RuleError as exc:
            for problem in exc.problems:
                c.add("audience_rule", N_("%(path)s：%(problem)s"), path=problem.path,
                      problem=FieldError(problem.msgid, problem.params))
    else:
        c.add("segment_id", N_("请选择人群或填写筛选规则"))


def _check_variants(c: _Checker) -> list[dict]:
    raw = c.spec.get("variants") or []
    if not raw:
        return []
    if len(raw) < 2 or len(raw) > len(VARIANT_KEYS):
        c.add("variants", N_("A/B 测试需要 2 到 %(n)s 个版本"), n=len(VARIANT_KEYS))
        return []
    variants = []
    for number, item in enumerate(raw):
        key = VARIANT_KEYS[number]
        try:
            split = int(item.get("split_percent"))
        except (TypeError, ValueError):
            split = -1
        if not 1 <= split <= 99:
            c.add(f"variants.{key}", N_("比例须在 1% 到 99% 之间"))
        content = c.content(f"variants.{key}", item.get("content"))
        variants.append({"key": key, "split_percent": split, "content": content})
    if sum(v["split_percent"] for v in variants) != 100:
        c.add("variants", N_("各版本的比例之和必须是 100%"))
    return variants


def _check_schedule(c: _Checker) -> None:
    raw, v = c.spec.get("schedule") or {}, c.values
    kind = raw.get("kind") or "now"
    v.update(schedule_kind=kind, run_at=None, time_of_day=None, weekdays=[], ends_on=None)
    if kind not in SCHEDULE_LABELS:
        c.add("schedule", N_("发送时间只能是立即、定时、每天或每周"))
        return
    if kind == "at":
        try:
            v["run_at"] = parse_local_datetime(raw.get("run_at"))
        except ValueError:
            v["run_at"] = None
        if v["run_at"] is None or v["run_at"] <= utcnow():
            c.add("schedule.run_at", N_("请填写一个将来的发送时间"))
    if kind in ("daily", "weekly"):
        try:
            v["time_of_day"] = guards.parse_hhmm(raw.get("time_of_day") or "").strftime("%H:%M")
        except UserError as exc:
            c.add("schedule.time_of_day", exc.message, **exc.params)
        try:
            v["weekdays"] = sorted({int(d) for d in raw.get("weekdays") or []} & set(range(7)))
        except (TypeError, ValueError):
            v["weekdays"] = []
        if kind == "weekly" and not v["weekdays"]:
            c.add("schedule.weekdays", N_("每周发送请至少选择一天"))
        if raw.get("ends_on"):
            try:
                v["ends_on"] = date.fromisoformat(str(raw["ends_on"]))
            except ValueError:
                c.add("schedule.ends_on", N_("结束日期格式应为 YYYY-MM-DD"))


def _check_senders(c: _Checker) -> None:
    userids = sorted({str(u).strip() for u in c.spec.get("sender_userids") or [] if str(u).strip()})
    known = set(db.session.scalars(select(Staff.userid).where(Staff.userid.in_(userids)))) if userids else set()
    if unknown := [u for u in userids if u not in known]:
        c.add("sender_userids", N_("未知的成员：%(userids)s"), userids="、".join(unknown))
    try:
        departments = sorted({int(d) for d in c.spec.get("sender_department_ids") or []})
    except (TypeError, ValueError):
        departments = []
        c.add("sender_department_ids", N_("部门须是数字 ID"))
    c.values.update(sender_userids=userids, sender_department_ids=departments)


def check(spec: dict[str, Any]) -> None:
    """Raise CampaignInvalid unless the spec can be saved (the editor's live check)."""
    _check(spec)


NOT_YOURS = N_("你的角色只能向客户群群发，不能一对一发给客户")


def may_send(principal, chat_type: str) -> bool:
    """Whether an account or API token may create or change a push of this kind.

    Community managers work on groups: a 1:1 push reaches every customer of the company, so it needs
    CUSTOMERS_SEND, which their role lacks, while group pushes need only CAMPAIGNS_EDIT. A refusal rather than
    "1:1 only with approval": approval is about the size of a send, not about whose job it is.
    """
    return chat_type != "single" or principal.can(Permission.CUSTOMERS_SEND)


def may_change(principal, campaign: Campaign) -> bool:
    """Whether the pages should offer to edit, submit, run, test or cancel this push."""
    return principal.can(Permission.CAMPAIGNS_EDIT) and may_send(principal, campaign.chat_type)


def refuse_unless_may_send(principal, chat_type: str) -> None:
    """CampaignInvalid on the chat_type field when `may_send` says no."""
    if not may_send(principal, chat_type):
        raise CampaignInvalid([("chat_type", FieldError(NOT_YOURS))])


def save(campaign: Campaign | None, spec: dict[str, Any], actor: str) -> Campaign:
    """Create or change a campaign in one transaction; CampaignInvalid (nothing saved) when the spec is bad."""
    if campaign is not None and campaign.status not in EDITABLE:
        raise CampaignInvalid([("status", FieldError(N_("已结束或已取消的群发不能再修改")))])
    values, variants = _check(spec)
    with transaction():
        reset = False
        if campaign is None:
            campaign = Campaign(created_by=actor, version=1, status=S.DRAFT, **values)
            db.session.add(campaign)
            db.session.flush()
        else:
            reset = campaign.status != S.DRAFT
            for key, value in values.items():
                setattr(campaign, key, value)
            campaign.version += 1
            campaign.status = S.DRAFT
            db.session.execute(delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id))
        campaign.updated_at = utcnow()
        for variant in variants:
            db.session.add(CampaignVariant(campaign_id=campaign.id, **variant))
        audit.record("campaigns.saved", target=f"campaign:{campaign.id}",
                     details={"name": campaign.name, "version": campaign.version, "approval_reset": reset})
    return campaign


def spec_of(campaign: Campaign) -> dict[str, Any]:
    """The spec a campaign was saved from (times corp-local), for the editor and the API."""
    run_at = campaign.run_at.astimezone(settings.corp_timezone()).strftime("%Y-%m-%dT%H:%M") if campaign.run_at else ""
    variants = db.session.scalars(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id)
                                  .order_by(CampaignVariant.key)).all()
    return {
        "name": campaign.name, "category": campaign.category, "chat_type": campaign.chat_type,
        "segment_id": campaign.segment_id, "audience_rule": campaign.audience_rule,
        "group_filter": campaign.group_filter or {}, "content": campaign.content or {},
        "variants": [{"key": v.key, "split_percent": v.split_percent, "content": v.content} for v in variants],
        "holdout_percent": campaign.holdout_percent, "attribution_days": campaign.attribution_days,
        "schedule": {"kind": campaign.schedule_kind, "run_at": run_at, "time_of_day": campaign.time_of_day or "",
                     "weekdays": campaign.weekdays or [], "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else ""},
        "sender_userids": campaign.sender_userids or [], "sender_department_ids": campaign.sender_department_ids or [],
    }
