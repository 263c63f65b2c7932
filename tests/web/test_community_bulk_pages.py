"""Issue 19 pages: the group list's bulk push (the push editor pre-filled with the ticked groups) and Excel export,
the welcome editor's 群活码, and a supervisor's review of an invitation above the approval threshold."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.campaigns.models import Campaign
from app.community.models import Invitation, JoinCode
from app.contacts.models import CustomerGroup
from app.core import settings
from app.core.db import utcnow
from app.extensions import db
from app.welcome.models import WelcomeTemplate
from tests.conftest import csrf_token
from tests.web.test_community_pages import groups  # noqa: F401  (the fixture: two groups, a VIP code)


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/contacts/groups"), "next": "/contacts/groups",
                                  **data})


def test_bulk_push_opens_the_group_push_editor_with_the_ticked_groups(client, signed_in_as, groups):
    signed_in_as("community_manager")
    listing = client.get("/contacts/groups").get_data(as_text=True)
    assert "data-bulk-push" in listing and "data-bulk-export" in listing
    answer = _post(client, "/community/groups/push", chat_ids=["wr-small", "wr-full"], tier="vip")
    assert answer.status_code == 302 and "/campaigns/new?" in answer.headers["Location"]
    editor = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert '<option value="group" selected' in editor
    for chat_id, name in (("wr-small", "新人群"), ("wr-full", "VIP一群")):  # the groups picked, shown by name
        assert f'{name}<input type="hidden" name="group_chat_ids" value="{chat_id}">' in editor
    assert db.session.query(Campaign).count() == 0  # nothing saved until the editor saves
    nothing = _post(client, "/community/groups/push")
    assert nothing.status_code == 302 and nothing.headers["Location"].endswith("/contacts/groups")
    assert "请至少勾选一个客户群" in client.get("/contacts/groups").get_data(as_text=True)


def test_bulk_export_gives_the_ticked_groups_with_numbers_as_numbers(client, signed_in_as, groups):
    signed_in_as("community_manager")
    answer = _post(client, "/community/groups/export", chat_ids=["wr-full"])
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert rows[0][:6] == ("群名称", "群ID", "分层", "群主", "成员数", "其中客户")
    assert len(rows) == 2 and rows[1][:6] == ("VIP一群", "wr-full", "VIP 群", "王丽", 198, 198)  # 199 joined, 1 left
    answer = _post(client, "/community/groups/export", chat_ids=["wr-full", "wr-small"])
    cells = {c[1].value: c for c in list(load_workbook(io.BytesIO(answer.data)).active.iter_rows())[1:]}
    assert {(c[4].number_format, c[5].number_format) for c in cells.values()} == {("#,##0", "#,##0")}
    assert sum(c[4].value for c in cells.values()) == 198 + cells["wr-small"][4].value  # SUM() over 成员数 works
    created = db.session.scalar(select(CustomerGroup.created_at).where(CustomerGroup.chat_id == "wr-full"))
    created = created.astimezone(settings.corp_timezone())
    assert (cells["wr-full"][6].value, cells["wr-full"][6].number_format) == (
        created.replace(tzinfo=None, microsecond=0), "yyyy-mm-dd hh:mm")  # an Excel time, corp-local


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_bulk_actions_are_for_community_managers(client, signed_in_as, groups, role):
    signed_in_as(role)
    assert "data-bulk-push" not in client.get("/contacts/groups").get_data(as_text=True)
    token = csrf_token(client, "/contacts/groups")
    assert client.post("/community/groups/export", data={"csrf_token": token, "chat_ids": ["wr-full"]}).status_code == 403


def test_the_welcome_editor_offers_the_group_codes(client, signed_in_as, groups):
    signed_in_as("community_manager")
    code_id = db.session.query(JoinCode.id).scalar()
    page = client.get("/welcome/templates/new?scope=channel").get_data(as_text=True)
    assert "data-group-code" in page and "VIP 门店码" in page
    token = csrf_token(client, "/welcome/templates/new")
    answer = client.post("/welcome/templates/new", data={"csrf_token": token, "name": "门店新客", "scope": "channel",
                                                         "text": "欢迎光临", "enabled": "1", "group_code_id": code_id,
                                                         "action": "preview"})
    assert "wework.qpic.cn/wwpic/join/cfg1/0" in answer.get_data(as_text=True)  # the QR in the preview
    client.post("/welcome/templates/new", data={"csrf_token": token, "name": "门店新客", "scope": "channel",
                                                "text": "欢迎光临", "enabled": "1", "group_code_id": code_id})
    assert db.session.query(WelcomeTemplate.group_code_id).scalar() == code_id


@pytest.fixture
def waiting(groups):
    code_id = db.session.query(JoinCode.id).scalar()
    invitation = Invitation(name="全员 VIP 邀请", tier="vip", join_code_id=code_id, tag_id="et1", text="邀请您入群",
                            status="pending_approval", recipients=5400, created_by="community", created_at=utcnow())
    db.session.add(invitation)
    db.session.commit()
    return invitation.id


def test_a_supervisor_reviews_a_large_invitation(client, signed_in_as, waiting):
    signed_in_as("supervisor")
    queue = client.get("/campaigns/approvals").get_data(as_text=True)
    assert "入群邀请（标签建群）" in queue and "全员 VIP 邀请" in queue and "5,400" in queue
    page = client.get(f"/community/invitations/{waiting}/review").get_data(as_text=True)
    assert "data-pending-approval" in page and "data-review" in page and "邀请您入群" in page
    assert 'href="/community/' not in page  # no links into pages a supervisor may not open
    token = csrf_token(client, f"/community/invitations/{waiting}/review")
    client.post(f"/community/invitations/{waiting}/decide", data={"csrf_token": token, "decision": "reject",
                                                                  "comment": ""})
    assert db.session.get(Invitation, waiting).status == "pending_approval"  # a rejection needs a reason
    client.post(f"/community/invitations/{waiting}/decide", data={"csrf_token": token, "decision": "approve",
                                                                  "comment": "同意"})
    db.session.expire_all()
    invitation = db.session.get(Invitation, waiting)
    assert (invitation.status, invitation.approved_by) == ("planning", "supervisor-user")


def test_the_community_manager_cannot_approve_their_own_invitation(client, signed_in_as, waiting):
    signed_in_as("community_manager")
    page = client.get(f"/community/invitations/{waiting}").get_data(as_text=True)
    assert "data-pending-approval" in page and "data-review" not in page
    token = csrf_token(client, "/contacts/groups")
    answer = client.post(f"/community/invitations/{waiting}/decide", data={"csrf_token": token, "decision": "approve"})
    assert answer.status_code == 403 and db.session.get(Invitation, waiting).status == "pending_approval"
