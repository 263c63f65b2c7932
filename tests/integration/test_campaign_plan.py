"""Planning a run on SQLite and PostgreSQL: audience, opt-out, lost, sender, holdout, A/B, caps, quota, quiet hours."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from app.campaigns.editor import editing, preview
from app.campaigns.execution import planner, runs
from app.campaigns.models import Campaign, CampaignRun
from app.contacts.models import Customer, FollowRelation, Staff
from app.core import settings
from app.extensions import db
from app.sending import guards
from app.sending.models import CustomerOptOut, Delivery, OutsideSend, RunStatus

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai


def seed(n: int = 40) -> None:
    db.session.add_all([Staff(userid="alice", name="Alice", status=1), Staff(userid="bob", name="Bob", status=1),
                        Staff(userid="gone", name="Gone", status=5)])
    for i in range(n):
        db.session.add(Customer(external_userid=f"wm{i:03d}", name=f"客户{i}"))
        db.session.add(FollowRelation(userid="alice", external_userid=f"wm{i:03d}",
                                      added_at=NOON - timedelta(days=30)))
        if i % 4 == 0:  # bob added them later: bob is their sender
            db.session.add(FollowRelation(userid="bob", external_userid=f"wm{i:03d}", added_at=NOON - timedelta(days=3)))
    db.session.commit()


def make_campaign(**spec) -> Campaign:
    base = {"name": "双十二预热", "category": "promotion", "audience_rule": {"op": "and", "rules": []},
            "content": {"text": "{员工姓名} 提醒您：双十二预热开始"}}
    campaign = editing.save(None, {**base, **spec}, "tester")
    campaign.approved_version, campaign.approved_at = campaign.version, NOON - timedelta(hours=1)
    campaign.status = "approved"
    db.session.commit()
    return campaign


def plan_at(campaign: Campaign, now: datetime, monkeypatch) -> CampaignRun:
    monkeypatch.setattr(planner, "utcnow", lambda: now)
    run = runs.create_run(campaign, now, "manual", "tester")
    db.session.commit()
    return planner.plan(run.id)


def statuses(run_id: int) -> dict[str, tuple]:
    rows = db.session.execute(select(Delivery.target_key, Delivery.status, Delivery.skip_reason,
                                     Delivery.sender_userid, Delivery.variant_key).where(Delivery.run_id == run_id))
    return {key: tuple(rest) for key, *rest in rows}


def test_audience_guards_and_sender(app, monkeypatch):
    seed()
    lost = db.session.scalar(select(Customer).where(Customer.external_userid == "wm001"))
    lost.lost_at = NOON
    db.session.add(CustomerOptOut(customer_id=db.session.scalar(select(Customer.id).where(
        Customer.external_userid == "wm002")), reason="客户要求", created_by="tester"))
    db.session.add(Customer(external_userid="wmnosender", name="无人跟进"))
    db.session.commit()
    run = plan_at(make_campaign(), NOON, monkeypatch)
    rows = statuses(run.id)
    assert run.status == RunStatus.PLANNED and run.not_before is None
    assert rows["wm001"][:2] == ("skipped", "lost")
    assert rows["wm002"][:2] == ("skipped", "opt_out")
    assert rows["wmnosender"][:2] == ("skipped", "no_sender")
    assert rows["wm004"] == ("planned", None, "bob", "A")  # the most recent relation sends
    assert rows["wm005"] == ("planned", None, "alice", "A")
    assert run.counts["skip_reasons"] == {"lost": 1, "opt_out": 1, "no_sender": 1}
    assert run.counts["planned"] == 38


def test_restricted_senders_and_inactive_staff(app, monkeypatch):
    seed()
    db.session.add(FollowRelation(userid="gone", external_userid="wm005", added_at=NOON))  # newest, but left
    db.session.commit()
    rows = statuses(plan_at(make_campaign(sender_userids=["alice"]), NOON, monkeypatch).id)
    assert rows["wm004"][2] == "alice" and rows["wm005"][2] == "alice"


def test_replanning_changes_nothing_and_a_due_time_has_one_run(app, monkeypatch):
    seed()
    campaign = make_campaign(holdout_percent=20)
    run = plan_at(campaign, NOON, monkeypatch)
    before = statuses(run.id)
    assert planner.plan(run.id).status == RunStatus.PLANNED
    assert statuses(run.id) == before
    assert runs.create_run(campaign, NOON, "manual", "again") is None
    assert db.session.scalar(select(func.count()).select_from(CampaignRun)) == 1


def test_holdout_and_variants_follow_the_stable_hash(app, monkeypatch):
    seed(200)
    campaign = make_campaign(holdout_percent=10, variants=[
        {"split_percent": 50, "content": {"text": "版本 A"}}, {"split_percent": 50, "content": {"text": "版本 B"}}])
    rows = statuses(plan_at(campaign, NOON, monkeypatch).id)
    for key, (status, _reason, _sender, variant) in rows.items():
        assert (status == "holdout") == guards.in_holdout(campaign.id, key, 10)
        if status == "planned":
            assert variant == guards.variant_for(campaign.id, key, [("A", 50), ("B", 50)])
    assert 5 <= sum(s == "holdout" for s, *_ in rows.values()) <= 40


def test_caps_skip_with_the_strictest_rule_and_quota_counts_outside_sends(app, monkeypatch):
    seed(10)
    earlier = make_campaign(name="早上的促销")
    plan_at(earlier, NOON - timedelta(hours=2), monkeypatch)
    db.session.execute(Delivery.__table__.update().where(Delivery.target_key.in_(["wm001", "wm002"]))
                       .values(status="sent", sent_at=NOON - timedelta(hours=2)))
    # wm002 also got two content pushes this week: now both rules are broken, the weekly one is reported
    for days in (2, 3):
        content = make_campaign(name=f"内容{days}", category="content")
        plan_at(content, NOON - timedelta(days=days), monkeypatch)
    db.session.execute(Delivery.__table__.update().where(Delivery.status == "planned").values(status="failed"))
    db.session.execute(Delivery.__table__.update().where(Delivery.target_key == "wm002",
                                                         Delivery.status == "failed").values(status="sent"))
    db.session.add_all(OutsideSend(msgid=f"m{d}", sender_userid="alice", target_key="wm003", chat_type="single",
                                   sent_at=NOON - timedelta(hours=1 + d)) for d in range(1))
    db.session.commit()
    settings.save({"wecom.receive_rule": "day"}, "tester")
    rows = statuses(plan_at(make_campaign(name="午间促销"), NOON, monkeypatch).id)
    assert rows["wm001"][:2] == ("skipped", "cap:promotion_daily")
    assert rows["wm002"][:2] == ("skipped", "cap:weekly")
    assert rows["wm003"][:2] == ("skipped", "wecom_quota")
    assert rows["wm004"][0] == "planned"


def test_quiet_hours_defer_the_run_to_the_morning(app, monkeypatch):
    seed(3)
    late = datetime(2026, 11, 23, 15, 30, tzinfo=timezone.utc)  # 23:30 in Shanghai
    run = plan_at(make_campaign(), late, monkeypatch)
    assert run.status == RunStatus.WAITING_WINDOW
    assert run.not_before == datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # 09:00 next day
    assert run.counts["planned"] == 3


def test_dry_run_numbers_match_the_plan_and_leave_nothing_behind(app, monkeypatch):
    seed(30)
    db.session.add(CustomerOptOut(customer_id=1, reason="", created_by="t"))
    db.session.commit()
    campaign = make_campaign(holdout_percent=10)
    monkeypatch.setattr(planner, "utcnow", lambda: NOON)
    dry = preview.dry_run(campaign)
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert db.session.scalar(select(func.count()).select_from(CampaignRun)) == 0
    run = plan_at(db.session.get(Campaign, campaign.id), NOON, monkeypatch)
    assert dry.counts == run.counts
    assert dry.samples["opt_out"] == [("wm000", "客户0")]
    planned = dict(db.session.execute(select(Delivery.sender_userid, func.count()).where(
        Delivery.run_id == run.id, Delivery.status == "planned").group_by(Delivery.sender_userid)).all())
    assert {s["userid"]: s["recipients"] for s in dry.senders} == planned
    assert all(s["tasks"] == 1 for s in dry.senders)


def test_group_push_plans_one_delivery_per_group_by_owner(app, monkeypatch):
    from app.contacts.models import CustomerGroup
    seed(0)
    db.session.add_all([CustomerGroup(chat_id="wrA", name="VIP 一群", owner="alice"),
                        CustomerGroup(chat_id="wrB", name="VIP 二群", owner="gone"),
                        CustomerGroup(chat_id="wrC", name="普通群", owner="bob")])
    db.session.commit()
    campaign = make_campaign(chat_type="group", audience_rule=None, group_filter={"name_contains": "VIP"})
    rows = statuses(plan_at(campaign, NOON, monkeypatch).id)
    assert rows == {"wrA": ("planned", None, "alice", "A"), "wrB": ("skipped", "no_sender", "gone", None)}


def test_a_segment_that_was_deleted_fails_the_run_with_the_reason(app, monkeypatch):
    from app.segments import service as segments
    seed(2)
    segment = segments.create_segment("全部", "", {"op": "and", "rules": []}, "tester")
    campaign = make_campaign(audience_rule=None, segment_id=segment.id)
    campaign.segment_id = None
    campaign.audience_rule = None
    db.session.commit()
    run = plan_at(campaign, NOON, monkeypatch)
    assert run.status == RunStatus.FAILED and "人群" in run.error
