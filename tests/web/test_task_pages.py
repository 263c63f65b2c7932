"""跟进任务 pages: a supervisor sees only their departments' tasks (list, overdue view, export, task page), the
assignee's own account marks a task done, an unlinked account is told why, SLA clocks read as a person would."""
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from app.contacts.models import Department, Staff
from app.core import settings
from app.core.db import transaction, utcnow
from app.extensions import db
from app.tasks.models import DONE, Task
from app.tasks.service import create_task
from tests.conftest import csrf_token


@pytest.fixture
def tasks(app):
    """alice leads Sales (bob works there); carol works in Support. One overdue task each for bob and carol, one
    open for alice due in 5 hours."""
    db.session.add_all([
        Department(id=1, name="公司", parent_id=0), Department(id=2, name="销售部", parent_id=1, leader_userids=["alice"]),
        Department(id=4, name="客服部", parent_id=1),
        Staff(userid="alice", name="王丽", department_ids=[2], status=1),
        Staff(userid="bob", name="李博", department_ids=[2], status=1),
        Staff(userid="carol", name="陈卡", department_ids=[4], status=1),
    ])
    db.session.commit()
    now = utcnow()
    with transaction():
        made = {"bob": create_task("bob", "回访销售线索", now - timedelta(hours=3), deliver=False),
                "carol": create_task("carol", "处理客服投诉", now - timedelta(hours=2), deliver=False),
                "alice": create_task("alice", "复盘本周客户", now + timedelta(hours=5, minutes=1), deliver=False)}
    return {k: v.id for k, v in made.items()}


def test_supervisor_sees_only_their_departments(client, signed_in_as, tasks):
    signed_in_as("supervisor", wecom_userid="alice")
    for url in ("/tasks/?view=all", "/tasks/overdue", "/tasks/export?view=all&format=csv"):
        page = client.get(url).get_data(as_text=True)
        assert "回访销售线索" in page and "处理客服投诉" not in page, url
    assert client.get(f"/tasks/{tasks['carol']}").status_code == 404
    assert client.get(f"/tasks/{tasks['bob']}").status_code == 200


def test_overdue_view_shows_overdue_time_and_open_view_remaining(client, signed_in_as, tasks):
    signed_in_as("admin")
    overdue = client.get("/tasks/overdue").get_data(as_text=True)
    assert "已逾期 3 小时" in overdue and "复盘本周客户" not in overdue
    assert "剩余 5 小时" in client.get("/tasks/?view=open").get_data(as_text=True)


def test_the_assignee_marks_done_and_a_supervisor_cannot(client, signed_in_as, make_user, tasks):
    signed_in_as("supervisor", wecom_userid="alice")
    token = csrf_token(client, f"/tasks/{tasks['bob']}")
    assert client.post(f"/tasks/{tasks['bob']}/done", data={"csrf_token": token}).status_code == 403
    client.post("/auth/logout", data={"csrf_token": token})
    from tests.conftest import sign_in
    bob = make_user("viewer", username="bob-account", wecom_userid="bob")
    sign_in(client, bob.username)
    page = client.get(f"/tasks/{tasks['bob']}").get_data(as_text=True)
    assert "标记完成" in page
    response = client.post(f"/tasks/{tasks['bob']}/done", data={"csrf_token": csrf_token(client, "/tasks/mine")})
    assert response.status_code == 302
    db.session.expire_all()
    task = db.session.get(Task, tasks["bob"])
    assert task.state == DONE and task.done_by == "bob-account"
    assert "逾期完成" in client.get(f"/tasks/{tasks['bob']}").get_data(as_text=True)


def test_an_unlinked_account_is_told_why_it_sees_no_tasks(client, signed_in_as, tasks):
    signed_in_as("operator")
    assert "未关联企业微信成员" in client.get("/tasks/mine").get_data(as_text=True)
    page = client.get(f"/tasks/{tasks['bob']}").get_data(as_text=True)  # operators manage tasks: they may close it
    assert "标记完成" in page


def test_someone_elses_task_is_hidden_from_a_community_manager(client, signed_in_as, tasks):
    signed_in_as("community_manager", wecom_userid="carol")
    assert client.get(f"/tasks/{tasks['bob']}").status_code == 404
    assert client.get(f"/tasks/{tasks['carol']}").status_code == 200
    assert client.get("/tasks/").status_code == 403


def test_export_is_an_excel_table(client, signed_in_as, tasks):
    signed_in_as("admin")
    response = client.get("/tasks/export?view=overdue")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "任务" and {r[0] for r in rows[1:]} == {"回访销售线索", "处理客服投诉"}
    late = {r[0]: r[rows[0].index("逾期（分钟）")] for r in rows[1:]}
    assert 180 <= late["回访销售线索"] <= 181 and 120 <= late["处理客服投诉"] <= 121  # minutes, a number to sort by
    assert 300 <= sum(late.values()) <= 302
    due = [r[rows[0].index("截止时间")] for r in rows[1:]]
    assert all(isinstance(d, datetime) for d in due)  # an Excel time, not text
    due_at = db.session.get(Task, tasks["bob"]).due_at.astimezone(settings.corp_timezone())
    assert due_at.replace(tzinfo=None, microsecond=0) in due  # written as the corp's wall-clock time
    assert {r[rows[0].index("来源")] for r in rows[1:]} == {"手动"}
    open_tasks = list(load_workbook(io.BytesIO(client.get("/tasks/export?view=all").data)).active
                      .iter_rows(values_only=True))
    assert {r[0]: r[open_tasks[0].index("逾期（分钟）")] for r in open_tasks[1:]}["复盘本周客户"] is None  # not late


def test_bad_filters_get_a_clear_error(client, signed_in_as, tasks):
    signed_in_as("admin")
    response = client.get("/tasks/?view=late")
    assert response.status_code == 400 and "view 只能是" in response.get_data(as_text=True)


def test_a_rule_without_a_tag_is_refused_and_nothing_saved(client, signed_in_as, tasks):
    signed_in_as("operator")
    data = {"csrf_token": csrf_token(client, "/tasks/rules"), "name": "高意向", "trigger": "tag_added",
            "due_hours": "24", "task_title": "跟进"}
    page = client.post("/tasks/rules", data=data).get_data(as_text=True)
    assert "请选择一个已有的标签" in page
    from app.tasks.models import FollowupRule
    assert db.session.query(FollowupRule).count() == 0


def test_a_task_made_by_hand_for_someone_in_scope(client, signed_in_as, tasks):
    signed_in_as("operator")
    token = csrf_token(client, "/tasks/new")
    base = {"csrf_token": token, "title": "电话回访 VIP", "body": "确认到货"}
    refused = client.post("/tasks/new", data={**base, "assignee": "bob", "due": "2020-01-01T09:00"})
    assert "截止时间必须晚于现在" in refused.get_data(as_text=True)
    refused = client.post("/tasks/new", data={**base, "assignee": "nobody", "due": "2099-01-01T09:00"})
    assert "不存在或已离职" in refused.get_data(as_text=True)
    made = client.post("/tasks/new", data={**base, "assignee": "bob", "due": "2099-01-01T09:00"})
    assert made.status_code == 302
    task = db.session.query(Task).filter_by(title="电话回访 VIP").one()
    assert task.source == "manual" and task.created_by == "operator-user"
    assert task.due_at.isoformat() == "2099-01-01T01:00:00+00:00"  # 09:00 in Shanghai


def test_home_counts_overdue_tasks_in_scope(client, signed_in_as, tasks):
    signed_in_as("supervisor", wecom_userid="alice")
    page = client.get("/").get_data(as_text=True)
    assert "逾期跟进任务" in page and "进行中 2 个" in page  # bob's overdue one and alice's own, not carol's
    assert "我的任务" in page


def test_a_task_from_a_group_sop_names_its_source(client, signed_in_as, tasks):
    from app.tasks.models import GROUP_SOP

    with transaction():
        create_task("bob", "群SOP：发早安", utcnow() + timedelta(hours=4), source=GROUP_SOP, deliver=False)
    signed_in_as("admin")
    assert "群SOP</td>" in client.get("/tasks/?view=all").get_data(as_text=True)
    rows = list(load_workbook(io.BytesIO(client.get("/tasks/export?view=all").data)).active.iter_rows(values_only=True))
    assert {r[rows[0].index("来源")] for r in rows[1:] if r[0] == "群SOP：发早安"} == {"群SOP"}
