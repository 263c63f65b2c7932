"""任务宝 launch pages and the task's message settings: the 推送 tab refuses bad input and keeps nothing, supervisors
find waiting launches on the approvals queue and decide them on the launch's review page, the editor keeps milestone
texts and participant tags and refuses a variable it cannot fill."""
from datetime import timedelta

from sqlalchemy import func, select

from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.referral import service
from app.referral.models import LaunchStatus, ReferralLaunch, ReferralTask
from app.segments import service as segments
from tests.conftest import csrf_token
from tests.web.test_referral_pages import form, staff  # noqa: F401  (the fixture)


def running(segment_id=None) -> ReferralTask:
    now = utcnow()
    task = service.create(service.TaskInput("双 12 老带新", now + timedelta(hours=1), now + timedelta(days=3),
                                            ["zhangsan"], [service.LevelInput(3, "礼盒", 10)], segment_id=segment_id))
    service.move(task, "schedule")
    return task


def test_the_launch_tab_refuses_bad_input_and_keeps_nothing(client, signed_in_as, staff):
    signed_in_as("operator")
    task = running()
    url = f"/referral/{task.id}/launch"
    page = client.get(url).get_data(as_text=True)
    assert "计算人数并推送" in page and "还没有推送过" in page
    bad = client.post(url, data={"csrf_token": csrf_token(client, url), "text": "{订单号} 来领奖", "link_title": "",
                                 "holdout_percent": "60"}).get_data(as_text=True)
    for problem in ("任务没有指定邀请人人群", "请先在系统设置填写控制台访问地址", "未知变量", "请填写链接标题",
                    "对照组比例须为 0 到 50"):
        assert problem in bad
    assert db.session.scalar(select(func.count()).select_from(ReferralLaunch)) == 0


def test_a_good_launch_is_counted_in_the_background(client, signed_in_as, staff):
    signed_in_as("operator")
    segment = segments.create_segment("张三的客户", "", {"op": "and", "rules": [
        {"field": "staff", "operator": "in", "value": ["zhangsan"]}]}, "test")
    task = running(segment.id)
    settings.save({"console.url": "https://scrm.example.com"}, "test")
    url = f"/referral/{task.id}/launch"
    done = client.post(url, data={"csrf_token": csrf_token(client, url), "text": "邀请好友领礼盒",
                                  "link_title": "我的专属海报", "holdout_percent": "10"})
    assert done.status_code == 302
    launch = db.session.scalar(select(ReferralLaunch))
    assert (launch.status, launch.holdout_percent, launch.requested_by) == (LaunchStatus.COUNTING, 10, "operator-user")
    assert "计算人数中" in client.get(url).get_data(as_text=True)


def test_only_approvers_see_waiting_launches_and_decide_them(client, signed_in_as, staff):
    task = running()
    with transaction():
        db.session.add(ReferralLaunch(task_id=task.id, status=LaunchStatus.PENDING, text="邀请好友领礼盒",
                                      link_title="海报", recipients=5000, requested_by="operator-user"))
    launch = db.session.scalar(select(ReferralLaunch))
    review = f"/referral/launches/{launch.id}/review"
    signed_in_as("operator")
    assert client.get("/campaigns/approvals").status_code == 403 and client.get(review).status_code == 403
    client.get("/auth/logout")
    signed_in_as("supervisor")
    queue = client.get("/campaigns/approvals").get_data(as_text=True)
    assert "任务宝推送" in queue and "5,000" in queue and f'href="{review}"' in queue
    page = client.get(review).get_data(as_text=True)
    assert "邀请好友领礼盒" in page and "5,000" in page
    client.post(f"/referral/launches/{launch.id}/decide", data={"csrf_token": csrf_token(client, review),
                                                                "decision": "reject", "comment": "先小范围试发"})
    db.session.expire_all()
    launch = db.session.get(ReferralLaunch, launch.id)
    assert (launch.status, launch.decided_by) == (LaunchStatus.REJECTED, "supervisor-user")


def test_the_editor_keeps_milestone_texts_and_refuses_a_variable_it_cannot_fill(client, signed_in_as, staff):
    signed_in_as("operator")
    token = csrf_token(client, "/referral/new")
    bad = client.post("/referral/new", data=form(csrf_token=token, near_text="还差 {还差人数} 人，{客户昵称}"))
    assert "里程碑消息只能使用变量" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ReferralTask)) == 0
    client.post("/referral/new", data=form(csrf_token=token, milestone_text="恭喜获得「{奖励}」",
                                           near_text="再邀请 {还差人数} 位得「{奖励}」"))
    task = db.session.scalar(select(ReferralTask))
    assert (task.milestone_text, task.near_text) == ("恭喜获得「{奖励}」", "再邀请 {还差人数} 位得「{奖励}」")
    assert "恭喜获得「{奖励}」" in client.get(f"/referral/{task.id}/edit").get_data(as_text=True)
