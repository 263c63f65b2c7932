"""The supervisors' one approvals queue (待审批): a push, a journey version, an invitation into groups and a referral
launch waiting are listed in one table, oldest first, each approved from its link; every count says the same number;
only approvers see the queue."""
import re
from datetime import timedelta

import pytest

from app.campaigns.models import Campaign, CampaignApproval
from app.community.models import Invitation, JoinCode
from app.core.db import transaction, utcnow
from app.extensions import db
from app.journeys import service as journeys
from app.journeys.models import Journey
from app.referral.models import LaunchStatus, ReferralLaunch
from tests.conftest import csrf_token
from tests.web.test_community_pages import groups  # noqa: F401  (the fixture: groups and a VIP join code)
from tests.web.test_referral_launch_pages import running
from tests.web.test_referral_pages import staff  # noqa: F401  (the fixture)

FORM = re.compile(r'<form method="post" action="([^"]+/(?:decide|approve))"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def waiting(groups, staff):
    """One of each kind, submitted an hour apart (the journey last, just now); their names in that order."""
    now = utcnow()
    with transaction():
        push = Campaign(name="周末上新", status="pending_approval", created_by="operator", schedule_kind="at",
                        run_at=now + timedelta(days=1))
        db.session.add(push)
        db.session.flush()
        db.session.add(CampaignApproval(campaign_id=push.id, version=push.version, decision="submitted",
                                        actor="operator", recipients=8200, at=now - timedelta(hours=4)))
        db.session.add(Invitation(name="全员 VIP 邀请", tier="vip", join_code_id=db.session.query(JoinCode.id).scalar(),
                                  tag_id="et1", text="邀请您入群", status="pending_approval", recipients=5400,
                                  created_by="community", created_at=now - timedelta(hours=3)))
    task = running()
    with transaction():
        db.session.add(ReferralLaunch(task_id=task.id, status=LaunchStatus.PENDING, text="邀请好友领礼盒",
                                      link_title="我的专属海报", recipients=6100, requested_by="operator",
                                      requested_at=now - timedelta(hours=2)))
    journeys.submit(journeys.create("", "wakeup", "operator"), "operator", may_approve=False)
    return ["周末上新", "全员 VIP 邀请", "双 12 老带新", db.session.query(Journey.name).scalar()]


def _rows(html: str) -> list[str]:
    table = html.split("data-approvals", 1)[1].split("</table>", 1)[0] if "data-approvals" in html else ""
    return table.split("<tr data-waiting>")[1:]


def _pending_counts(client) -> tuple[str, str]:
    """The number on the home card and on the 待审批 button of the push list."""
    home = client.get("/").get_data(as_text=True)
    card = home.split('<div class="text-muted small">待审批</div>', 1)[1].split("</a>", 1)[0].rsplit(">", 1)[1]
    button = client.get("/campaigns/").get_data(as_text=True).split("待审批 <span", 1)[1].split("</span>")[0]
    return card.strip(), button.rsplit(">", 1)[1].strip()


def _approve_from(client, url: str) -> None:
    """Open the item's page as the queue links it and send its approve form as the supervisor would."""
    page = client.get(url)
    assert page.status_code == 200
    action, body = FORM.search(page.get_data(as_text=True)).groups()
    data = dict(HIDDEN.findall(body), decision="approve", comment="同意")
    assert client.post(action, data=data).status_code == 302


def test_one_queue_lists_every_kind_oldest_first_and_each_is_approved_from_its_link(client, signed_in_as, waiting):
    signed_in_as("supervisor")
    rows = _rows(client.get("/campaigns/approvals").get_data(as_text=True))
    assert [next(name for name in waiting if name in row) for row in rows] == waiting
    push, invitation, launch, journey = rows
    assert "群发" in push and "8,200" in push and "v1" in push and "operator" in push
    assert "入群邀请（标签建群）" in invitation and "5,400" in invitation and "community" in invitation
    assert "任务宝推送" in launch and "6,100" in launch and "我的专属海报" in launch
    assert "客户旅程" in journey and "v1" in journey
    assert _pending_counts(client) == ("4", "4")

    for left, row in zip((3, 2, 1, 0), rows):
        _approve_from(client, re.search(r'<a href="([^"]+)">', row).group(1))
        db.session.expire_all()
        assert len(_rows(client.get("/campaigns/approvals").get_data(as_text=True))) == left
        assert _pending_counts(client) == (str(left), str(left))
    assert db.session.query(Campaign.approved_by).scalar() == "supervisor-user"
    assert db.session.query(Invitation.status, Invitation.approved_by).one() == ("planning", "supervisor-user")
    launch = db.session.query(ReferralLaunch).one()
    assert (launch.status, launch.decided_by, launch.decision_comment) == (LaunchStatus.COUNTING, "supervisor-user",
                                                                          "同意")
    assert db.session.query(Journey.status).scalar() == "active"
    assert "没有待审批的内容" in client.get("/campaigns/approvals").get_data(as_text=True)


def test_a_referral_launch_is_rejected_on_its_review_page_with_a_reason(client, signed_in_as, waiting):
    signed_in_as("supervisor")
    launch = db.session.query(ReferralLaunch).one()
    url = f"/referral/launches/{launch.id}/review"
    page = client.get(url).get_data(as_text=True)
    assert "data-review" in page and "邀请好友领礼盒" in page and "6,100" in page
    token = csrf_token(client, url)
    client.post(f"/referral/launches/{launch.id}/decide", data={"csrf_token": token, "decision": "reject"})
    assert "驳回时请写明原因" in client.get(url).get_data(as_text=True)
    assert db.session.get(ReferralLaunch, launch.id).status == LaunchStatus.PENDING
    client.post(f"/referral/launches/{launch.id}/decide", data={"csrf_token": token, "decision": "reject",
                                                                "comment": "人数太多，分批发"})
    db.session.expire_all()
    assert db.session.get(ReferralLaunch, launch.id).status == LaunchStatus.REJECTED
    assert "data-review" not in client.get(url).get_data(as_text=True)
    assert len(_rows(client.get("/campaigns/approvals").get_data(as_text=True))) == 3
    client.get("/auth/logout")
    signed_in_as("operator")  # who launched it reads why on the task's 推送 tab
    tab = client.get(f"/referral/{launch.task_id}/launch").get_data(as_text=True)
    assert "审批未通过" in tab and "人数太多，分批发" in tab


@pytest.mark.parametrize("role", ["operator", "community_manager", "viewer"])
def test_only_approvers_see_the_queue_and_the_review_pages(client, signed_in_as, waiting, role):
    signed_in_as(role)
    launch = db.session.query(ReferralLaunch.id).scalar()
    invitation = db.session.query(Invitation.id).scalar()
    for url in ("/campaigns/approvals", f"/referral/launches/{launch}/review",
                f"/community/invitations/{invitation}/review"):
        assert client.get(url).status_code == 403
    token = csrf_token(client, "/")
    assert client.post(f"/referral/launches/{launch}/decide", data={"csrf_token": token, "decision": "approve"}
                       ).status_code == 403
    assert db.session.get(ReferralLaunch, launch).status == LaunchStatus.PENDING
    assert f'href="/referral/launches/{launch}/review"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role, status", [("community_manager", 200), ("supervisor", 403), ("operator", 403)])
def test_community_managers_create_invitations_and_are_told_large_ones_wait(client, signed_in_as, groups, role,
                                                                             status):
    signed_in_as(role)
    page = client.get("/community/invitations/new")
    assert page.status_code == status
    if status == 200:
        assert "时需要主管审批" in page.get_data(as_text=True)


def test_the_count_is_one_count_query_per_kind_and_says_what_the_queue_lists(app, waiting):
    from sqlalchemy import event

    from app.campaigns.approval import queue

    journeys.submit(journeys.create("", "wakeup", "operator"), "operator", may_approve=False)  # two journeys wait
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with app.test_request_context():
            listed = queue.waiting()
            listing, statements[:] = len(statements), []
            counted = queue.count()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert counted == len(listed) == 5
    assert {w.kind for w in listed} == {"群发", "入群邀请（标签建群）", "任务宝推送", "客户旅程"}
    assert len(statements) == 4 and all("count(" in s.lower() for s in statements)
    assert listing == 4  # the journeys' list too is one query, however many journeys wait
