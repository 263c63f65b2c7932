"""应用SOP on the group list as accounts use it: only groups the account may see are added or removed (a supervisor
given 社群运营 rights sees their departments' groups only), the SOP choice names each SOP's tier and marks paused ones,
the calendar counts what each SOP reaches; accounts without 社群运营 rights are refused."""
import pytest
from sqlalchemy import select

from app.community.models import GroupTier
from app.community.sop import service
from app.community.sop.models import GroupSop, SopGroup
from app.contacts.models import CustomerGroup
from app.core import permissions
from app.core.db import utcnow
from app.extensions import db
from tests.conftest import csrf_token
from tests.web.test_supervisor_scope import company  # noqa: F401  (alice leads Sales, carol's 客服群 is outside)


@pytest.fixture
def sop_id(company):
    """alice leads Sales and owns 销售群 and 老VIP群 (a VIP group); carol (Support) owns 客服群. Two SOPs, one paused."""
    now = utcnow()
    db.session.add_all([CustomerGroup(chat_id="wr-sales", name="销售群", owner="alice", created_at=now),
                        CustomerGroup(chat_id="wr-vip", name="老VIP群", owner="alice", created_at=now),
                        GroupTier(chat_id="wr-vip", tier="vip")])
    db.session.commit()
    vip = service.create("VIP 会员日", "vip", None, "test")
    paused = service.create("新人打卡", "newcomer", None, "test")
    service.set_paused(paused, True)
    return vip.id


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/contacts/groups"), "next": "/contacts/groups",
                                  **data}, follow_redirects=True)


def _added(sop_id: int) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(SopGroup.chat_id).where(SopGroup.sop_id == sop_id)))


def test_a_supervisor_adds_and_removes_only_groups_in_their_scope(client, signed_in_as, sop_id, monkeypatch):
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, permissions.Role.SUPERVISOR,
                        permissions.ROLE_PERMISSIONS[permissions.Role.SUPERVISOR] | {permissions.P.COMMUNITY_MANAGE})
    signed_in_as("supervisor", wecom_userid="alice")
    chosen = _post(client, "/community/groups/sop", chat_ids=["wr-sales", "wr-support"], action="apply")
    page = chosen.get_data(as_text=True)
    assert "销售群" in page and "客服群" not in page and 'value="wr-support"' not in page
    assert "VIP 会员日（VIP 群）" in page and "新人打卡（新人群） · 已暂停" in page
    done = _post(client, "/community/groups/sop/apply", chat_ids=["wr-sales", "wr-support"], sop_id=sop_id)
    assert "「VIP 会员日」新加入 1 个群，0 个群原已在其中" in done.get_data(as_text=True)
    assert _added(sop_id) == ["wr-sales"]
    nothing = _post(client, "/community/groups/sop/apply", chat_ids=["wr-support"], sop_id=sop_id)
    assert "请至少勾选一个客户群" in nothing.get_data(as_text=True) and _added(sop_id) == ["wr-sales"]

    db.session.add(SopGroup(sop_id=sop_id, chat_id="wr-support", added_by="admin"))  # added by someone who sees it
    db.session.commit()
    page = client.get(f"/community/sop/{sop_id}").get_data(as_text=True)
    assert "销售群" in page and "客服群" not in page and "另有 1 个手动加入的群不在你的可见范围内" in page
    assert "该SOP现触达 3 个客户群" in page  # the VIP group, and both added by hand: the SOP reaches all three
    _post(client, "/community/groups/sop/remove", chat_ids=["wr-sales", "wr-support"], sop_id=sop_id)
    assert _added(sop_id) == ["wr-support"]  # only the group in scope was taken out


def test_a_supervisor_sets_the_tier_only_when_every_ticked_group_is_in_their_scope(client, signed_in_as, sop_id,
                                                                                   monkeypatch):
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, permissions.Role.SUPERVISOR,
                        permissions.ROLE_PERMISSIONS[permissions.Role.SUPERVISOR] | {permissions.P.COMMUNITY_MANAGE})
    signed_in_as("supervisor", wecom_userid="alice")
    refused = _post(client, "/community/tiers/set", chat_ids=["wr-sales", "wr-support"], tier="vip")
    assert "有的客户群不存在或不在你的可见范围内，没有修改任何群" in refused.get_data(as_text=True)
    assert db.session.get(GroupTier, "wr-sales") is None and db.session.get(GroupTier, "wr-support") is None
    done = _post(client, "/community/tiers/set", chat_ids=["wr-sales"], tier="vip")
    assert "已为 1 个客户群设置分层" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(GroupTier, "wr-sales").tier == "vip"


def test_the_choice_is_refused_without_an_sop_and_the_calendar_counts_the_reach(client, signed_in_as, sop_id):
    signed_in_as("community_manager")
    bad = _post(client, "/community/groups/sop/apply", chat_ids=["wr-sales"], sop_id="")
    assert "请选择群SOP" in bad.get_data(as_text=True) and _added(sop_id) == []
    _post(client, "/community/groups/sop/apply", chat_ids=["wr-sales", "wr-support"], sop_id=sop_id)
    paused = db.session.scalar(select(GroupSop.id).where(GroupSop.paused.is_(True)))
    told = _post(client, "/community/groups/sop/apply", chat_ids=["wr-sales"], sop_id=paused).get_data(as_text=True)
    assert "新加入 1 个群" in told and "该SOP已暂停，恢复后才会执行" in told
    calendar = client.get("/community/sop").get_data(as_text=True)
    assert "触达群数" in calendar and "3 <span" in calendar and "（含手动加入 2 个）" in calendar


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_other_roles_are_refused(client, signed_in_as, sop_id, role):
    signed_in_as(role)
    assert "data-bulk-sop" not in client.get("/contacts/groups").get_data(as_text=True)
    token = csrf_token(client, "/contacts/groups")
    for url in ("/community/groups/sop", "/community/groups/sop/apply", "/community/groups/sop/remove"):
        answer = client.post(url, data={"csrf_token": token, "chat_ids": ["wr-sales"], "sop_id": sop_id})
        assert answer.status_code == 403
    assert _added(sop_id) == []
