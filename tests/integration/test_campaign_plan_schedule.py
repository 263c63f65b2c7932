"""The scheduler's campaign job: due runs created once and planned, missed ones recorded, statuses followed."""
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.campaigns.editor import editing
from app.campaigns.execution import planner, runs
from app.campaigns.policy import policies
from app.campaigns.models import Campaign, CampaignRun
from app.campaigns.execution.schedule import Schedule, misfired
from app.contacts.models import Customer, FollowRelation, Staff
from app.extensions import db

SH = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH).astimezone(timezone.utc)


def approved(spec: dict, at: datetime) -> Campaign:
    campaign = editing.save(None, {"name": "每日早安", "category": "content", "content": {"text": "早安"},
                                   "audience_rule": {"op": "and", "rules": []}, **spec}, "tester")
    campaign.approved_version, campaign.approved_at = campaign.version, at
    campaign.status = "scheduled" if spec["schedule"]["kind"] != "now" else "approved"
    db.session.commit()
    return campaign


def seed() -> None:
    policies.save({"quiet_hours": {"start": "00:00", "end": "00:00"}}, "test")
    db.session.add(Staff(userid="alice", name="Alice", status=1))
    db.session.add(Customer(external_userid="wm1", name="客户1"))
    db.session.add(FollowRelation(userid="alice", external_userid="wm1", added_at=local("2026-11-01 10:00")))
    db.session.commit()


def tick_at(now: datetime, monkeypatch) -> None:
    monkeypatch.setattr(planner, "utcnow", lambda: now)
    monkeypatch.setattr(runs, "utcnow", lambda: now)
    runs.tick(now)


def run_rows(campaign_id: int) -> list[tuple]:
    return [(r.scheduled_for, r.status) for r in db.session.scalars(
        select(CampaignRun).where(CampaignRun.campaign_id == campaign_id).order_by(CampaignRun.scheduled_for))]


def test_daily_runs_are_created_once_per_due_time_and_planned(app, monkeypatch):
    seed()
    campaign = approved({"schedule": {"kind": "daily", "time_of_day": "10:00"}}, local("2026-11-23 09:00"))
    tick_at(local("2026-11-23 09:59"), monkeypatch)
    assert run_rows(campaign.id) == []
    tick_at(local("2026-11-23 10:00"), monkeypatch)
    tick_at(local("2026-11-23 10:01"), monkeypatch)  # the next tick does not create a twin
    assert run_rows(campaign.id) == [(local("2026-11-23 10:00"), "planned")]
    assert db.session.get(Campaign, campaign.id).status == "running"


def test_a_schedule_missed_while_the_scheduler_was_down_is_recorded_not_sent(app, monkeypatch):
    seed()
    campaign = approved({"schedule": {"kind": "daily", "time_of_day": "10:00"}}, local("2026-11-20 09:00"))
    tick_at(local("2026-11-20 10:00"), monkeypatch)
    db.session.execute(CampaignRun.__table__.update().values(status="finished"))
    db.session.commit()
    # the scheduler was down from the 20th until the 23rd at 10:10: 21st and 22nd are missed, the 23rd runs
    tick_at(local("2026-11-23 10:10"), monkeypatch)
    rows = run_rows(campaign.id)
    assert [status for _when, status in rows] == ["finished", "missed", "missed", "planned"]
    missed = db.session.scalars(select(CampaignRun).where(CampaignRun.status == "missed")).first()
    assert missed.error == "调度器在计划时间后 30 分钟内未运行，本次未发送" and missed.counts == {}
    # a tick 40 minutes late for today's run would have missed it too
    assert misfired(local("2026-11-23 10:00"), local("2026-11-23 10:40"))
    assert not misfired(local("2026-11-23 10:00"), local("2026-11-23 10:20"))


def test_one_off_at_a_time_runs_once_and_the_campaign_finishes(app, monkeypatch):
    seed()
    campaign = editing.save(None, {"name": "定时", "content": {"text": "通知"}, "category": "service",
                                   "audience_rule": {"op": "and", "rules": []},
                                   "schedule": {"kind": "at", "run_at": "2099-01-01T10:00"}}, "tester")
    campaign.run_at = local("2026-11-23 15:00")
    campaign.approved_version, campaign.approved_at, campaign.status = 1, local("2026-11-23 09:00"), "scheduled"
    db.session.commit()
    tick_at(local("2026-11-23 15:00"), monkeypatch)
    assert run_rows(campaign.id) == [(local("2026-11-23 15:00"), "planned")]
    db.session.execute(CampaignRun.__table__.update().values(status="finished"))
    db.session.commit()
    tick_at(local("2026-11-23 15:01"), monkeypatch)
    assert db.session.get(Campaign, campaign.id).status == "finished"
    assert len(run_rows(campaign.id)) == 1


def test_an_edited_campaign_gets_no_new_runs_until_approved_again(app, monkeypatch):
    seed()
    campaign = approved({"schedule": {"kind": "daily", "time_of_day": "10:00"}}, local("2026-11-23 09:00"))
    editing.save(campaign, {**editing.spec_of(campaign), "content": {"text": "新的早安"}}, "tester")
    tick_at(local("2026-11-23 10:00"), monkeypatch)
    assert run_rows(campaign.id) == []


def test_weekly_due_times_and_end_date():
    schedule = Schedule("weekly", time_of_day=time(10), weekdays=(0, 3), ends_on=date(2026, 12, 3))
    times = schedule.due_times(local("2026-11-23 00:00"), local("2026-12-31 00:00"), SH)
    assert times == [local("2026-11-23 10:00"), local("2026-11-26 10:00"), local("2026-11-30 10:00"),
                     local("2026-12-03 10:00")]
    assert schedule.over(local("2026-12-03 10:00"), SH)
    assert not schedule.over(local("2026-12-01 10:00"), SH)
    assert schedule.next_time(local("2026-11-23 10:00"), SH) == local("2026-11-26 10:00")


def test_a_one_off_approved_after_its_time_is_shown_as_missed(app, monkeypatch):
    seed()
    campaign = approved({"schedule": {"kind": "at", "run_at": "2099-01-01T10:00"}}, local("2026-11-23 12:00"))
    campaign.run_at = local("2026-11-23 10:00")
    db.session.commit()
    tick_at(local("2026-11-23 12:01"), monkeypatch)
    assert run_rows(campaign.id) == [(local("2026-11-23 10:00"), "missed")]
    assert db.session.get(Campaign, campaign.id).status == "finished"
