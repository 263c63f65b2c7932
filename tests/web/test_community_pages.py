"""社群运营 pages as community managers see them: codes with joins and the nearly-full alert, welcomes with the binding
note, tiers, the group list's filters and bulk "set tier"; other roles are refused."""
from datetime import timedelta

import pytest

from app.community.figures import GROUP_CAPACITY
from app.community.models import GroupTier, GroupWelcome, JoinCode
from app.contacts.models import CustomerGroup, CustomerGroupMember, Staff
from app.core.db import utcnow
from app.extensions import db
from tests.conftest import csrf_token


@pytest.fixture
def groups(app):
    now = utcnow()
    db.session.add_all([Staff(userid="alice", name="王丽", department_ids=[1], is_follow_user=True),
                        Staff(userid="bob", name="李波", department_ids=[1], is_follow_user=True)])
    db.session.add_all([CustomerGroup(chat_id="wr-full", name="VIP一群", owner="alice", created_at=now),
                        CustomerGroup(chat_id="wr-small", name="新人群", owner="bob", created_at=now)])
    db.session.flush()
    full = [CustomerGroupMember(chat_id="wr-full", userid=f"wm{i}", type=2, join_time=now - timedelta(days=10),
                                state="vip-01" if i < 5 else "") for i in range(GROUP_CAPACITY - 1)]
    full[0].left_at = now - timedelta(days=9)  # left within a week
    db.session.add_all(full + [CustomerGroupMember(chat_id="wr-small", userid="wmx", type=2, join_time=now)])
    db.session.add_all([JoinCode(name="VIP 门店码", config_id="cfg1", state="vip-01", chat_ids=["wr-full"],
                                 wecom_chat_ids=["wr-full"], auto_create_room=False, tier="vip",
                                 qr_code="https://wework.qpic.cn/wwpic/join/cfg1/0"),
                        GroupTier(chat_id="wr-full", tier="vip"),
                        GroupWelcome(name="VIP 欢迎", template_id="msg1", text="欢迎 %NICKNAME%", tier="vip")])
    db.session.commit()


def test_codes_show_joins_retention_and_the_nearly_full_alert(client, signed_in_as, groups):
    signed_in_as("community_manager")
    html = client.get("/community/").get_data(as_text=True)
    assert "VIP 门店码" in html and "data-alert=" in html  # 199 of 200 seats taken and no new groups
    assert "管理后台看不到" in html  # API-made codes are managed here only
    row = html.split('data-code="')[1]
    assert 'data-joins>5<' in row and 'data-leaves>1<' in row and "80%" in row  # 4 of 5 stayed 7 days
    code_id = db.session.query(JoinCode.id).scalar()
    page = client.get(f"/community/codes/{code_id}").get_data(as_text=True)
    assert "下载二维码" in page and "打印海报" in page and 'data-group="wr-full"' in page


def test_welcomes_say_binding_is_done_by_owners_and_show_the_tier(client, signed_in_as, groups):
    signed_in_as("community_manager")
    html = client.get("/community/welcomes").get_data(as_text=True)
    assert "VIP 欢迎" in html and "data-binding-note" in html and "VIP 群" in html
    tiers = client.get("/community/tiers").get_data(as_text=True)
    assert 'data-tier="vip"' in tiers and "VIP 欢迎" in tiers and "VIP 门店码" in tiers


def test_group_list_filters_and_bulk_tier(client, signed_in_as, groups):
    signed_in_as("community_manager")
    vip = client.get("/contacts/groups?tier=vip").get_data(as_text=True)
    assert 'data-group="wr-full"' in vip and 'data-group="wr-small"' not in vip
    assert 'data-group="wr-small"' in client.get("/contacts/groups?tier=none").get_data(as_text=True)
    by_owner = client.get("/contacts/groups?owner=bob").get_data(as_text=True)
    assert 'data-group="wr-small"' in by_owner and 'data-group="wr-full"' not in by_owner
    big = client.get("/contacts/groups?min=100").get_data(as_text=True)
    assert 'data-group="wr-full"' in big and 'data-group="wr-small"' not in big
    small = client.get("/contacts/groups?max=1").get_data(as_text=True)
    assert 'data-group="wr-small"' in small and 'data-group="wr-full"' not in small
    token = csrf_token(client, "/contacts/groups")
    answer = client.post("/community/tiers/set", data={"csrf_token": token, "tier": "newcomer",
                                                       "chat_ids": ["wr-small"], "next": "/contacts/groups"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/contacts/groups")
    assert db.session.get(GroupTier, "wr-small").tier == "newcomer"
    bad = client.post("/community/tiers/set", data={"csrf_token": token, "tier": "vip",
                                                    "chat_ids": ["wr-small", "wr-nope"]}, follow_redirects=True)
    assert "有的客户群不存在或不在你的可见范围内，没有修改任何群" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(GroupTier, "wr-small").tier == "newcomer"  # nothing changed


@pytest.mark.parametrize("role", ["operator", "viewer", "supervisor"])
def test_other_roles_are_refused(client, signed_in_as, groups, role):
    signed_in_as(role)
    assert client.get("/community/").status_code == 403
    assert client.get("/community/welcomes").status_code == 403
    assert 'data-bulk-tier' not in client.get("/contacts/groups").get_data(as_text=True)
