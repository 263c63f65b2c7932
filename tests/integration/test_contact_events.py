"""Customer events beyond add/edit/delete, from the emulator's simulated user actions through real callbacks:
免验证添加 with its one-use WelcomeCode, no WelcomeCode for business partners, a failed handover, chat-archiving
consent and the welcome held back for it (41053)."""
import pytest
from sqlalchemy import select

from app.contacts.models import FollowRelation, RelationEvent
from app.extensions import db
from app.welcome.models import Outcome, WelcomeRecord
from tests.integration.test_sync_events import deliver
from tests.integration.test_welcome_pages import operator  # noqa: F401 (fixture)
from tests.integration.test_welcome_send import record, staff, template, welcomes  # noqa: F401 (staff: fixture)


def records(external_userid: str) -> list[tuple[str, str, str | None]]:
    db.session.expire_all()
    return [(r.outcome, r.reason, r.welcome_code) for r in db.session.scalars(
        select(WelcomeRecord).where(WelcomeRecord.external_userid == external_userid).order_by(WelcomeRecord.id))]


def test_a_half_add_is_welcomed_once_and_its_completion_sends_nothing_more(wired, staff, operator):
    template("默认", "default", "欢迎光临")
    half = deliver(wired, "add_half_customer", userid=staff[0], state="store-01")
    assert half["welcome_code"]
    ext = half["external_userid"]
    completed = deliver(wired, "add_customer", userid=staff[0], external_userid=ext)
    assert completed["welcome_code"] is None  # WeCom: the welcome already went out with the half add's code
    assert [(w["welcome_code"], w["errcode"]) for w in welcomes(wired)] == [(half["welcome_code"], 0)]
    assert records(ext) == [(Outcome.SENT, "", half["welcome_code"]), (Outcome.SKIPPED, "no_code_half_sent", None)]
    db.session.expire_all()
    rel = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == ext))
    assert (rel.userid, rel.state, rel.ended_at) == (staff[0], "store-01", None)
    page = operator.get("/welcome/").get_data(as_text=True)
    assert "欢迎语已随客户免验证添加时发送" in page


def test_a_business_partner_gets_no_welcome_and_the_page_says_why(wired, staff, operator):
    template("默认", "default", "欢迎光临")
    partner = deliver(wired, "add_customer", userid=staff[0], customer_type=2, corp_name="星河贸易")
    assert partner["welcome_code"] is None
    assert records(partner["external_userid"]) == [(Outcome.SKIPPED, "no_code_partner", None)]
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 0
    assert "对方是企业微信用户（合作伙伴）" in operator.get("/welcome/").get_data(as_text=True)


@pytest.mark.parametrize("reason, shown", [("customer_refused", "客户拒绝"),
                                           ("customer_limit_exceed", "接替成员客户数已达上限")])
def test_a_failed_handover_is_kept_and_shown_with_its_reason(wired, staff, operator, reason, shown):
    handover, takeover = staff
    ext = deliver(wired, "add_customer", userid=handover, welcome_code=False)["external_userid"]
    deliver(wired, "transfer_fail", handover_userid=handover, takeover_userid=takeover, external_userid=ext,
            fail_reason=reason)
    [event] = db.session.scalars(select(RelationEvent)).all()
    assert (event.kind, event.userid, event.external_userid, event.detail) == ("transfer_fail", takeover, ext, reason)
    db.session.expire_all()
    relations = db.session.scalars(select(FollowRelation).where(FollowRelation.external_userid == ext)).all()
    assert [(r.userid, r.ended_at) for r in relations] == [(handover, None)]  # stays with the handover member
    page = operator.get(f"/contacts/{ext}").get_data(as_text=True)
    assert f"接替失败：{shown}" in page


def test_chat_archiving_consent_is_recorded_once(wired, staff, operator):
    ext = deliver(wired, "add_customer", userid=staff[0], welcome_code=False)["external_userid"]
    approved = deliver(wired, "msg_audit_approved", userid=staff[0], external_userid=ext, duplicate=True)
    assert approved["welcome_code"]
    events = db.session.scalars(select(RelationEvent)).all()
    assert [(e.kind, e.userid, e.external_userid) for e in events] == [("msg_audit_approved", staff[0], ext)]
    assert "会话存档" in operator.get(f"/contacts/{ext}").get_data(as_text=True)
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 0  # no welcome was held back


def test_a_welcome_held_back_for_archiving_consent_goes_out_once_they_agree(wired, staff, operator):
    template("默认", "default", "欢迎光临")
    added = deliver(wired, "add_customer", userid=staff[0], archive_consent=False)
    ext = added["external_userid"]
    assert records(ext) == [(Outcome.FAILED, "awaiting_consent", added["welcome_code"])]
    assert "客户尚未同意会话存档" in operator.get("/welcome/").get_data(as_text=True)
    approved = deliver(wired, "msg_audit_approved", userid=staff[0], external_userid=ext)
    assert [(w["welcome_code"], w["errcode"]) for w in welcomes(wired)] == [
        (added["welcome_code"], 41053), (approved["welcome_code"], 0)]
    assert records(ext) == [(Outcome.SENT, "", added["welcome_code"])]  # the add's record, now sent
    deliver(wired, "msg_audit_approved", userid=staff[0], external_userid=ext)  # agreeing again sends nothing
    assert wired.control.call_count("externalcontact/send_welcome_msg") == 2
