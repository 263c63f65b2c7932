"""任务宝 review flag "same device or IP on the progress page", end to end: an invitee added through the inviter's
contact way (callbacks over HTTP from the emulator) who opens their own progress page from the device the inviter
opened theirs from, in either order, has the credit flagged and shown in the review queue; approved, it stays
approved; another device or another browser on the same IP does not flag."""
from flask import current_app

from app.core.db import transaction
from app.referral import links, service
from app.referral.models import CreditStatus
from tests.conftest import csrf_token
from tests.integration.test_referral_credits import (add, credits_of, inviter, running_task, staff,  # noqa: F401
                                                     work)

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) MicroMessenger/8.0.44 NetType/WIFI Language/zh_CN"
OTHER_PHONE = "Mozilla/5.0 (Linux; Android 14; V2309A) MicroMessenger/8.0.43 NetType/4G Language/zh_CN"


def open_page(client, participant_id: int, ip: str, agent: str) -> None:
    with current_app.test_request_context():
        token = links.token_for(participant_id)
    page = client.get(f"/referral/p/{token}", environ_base={"REMOTE_ADDR": ip}, headers={"User-Agent": agent})
    assert page.status_code == 200


def invited(wired, task, me) -> service.ReferralParticipant:
    """A new customer adds through my contact way (a held credit) and joins the task as an inviter themselves."""
    friend = add(wired, config_id=me.config_id)["external_userid"]
    work()
    with transaction():
        return service.join(task, friend, invited_by=me.id)


def test_an_invitee_on_the_inviters_device_is_flagged_either_way_round_and_reviewed_once(wired, staff, client,
                                                                                         signed_in_as):
    task = running_task(staff)
    me = inviter(wired, task, staff)
    first, second, elsewhere, same_wifi = (invited(wired, task, me) for _ in range(4))
    assert {c.status for c in credits_of(me)} == {CreditStatus.HELD}

    open_page(client, me.id, "203.0.113.7", PHONE)          # the inviter, on their phone
    open_page(client, first.id, "198.51.100.20", OTHER_PHONE)  # the invitee on their own phone: fine
    open_page(client, elsewhere.id, "198.51.100.21", PHONE)    # the same phone model elsewhere: fine
    open_page(client, same_wifi.id, "203.0.113.7", OTHER_PHONE)  # another phone on the inviter's Wi-Fi: fine
    assert {c.status for c in credits_of(me)} == {CreditStatus.HELD}
    open_page(client, first.id, "203.0.113.7", PHONE)        # ... and then on the inviter's phone
    open_page(client, second.id, "192.0.2.9", OTHER_PHONE)     # the invitee first,
    open_page(client, me.id, "192.0.2.9", OTHER_PHONE)         # the inviter on that device afterwards
    status = {c.invitee: (c.status, c.reason) for c in credits_of(me)}
    assert status[first.external_userid] == status[second.external_userid] == (CreditStatus.FLAGGED, "same_device")
    assert status[elsewhere.external_userid][0] == status[same_wifi.external_userid][0] == CreditStatus.HELD

    signed_in_as("operator")
    queue = client.get(f"/referral/{task.id}/review").get_data(as_text=True)
    assert queue.count("与邀请人同一设备或 IP") == 2
    assert first.external_userid in queue and second.external_userid in queue
    flagged = {c.invitee: c for c in credits_of(me)}[first.external_userid]
    token = csrf_token(client, f"/referral/{task.id}/review")
    client.post(f"/referral/{task.id}/review/{flagged.id}",
                data={"csrf_token": token, "decision": "approve", "note": "夫妻共用手机，已电话核实"})
    open_page(client, first.id, "203.0.113.7", PHONE)  # back on the shared phone: not flagged again
    approved = {c.invitee: c for c in credits_of(me)}[first.external_userid]
    assert (approved.status, approved.review_note) == (CreditStatus.HELD, "夫妻共用手机，已电话核实")
    queue = client.get(f"/referral/{task.id}/review").get_data(as_text=True)
    assert first.external_userid not in queue and second.external_userid in queue
