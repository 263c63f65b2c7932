"""The segment pages: builder with live count and sample, save/rename/delete (audited), members, export, access."""
import io
import json
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.contacts.models import Customer, FollowRelation, Staff

from app.core import settings
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.extensions import db
from app.rfm.models import CustomerRfmScore, Order, RfmRun
from app.segments.models import Segment
from app.tags.models import CorpTag, CorpTagGroup
from tests.conftest import csrf_token

HOT = {"op": "and", "rules": [{"field": "tags", "operator": "any", "value": ["t-hot"]}]}


@pytest.fixture
def shop(app):
    """Zhang (hot tag, champion, spent 1,290 this week), Li (cold tag) and Wang (hot tag, lost)."""
    run = RfmRun(status="succeeded", stage="done", started_by="test")
    db.session.add_all([run, Staff(userid="alice", name="王丽", is_follow_user=True),
                        CorpTagGroup(group_id="g1", name="意向"), CorpTag(tag_id="t-hot", group_id="g1", name="高意向"),
                        CorpTag(tag_id="t-cold", group_id="g1", name="低意向")])
    now = utcnow()
    for ext, name, tag, lost in (("wm-zhang", "张三", "t-hot", None), ("wm-li", "李四", "t-cold", None),
                                 ("wm-wang", "王五", "t-hot", now - timedelta(days=1))):
        db.session.add(Customer(external_userid=ext, name=name, lost_at=lost))
        db.session.flush()
        db.session.add(FollowRelation(userid="alice", external_userid=ext, tag_ids=[tag], remark_mobiles=["13812345678"],
                                      added_at=now - timedelta(days=30)))
    db.session.flush()
    db.session.add_all([CustomerRfmScore(external_userid="wm-zhang", segment="champions", class8="important_value",
                                         r_score=5, f_score=5, m_score=5, run_id=run.id),
                        Order(order_id="SO-1", external_userid="wm-zhang", amount_fen=129000,
                              paid_at=now - timedelta(days=3), status="paid", source="csv")])
    db.session.commit()


def preview(client, rule):
    token = csrf_token(client, "/segments/new")
    return client.post("/segments/preview", json={"rule": rule}, headers={"X-CSRFToken": token})


def test_live_count_and_sample_follow_the_rule(client, signed_in_as, shop):
    signed_in_as("operator")
    answer = preview(client, HOT).json
    assert answer["ok"] and answer["count"] == 2
    assert [row["name"] for row in answer["sample"]] == ["王五", "张三"]  # newest customers first
    zhang = answer["sample"][1]
    assert zhang["tags"] == ["高意向"] and zhang["segment"] == "冠军客户" and zhang["staff"] == ["王丽"]
    narrowed = {"op": "and", "rules": HOT["rules"] + [{"field": "lost", "operator": "is", "value": False},
                                                       {"field": "order_amount", "operator": "between",
                                                        "value": {"days": 7, "min": 100000}}]}
    assert preview(client, narrowed).json["count"] == 1


def test_mobiles_in_the_sample_are_masked_without_the_permission(client, signed_in_as, shop, monkeypatch):
    from app.core import permissions

    operator = set(permissions.ROLE_PERMISSIONS[permissions.Role.OPERATOR]) - {permissions.Permission.CONTACTS_VIEW_MOBILE}
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, permissions.Role.OPERATOR, frozenset(operator))
    signed_in_as("operator")
    assert preview(client, HOT).json["sample"][0]["mobiles"] == ["138****5678"]


def test_a_bad_rule_gets_its_problems_not_a_count(client, signed_in_as, shop):
    signed_in_as("operator")
    answer = preview(client, {"op": "and", "rules": [{"field": "tags", "operator": "any", "value": []}]}).json
    assert answer == {"ok": False, "problems": [{"path": "$.rules[0].value", "message": "请至少选择一个标签"}]}


def save(client, url, name, rule, description=""):
    return client.post(url, data={"csrf_token": csrf_token(client, "/segments/new"), "name": name,
                                  "description": description, "rule": json.dumps(rule)})


def test_save_rename_and_delete_are_audited(client, signed_in_as, shop):
    signed_in_as("operator")
    response = save(client, "/segments/save", "高意向客户", HOT, "春季活动用")
    assert response.status_code == 302
    segment = db.session.scalars(select(Segment)).one()
    assert (segment.name, segment.last_count, segment.created_by) == ("高意向客户", 2, "operator-user")
    listing = client.get("/segments/").get_data(as_text=True)
    assert "高意向客户" in listing and "春季活动用" in listing and f'href="/segments/{segment.id}/members"' in listing

    assert save(client, f"/segments/{segment.id}/save", "高意向在跟进", HOT).status_code == 302
    db.session.expire_all()
    assert db.session.get(Segment, segment.id).name == "高意向在跟进"
    client.post(f"/segments/{segment.id}/delete", data={"csrf_token": csrf_token(client, "/segments/")})
    assert db.session.scalars(select(Segment)).all() == []
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith("segments."))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["segments.create", "segments.update", "segments.delete"]


def test_saving_a_bad_rule_or_a_taken_name_changes_nothing_and_says_why(client, signed_in_as, shop):
    signed_in_as("operator")
    save(client, "/segments/save", "高意向客户", HOT)
    page = save(client, "/segments/save", "高意向客户", {"op": "and", "rules": [{"op": "or", "rules": []}]})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "已有名为「高意向客户」的人群" in text and "条件组为空" in text
    assert len(db.session.scalars(select(Segment)).all()) == 1


def test_members_page_and_export_list_the_members(client, signed_in_as, shop):
    signed_in_as("operator")
    save(client, "/segments/save", "高意向客户", HOT)
    segment = db.session.scalars(select(Segment)).one()
    page = client.get(f"/segments/{segment.id}/members").get_data(as_text=True)
    assert "张三" in page and "王五" in page and "李四" not in page
    assert 'href="/contacts/customers/wm-zhang"' in page or "wm-zhang" in page
    assert f'href="/segments/{segment.id}/export"' in page and f'href="/segments/{segment.id}/export?format=csv"' in page
    workbook = client.get(f"/segments/{segment.id}/export")
    assert workbook.mimetype.endswith("spreadsheetml.sheet")
    assert f"segment-{segment.id}.xlsx" in workbook.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert sheet.title == "高意向客户" and len(rows) == 3 and rows[1][:2] == ["wm-zhang", "张三"]
    lost = {r[0]: r[7] for r in rows[1:]}  # 客户流失时间: an Excel time in the corp's timezone, empty when not lost
    wang = db.session.scalar(select(Customer.lost_at).where(Customer.external_userid == "wm-wang"))
    assert lost == {"wm-zhang": None,
                    "wm-wang": wang.astimezone(settings.corp_timezone()).replace(tzinfo=None, microsecond=0)}
    assert sheet.cell(3, 8).number_format == "yyyy-mm-dd hh:mm"
    export = client.get(f"/segments/{segment.id}/export?format=csv")
    assert export.mimetype == "text/csv"
    lines = export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert len(lines) == 3 and lines[1].startswith("wm-zhang,张三")
    audits = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "segments.exported")
                                .order_by(AuditEntry.id)).all()
    assert [(a.details["format"], a.details["rows"]) for a in audits] == [("xlsx", 2), ("csv", 2)]


def test_builder_page_offers_the_pickers(client, signed_in_as, shop):
    signed_in_as("operator")
    page = client.get("/segments/new").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="builder-data">(.*?)</script>', page, re.S)
    data = json.loads(found.group(1))
    assert data["rule"] == {"op": "and", "rules": []}
    assert data["choices"]["tag_groups"] == [{"name": "意向", "tags": [["t-hot", "高意向"], ["t-cold", "低意向"]]}]
    assert ["champions", "冠军客户"] in data["choices"]["segments"] and data["choices"]["staff"] == [["alice", "王丽"]]
    assert 'src="/segments/builder.js"' in page
    assert "renderGroup" in client.get("/segments/builder.js").get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "supervisor", "community_manager"])
def test_roles_without_segments_manage_are_refused(client, signed_in_as, role):
    signed_in_as(role)
    assert client.get("/segments/").status_code == 403
    assert client.get("/segments/new").status_code == 403
