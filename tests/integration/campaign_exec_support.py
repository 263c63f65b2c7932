"""Campaign execution test helpers: a planned run written straight into the outbox, the worker driven to idle."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select

from app.campaigns.models import Campaign, CampaignRun, CampaignVariant
from app.contacts.models import Staff
from app.core.db import transaction, utcnow
from app.extensions import db
from app.rfm.models import Order
from app.sending import dispatch
from app.sending.models import Delivery, SendTask

TEXT = "{客户昵称}好，我是{员工姓名}，双十二会员价已开启"


def staff_and_customers(wecom, count: int = 2) -> list[tuple[str, list[str]]]:
    """(userid, external_userids) of the first `count` members with customers, from the emulator's API;
    the members are stored as the contacts sync would store them."""
    staff = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][:count]
    users = wecom.all_users()
    with transaction():
        db.session.add_all(Staff(userid=u["userid"], name=u["name"], is_follow_user=u["userid"] in staff)
                           for u in users)
    return [(u, wecom.get("externalcontact/list", userid=u)[1]["external_userid"]) for u in staff]


def make_run(targets: list[tuple[str, str]], *, text: str = TEXT, chat_type: str = "single",
             holdout: list[tuple[str, str]] = (), variants: dict[str, str] | None = None,
             variant_of=None) -> int:
    """A campaign with a planned run whose deliveries are (target, sender); holdout rows are never sent."""
    variants = variants or {"A": text}
    with transaction():
        campaign = Campaign(name="双十二预热", chat_type=chat_type, content={"text": text}, created_by="test",
                            version=1, approved_version=1, status="running")
        db.session.add(campaign)
        db.session.flush()
        for key, body in variants.items():
            db.session.add(CampaignVariant(campaign_id=campaign.id, key=key, split_percent=100 // len(variants),
                                           content={"text": body}))
        run = CampaignRun(campaign_id=campaign.id, kind="manual", scheduled_for=utcnow(), campaign_version=1,
                          status="planned", created_by="test", chat_type=chat_type, holdout_key=str(campaign.id),
                          variants=[{"key": key, "percent": 100 // len(variants), "content": {"text": body}}
                                    for key, body in variants.items()])
        db.session.add(run)
        db.session.flush()
        pick = variant_of or (lambda i, target: next(iter(variants)))
        rows = [dict(run_id=run.id, target_key=t, sender_userid=s, variant_key=pick(i, t), status="planned",
                     updated_at=utcnow()) for i, (t, s) in enumerate(targets)]
        rows += [dict(run_id=run.id, target_key=t, sender_userid=s, variant_key=None, status="holdout",
                      updated_at=utcnow()) for t, s in holdout]
        db.session.execute(insert(Delivery), rows)
    return run.id


def dispatch_all(rounds: int = 50) -> None:
    """Run the worker's dispatch source until it has nothing left to do."""
    for _ in range(rounds):
        if not dispatch.work_once():
            return
    raise AssertionError("dispatch did not become idle")


def deliveries(run_id: int) -> dict[str, tuple[str, str | None]]:
    """target -> (status, skip or fail reason)."""
    db.session.expire_all()
    rows = db.session.execute(select(Delivery.target_key, Delivery.status, Delivery.skip_reason,
                                     Delivery.fail_reason).where(Delivery.run_id == run_id)).all()
    return {r.target_key: (r.status, r.fail_reason or r.skip_reason) for r in rows}


def tasks(run_id: int) -> list[SendTask]:
    db.session.expire_all()
    return list(db.session.scalars(select(SendTask).where(SendTask.run_id == run_id).order_by(SendTask.id)))


def run_status(run_id: int) -> str:
    db.session.expire_all()
    return db.session.get(CampaignRun, run_id).status


def later(**delta) -> object:
    return utcnow() + timedelta(**delta)


# -- rows for the results: a finished run written by hand --------------------------------------------------

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
_order_ids = itertools.count(1)


def new_campaign(chat_type="single") -> Campaign:
    campaign = Campaign(name="黑五", chat_type=chat_type, created_by="test", version=1, approved_version=1)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def finished_run(campaign: Campaign, scheduled_for=T0) -> CampaignRun:
    run = CampaignRun(campaign_id=campaign.id, kind="manual", scheduled_for=scheduled_for, campaign_version=1,
                      status="finished", created_by="test")
    db.session.add(run)
    db.session.flush()
    return run


def add_deliveries(run: CampaignRun, rows: list[dict]) -> None:
    db.session.execute(insert(Delivery), [dict(run_id=run.id, updated_at=T0, **r) for r in rows])


def paid_order(external_userid: str, at: datetime, status: str = "paid") -> None:
    db.session.add(Order(order_id=f"o{next(_order_ids)}", external_userid=external_userid, amount_fen=9900,
                         paid_at=at, status=status, source="api"))
