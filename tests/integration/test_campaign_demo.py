"""The demo's pushes: submitted once through the real editor and approval flow, one sent, one awaiting approval."""
from sqlalchemy import func, select

from app.campaigns.policy import policies
from scripts.demo.campaigns import DEMO_CAMPAIGNS, seed_demo_campaigns
from app.campaigns.models import Campaign, CampaignRun, CampaignStatus as S
from app.extensions import db
from app.segments import service as segments
from app.sending.models import Delivery
from tests.conftest import wait_for_push_work


def test_demo_pushes_are_submitted_once_small_one_planned_large_one_waits(synced):
    newcomers = segments.count(DEMO_CAMPAIGNS[0]["audience_rule"])
    assert 0 < newcomers < segments.count(DEMO_CAMPAIGNS[1]["audience_rule"])
    policies.save({"approval_threshold": newcomers, "quiet_hours": {"start": "00:00", "end": "00:00"}}, "test")

    seeded = seed_demo_campaigns("operator")
    wait_for_push_work(timeout=60)

    newcomer, member_day = (db.session.get(Campaign, c.id) for c in seeded)
    assert [newcomer.name, member_day.name] == [spec["name"] for spec in DEMO_CAMPAIGNS]
    assert member_day.status == S.PENDING_APPROVAL and newcomer.created_by == "operator"
    run = db.session.scalars(select(CampaignRun).where(CampaignRun.campaign_id == newcomer.id)).one()
    assert run.status == "planned"  # approved automatically and planned at once: the worker sends it
    planned = db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.run_id == run.id,
                                                                                 Delivery.status == "planned"))
    assert 0 < planned <= newcomers
    assert seed_demo_campaigns("operator") == []
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 2
