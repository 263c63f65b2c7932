"""Sends made outside the console are imported once per recipient, incrementally; the console's own are left out."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.sending.models import OutsideSend
from app.sending.outside_sends import OutsideImport, import_outside_sends, watermark
from app.wecom.errors import WeComPermissionDenied
from tests.integration.campaign_exec_support import dispatch_all, make_run, staff_and_customers, tasks


def imported():
    db.session.expire_all()
    return sorted(db.session.execute(select(OutsideSend.sender_userid, OutsideSend.target_key,
                                            OutsideSend.chat_type)).all())


def test_member_sends_imported_once_console_sends_left_out(wired, wecom):
    (first, theirs1), (second, theirs2) = staff_and_customers(wecom, 2)
    own = wired.control.post("groupmsg/member_send", userid=first, external_userid=theirs1[:2], text="成员自己发")
    run_id = make_run([(theirs2[0], second)])
    dispatch_all()
    wired.control.confirm(tasks(run_id)[0].msgid)

    run = import_outside_sends()
    assert run.error is None and run.messages == 1 and run.rows == 2
    assert imported() == sorted((first, t, "single") for t in theirs1[:2])
    assert db.session.scalar(select(OutsideSend.msgid).limit(1)) == own["msgid"]
    assert watermark() == run.window_end

    wired.control.post("groupmsg/member_send", userid=second, external_userid=theirs2[1:2], text="又一条")
    again = import_outside_sends()
    assert again.window_start < run.window_end  # looks back for late confirmations
    assert len(imported()) == 3  # the first message again adds nothing
    assert db.session.query(OutsideImport).count() == 2


def test_failed_import_keeps_the_watermark(wired, wecom):
    wired.control.fault(api="externalcontact/get_groupmsg_list_v2", fail_next=10, fail_code=48002)
    with pytest.raises(WeComPermissionDenied):
        import_outside_sends()
    [run] = db.session.query(OutsideImport).all()
    assert run.error and "48002" in run.error and watermark() is None
