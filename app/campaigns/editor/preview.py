"""The dry run: the very planning of a real run, inside a transaction that is rolled back, so its numbers are the plan's."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from sqlalchemy import func, select

from app.campaigns.editor import editing
from app.campaigns.execution import planner
from app.campaigns.models import Campaign, CampaignRun
from app.contacts.models import Customer, CustomerGroup, Staff
from app.contacts.scope import Scope
from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.sending.models import Delivery, DeliveryStatus as D
from app.sending.sendrules import chunk_size

SAMPLE = 5
DRY_RUN_AT = datetime(1970, 1, 1, tzinfo=timezone.utc)  # never a real scheduled_for: the dry run's row is rolled back anyway


@dataclass
class Preview:
    counts: dict
    not_before: datetime | None
    samples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # status or reason -> (key, name)
    senders: list[dict] = field(default_factory=list)  # userid, name, recipients, tasks
    error: str | None = None
    as_of: datetime | None = None  # the moment planned for: the push's next scheduled time, or when it was checked

    @property
    def recipients(self) -> int:
        return self.counts.get(D.PLANNED, 0)

    def to_json(self) -> dict:
        return {"counts": self.counts, "not_before": self.not_before.isoformat() if self.not_before else None,
                "samples": self.samples, "senders": self.senders, "error": self.error,
                "as_of": self.as_of.isoformat() if self.as_of else None}

    @classmethod
    def from_json(cls, data: dict) -> Preview:
        def moment(key: str) -> datetime | None:
            return datetime.fromisoformat(data[key]) if data.get(key) else None

        return cls(data["counts"], moment("not_before"), data["samples"], data["senders"], data.get("error"),
                   moment("as_of"))


def within(preview: Preview, scope: Scope, chat_type: str) -> Preview:
    """The preview as an account in `scope` may see it: samples of its customers (or groups of its staff) and its
    senders only. The counts stay the push's own: they are what an approver approves."""
    if scope.everything:
        return preview
    keys = sorted({key for samples in preview.samples.values() for key, _name in samples})
    if chat_type == "single":
        allowed = set(db.session.scalars(select(Customer.external_userid).where(
            Customer.external_userid.in_(keys), scope.customer_filter(Customer.external_userid))))
    else:
        allowed = set(db.session.scalars(select(CustomerGroup.chat_id).where(
            CustomerGroup.chat_id.in_(keys), scope.staff_filter(CustomerGroup.owner))))
    return replace(preview, samples={k: [s for s in v if s[0] in allowed] for k, v in preview.samples.items()},
                   senders=[s for s in preview.senders if s["userid"] in scope.userids])


def _samples(run_id: int, chat_type: str) -> dict[str, list[tuple[str, str]]]:
    named = (select(Delivery.status, Delivery.skip_reason, Delivery.target_key, Customer.name)
             .outerjoin(Customer, Customer.id == Delivery.customer_id)) if chat_type == "single" else \
        (select(Delivery.status, Delivery.skip_reason, Delivery.target_key, CustomerGroup.name)
         .outerjoin(CustomerGroup, CustomerGroup.chat_id == Delivery.target_key))
    ranked = named.add_columns(func.row_number().over(
        partition_by=(Delivery.status, Delivery.skip_reason), order_by=Delivery.target_key).label("n")
    ).where(Delivery.run_id == run_id).subquery()
    found: dict[str, list[tuple[str, str]]] = {}
    for status, reason, key, name, _n in db.session.execute(select(ranked).where(ranked.c.n <= SAMPLE)):
        found.setdefault(reason or status, []).append((key, name or ""))
    return found


def _senders(run_id: int, chat_type: str) -> list[dict]:
    rows = db.session.execute(
        select(Delivery.sender_userid, Staff.name, Delivery.variant_key, func.count())
        .outerjoin(Staff, Staff.userid == Delivery.sender_userid)
        .where(Delivery.run_id == run_id, Delivery.status == D.PLANNED)
        .group_by(Delivery.sender_userid, Staff.name, Delivery.variant_key))
    per: dict[str, dict] = {}
    for userid, name, _variant, n in rows:
        entry = per.setdefault(userid, {"userid": userid, "name": name or userid, "recipients": 0, "tasks": 0})
        entry["recipients"] += n
        entry["tasks"] += math.ceil(n / chunk_size(chat_type))  # one task per variant and chunk
    return sorted(per.values(), key=lambda e: (-e["recipients"], e["userid"]))


def planned_time(campaign: Campaign, now: datetime) -> datetime:
    """When the campaign's next run will be planned: its time for a one-off or the next due time of a recurring
    one, `now` for a push sent on approval (or one whose schedule has no time left)."""
    if campaign.schedule_kind == "now":
        return now
    return editing.schedule_of(campaign).next_time(now, settings.corp_timezone()) or now


def dry_run(campaign: Campaign) -> Preview:
    """Plan the campaign as its next run will be planned, at its scheduled time (quiet hours, caps and relative
    dates as of then, on today's data), read the numbers, then roll everything back."""
    chat_type = campaign.chat_type
    as_of = planned_time(campaign, utcnow())
    try:
        run = CampaignRun(campaign_id=campaign.id, kind="dry", scheduled_for=DRY_RUN_AT,
                          campaign_version=campaign.version, created_by="dry-run")
        db.session.add(run)
        db.session.flush()
        planner.fill(run, campaign, as_of)
        return Preview(dict(run.counts), run.not_before, _samples(run.id, chat_type), _senders(run.id, chat_type),
                       as_of=as_of)
    except (planner.PlanError, planner.segments.RuleError) as exc:
        return Preview({}, None, error=str(exc), as_of=as_of)
    finally:
        db.session.rollback()
