"""Issue 19 over real HTTP against the emulator: a channel's welcome carries a 群活码 and the join it brings is credited
to the code's state; a group WeCom opens for a full code gets the code's tier (callback, and the job after a sync);
invitations above the push approval threshold wait for a supervisor."""
import pytest
from sqlalchemy import select

from app import jobs
from app.campaigns.policy import policies
from app.community import code_stats, codes, invitation_review, invitations, opened
from app.community.models import GroupTier, Invitation, JoinCode
from app.contacts.models import CustomerGroupMember, FollowRelation
from app.core import content
from app.core.db import transaction
from app.extensions import db
from app.sending.models import Delivery
from app.welcome import channels, messages
from app.welcome.models import Outcome, WelcomeTemplate
from tests.conftest import run_jobs
from tests.integration.test_community import empty_group, make_code, owner, scan  # noqa: F401  (owner: a fixture)
from tests.integration.test_welcome_send import add, record, welcomes, work


def welcome_with_code(code: JoinCode, **extra):
    return messages.save(None, messages.TemplateInput(name="门店新客", scope="channel", text="欢迎光临八号店",
                                                      group_code_id=code.id, **extra))


def test_a_channel_welcome_carries_the_group_code_and_the_join_is_credited_to_its_state(wired, owner):
    chat_id = empty_group(wired, owner, "新人一群")
    code = make_code([chat_id], "store-08", tier="newcomer", name="八号店新人群")
    link = {"msgtype": "link", "link": {"title": "新人礼", "url": "https://shop.example/gift"}}
    template = welcome_with_code(code, attachments=[link])
    channel = channels.create(channels.ChannelInput("八号店", "ch-store-08", [owner], template_id=template.id))
    added = add(wired, config_id=channel.config_id)
    work()
    [sent] = [w for w in welcomes(wired) if w["external_userid"] == added["external_userid"]]
    assert sent["errcode"] == 0 and sent["text"] == "欢迎光临八号店"
    assert sent["attachments"] == [link, {"msgtype": "image", "image": {"pic_url": code.qr_code}}]  # the QR last
    assert record(added["external_userid"]).outcome == Outcome.SENT

    scan(wired, code, external_userid=added["external_userid"])  # the customer scans the QR in the welcome
    db.session.expire_all()
    member = db.session.scalar(select(CustomerGroupMember).where(
        CustomerGroupMember.userid == added["external_userid"]))
    assert (member.chat_id, member.state) == (chat_id, "store-08")
    figures = code_stats.figures([db.session.get(JoinCode, code.id)])[code.id]
    assert figures.total.joins == 1

    with pytest.raises(codes.CodeInvalid) as kept:  # the welcome still carries it: not deleted, WeCom untouched
        codes.delete(db.session.get(JoinCode, code.id))
    assert "门店新客" in str(kept.value)
    assert db.session.get(JoinCode, code.id) is not None


def test_the_code_counts_as_an_attachment_and_must_exist(wired, owner):
    code = make_code([empty_group(wired, owner, "满员测试群")], "store-09")
    nine = [{"msgtype": "link", "link": {"title": f"链接{i}", "url": "https://shop.example/"}}
            for i in range(content.MAX_ATTACHMENTS)]
    with pytest.raises(messages.TemplateInvalid) as full:
        welcome_with_code(code, attachments=nine)
    assert [e.where for e in full.value.errors] == ["group_code_id"]
    with pytest.raises(messages.TemplateInvalid) as unknown:
        messages.save(None, messages.TemplateInput(name="x", scope="channel", text="你好", group_code_id=code.id + 99))
    assert [e.where for e in unknown.value.errors] == ["group_code_id"]
    assert not db.session.scalars(select(WelcomeTemplate)).all()  # nothing saved


def test_a_group_wecom_opens_for_a_full_code_gets_the_codes_tier(wired, owner):
    wired.control.config(group_capacity=2)  # the owner and one customer
    first = empty_group(wired, owner, "VIP一群")
    code = make_code([first], "vip-store", tier="vip")
    scan(wired, code)
    new = scan(wired, code)
    assert new["opened"] and new["chat_id"] != first
    db.session.expire_all()
    code = db.session.get(JoinCode, code.id)
    assert code.wecom_chat_ids == [first, new["chat_id"]] and code.chat_ids == [first]  # as WeCom lists it
    assert db.session.get(GroupTier, new["chat_id"]).tier == "vip"
    assert db.session.get(GroupTier, first) is None  # the operator's own groups keep what the operator set

    # as if the join event was lost: the job a full sync queues finds the group from its members' state
    with transaction():
        db.session.delete(db.session.get(GroupTier, new["chat_id"]))
        code.wecom_chat_ids = [first]
    jobs.enqueue("contacts.sync", {"started_by": "test"}, requested_by="test")
    run_jobs()  # the sync, then the job it queued
    assert db.session.get(GroupTier, new["chat_id"]).tier == "vip"
    assert db.session.get(JoinCode, code.id).wecom_chat_ids == [first, new["chat_id"]]
    assert opened.adopt_all() == 0  # nothing left to adopt


def _invite(code: JoinCode) -> Invitation:
    tag_id = next(t for tags in db.session.scalars(select(FollowRelation.tag_ids)) for t in tags or [])
    data = invitations.InvitationInput("VIP 邀请", "vip", code.id, None, tag_id, "邀请您入群", "还没入群？", 3)
    invitation = invitations.create(data, "community")
    run_jobs()
    db.session.expire_all()
    return db.session.get(Invitation, invitation.id)


def test_an_invitation_above_the_approval_threshold_waits_for_a_supervisor(wired, owner):
    code = make_code([empty_group(wired, owner, "VIP群")], "vip-01", tier="vip")
    policies.save({"approval_threshold": 2}, "test")
    waiting = _invite(code)
    assert waiting.status == "pending_approval" and waiting.first_send_id is None and waiting.recipients > 2
    assert [i.id for i in invitation_review.pending()] == [waiting.id]
    assert not db.session.scalars(select(Delivery)).all()  # nothing planned, nobody invited yet
    invitation_review.approve(waiting.id, "supervisor", "门店活动，同意")
    run_jobs()
    db.session.expire_all()
    approved = db.session.get(Invitation, waiting.id)
    assert approved.status == "sent" and approved.approved_by == "supervisor" and approved.first_send_id
    with pytest.raises(invitation_review.ReviewError):  # decided once
        invitation_review.reject(waiting.id, "supervisor", "改主意了")

    refused = _invite(code)
    with pytest.raises(invitation_review.ReviewError):  # a rejection needs its reason
        invitation_review.reject(refused.id, "supervisor", " ")
    invitation_review.reject(refused.id, "supervisor", "人数太多，分批发")
    run_jobs()
    db.session.expire_all()
    refused = db.session.get(Invitation, refused.id)
    assert (refused.status, refused.first_send_id, refused.decision_comment) == ("rejected", None, "人数太多，分批发")


def test_an_invitation_at_or_below_the_threshold_goes_at_once(wired, owner):
    code = make_code([empty_group(wired, owner, "VIP群")], "vip-02", tier="vip")
    policies.save({"approval_threshold": 100_000}, "test")
    invitation = _invite(code)
    assert invitation.status == "sent" and invitation.approved_by == "system" and invitation.first_send_id
