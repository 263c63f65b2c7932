"""What an approver reads: the audience in words, and what changed since the version last approved."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.campaigns.models import (CATEGORY_LABELS, CHAT_TYPE_LABELS, SCHEDULE_LABELS, Campaign, CampaignApproval)
from app.contacts.contact_list import staff_names
from app.contacts.models import CustomerGroup, Department
from app.core import content as contents
from app.extensions import db
from app.media import limits as media_limits
from app.media.models import MediaItem
from app.segments import describe, service as segments

APPROVED = ("approved", "auto_approved")
WEEKDAYS = "一二三四五六日"


def snapshot(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as a decision keeps it: with its saved segment's name and rule as they are now (they may change)."""
    segment = segments.get_segment(spec["segment_id"]) if spec.get("segment_id") else None
    return dict(spec, segment_name=segment.name if segment else None, segment_rule=segment.rule if segment else None)


def audience(spec: dict[str, Any]) -> list[describe.Line]:
    """Who the push goes to, in sentences: the saved segment's name and rules, the ad-hoc rule, or the groups."""
    if spec.get("chat_type") == "group":
        return [describe.Line(0, text) for text in _group_filter(spec.get("group_filter") or {})]
    if spec.get("segment_id"):
        name = spec.get("segment_name") or f"#{spec['segment_id']}"
        rule = spec.get("segment_rule")
        head = describe.Line(0, _("人群「%(name)s」：", name=name))
        return [head] + [describe.Line(line.depth + 1, line.text) for line in describe.lines(rule)] if rule \
            else [head]
    return describe.lines(spec.get("audience_rule") or {"op": "and", "rules": []})


def _group_filter(gf: dict[str, Any]) -> list[str]:
    found = []
    if gf.get("owners"):
        names = staff_names(gf["owners"])
        found.append(_("群主是 %(names)s 之一", names="、".join(f"「{names.get(u, u)}」" for u in gf["owners"])))
    if gf.get("name_contains"):
        found.append(_("群名包含「%(text)s」", text=gf["name_contains"]))
    if gf.get("chat_ids"):
        names = dict(db.session.execute(select(CustomerGroup.chat_id, CustomerGroup.name)
                                        .where(CustomerGroup.chat_id.in_(gf["chat_ids"]))).all())
        found.append(_("指定的 %(n)s 个群：%(names)s", n=len(gf["chat_ids"]),
                       names="、".join(f"「{names.get(c) or c}」" for c in gf["chat_ids"])))
    return found or [_("没有选择客户群")]


@dataclass(frozen=True)
class Change:
    """One part of the push that differs: what it is, as approved before, as it is now (display text)."""

    label: str
    before: str
    after: str


def _attachments(attachments: list[dict]) -> str:
    """One line per attachment: a library file by its kind and name, a link or mini program by title and address."""
    library = [i for i in map(contents.library_id, attachments) if i is not None]
    names = dict(db.session.execute(select(MediaItem.id, MediaItem.name).where(MediaItem.id.in_(library))).all()) \
        if library else {}
    lines = []
    for a in attachments:
        kind, obj = a.get("msgtype"), a.get(a.get("msgtype")) or {}
        label = _({**contents.KINDS, **media_limits.KINDS}.get(kind, kind or ""))
        if (item := contents.library_id(a)) is not None:
            lines.append(f"{label}「{names.get(item, '#%s' % item)}」")
        else:
            shown = [obj.get(k) for k in ("title", "url", "pic_url", "picurl", "appid", "page") if obj.get(k)]
            lines.append(f"{label} " + " · ".join(shown))
    return "\n".join(lines)


def _content(content: dict) -> str:
    text = content.get("text") or ""
    attachments = _attachments(content.get("attachments") or [])
    return text + ("\n" + _("附件：") + "\n" + attachments if attachments else "")


def _schedule(spec: dict) -> str:
    s = spec.get("schedule") or {}
    parts = [_(SCHEDULE_LABELS.get(s.get("kind"), s.get("kind") or ""))]
    if s.get("kind") == "at":
        parts.append(s.get("run_at") or "")
    if s.get("kind") in ("daily", "weekly"):
        parts.append(s.get("time_of_day") or "")
    if s.get("kind") == "weekly":
        parts.append("、".join(_("周") + WEEKDAYS[d] for d in s.get("weekdays") or []))
    if s.get("ends_on"):
        parts.append(_("至 %(d)s", d=s["ends_on"]))
    return " ".join(p for p in parts if p)


def _senders(spec: dict) -> str:
    names = staff_names(spec.get("sender_userids") or [])
    departments = dict(db.session.execute(select(Department.id, Department.name).where(
        Department.id.in_(spec.get("sender_department_ids") or []))).all())
    people = "、".join(names.get(u, u) for u in spec.get("sender_userids") or [])
    depts = "、".join(departments.get(d, str(d)) for d in spec.get("sender_department_ids") or [])
    return " · ".join(p for p in (people, depts and _("部门") + " " + depts) if p) or _("每位客户最近添加的跟进成员")


def _parts(spec: dict) -> list[tuple[str, str]]:
    variants = spec.get("variants") or []
    return [
        (_("名称"), spec.get("name") or ""),
        (_("类别 / 对象"), f"{_(CATEGORY_LABELS.get(spec.get('category'), ''))} · "
                         f"{_(CHAT_TYPE_LABELS.get(spec.get('chat_type'), ''))}"),
        (_("发送对象"), "\n".join("  " * line.depth + line.text for line in audience(spec))),
        (_("内容"), _content(spec.get("content") or {})),
        (_("A/B 版本"), "\n".join(f"{v.get('key')} {v.get('split_percent')}%：{_content(v.get('content') or {})}"
                                 for v in variants)),
        (_("对照组 / 归因"), f"{spec.get('holdout_percent')}% · " + _("%(n)s 天", n=spec.get("attribution_days"))),
        (_("发送时间"), _schedule(spec)),
        (_("发送成员"), _senders(spec)),
    ]


def last_approved(campaign: Campaign) -> CampaignApproval | None:
    """The newest approval of an earlier version that kept what it approved."""
    return db.session.scalars(select(CampaignApproval).where(
        CampaignApproval.campaign_id == campaign.id, CampaignApproval.decision.in_(APPROVED),
        CampaignApproval.version < campaign.version, CampaignApproval.spec.is_not(None))
        .order_by(CampaignApproval.id.desc()).limit(1)).first()


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The parts of the push that read differently in `after` than in `before` (both snapshots)."""
    return [Change(label, old, new) for (label, old), (_label, new) in zip(_parts(before), _parts(after))
            if old != new]
