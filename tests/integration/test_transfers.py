"""客户继承 against the emulator over HTTP: WeCom's limits refused with their reason before any call, 100 customers a
call, the 24 h takeover, transfer_fail and DELETE_BY_TRANSFER through the callback URL, the local owner following only
a success, reruns that never submit twice, and 离职继承 from get_unassigned_list with groups and the AB角."""
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from app.contacts import sync
from app.contacts.models import CustomerGroup, FollowRelation
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.extensions import db
from app.transfer import jobs as transfer_jobs, service
from app.transfer.models import (CUSTOMER, FAILED, GROUP, ONJOB, PENDING, REFUSED, RESIGNED, SUCCEEDED, WAITING,
                                 TransferBatch, TransferItem)
from app.wecom import inbox
from tests.conftest import run_jobs

DAY = 86400


def _full_sync():
    return sync.execute(sync.begin("test").id)


def _members() -> tuple[str, str, str]:
    """Three follow users, the one with the most customers first."""
    rows = db.session.execute(select(FollowRelation.userid, func.count()).where(FollowRelation.ended_at.is_(None))
                              .group_by(FollowRelation.userid)
                              .order_by(func.count().desc(), FollowRelation.userid)).all()
    return rows[0][0], rows[1][0], rows[2][0]


def _items(batch_id: int) -> dict[str, TransferItem]:
    db.session.expire_all()
    return {i.object_id: i for i in db.session.scalars(select(TransferItem).where(TransferItem.batch_id == batch_id))}


def _emulated(emulator) -> list[dict]:
    return emulator.control.get("transfers")["transfers"]


def _open_relation(userid: str, ext: str) -> bool:
    db.session.expire_all()
    return db.session.scalar(select(FollowRelation.id).where(FollowRelation.userid == userid,
                                                             FollowRelation.external_userid == ext,
                                                             FollowRelation.ended_at.is_(None))) is not None


def _history(ext: str, handover: str, takeover: str, status: str, *, accepted_days: float | None,
             finished_days: float | None = None, target: str = CUSTOMER) -> None:
    """An earlier transfer made through the console (what the rules count)."""
    batch = TransferBatch(kind=ONJOB, handover_userid=handover, takeover_userid=takeover, created_by="earlier")
    db.session.add(batch)
    db.session.flush()
    now = utcnow()
    db.session.add(TransferItem(batch_id=batch.id, target=target, object_id=ext, handover_userid=handover,
                                takeover_userid=takeover, status=status, reason="", reason_params={},
                                accepted_at=None if accepted_days is None else now - timedelta(days=accepted_days),
                                finished_at=None if finished_days is None else now - timedelta(days=finished_days),
                                owner_moved=False))
    db.session.commit()


def _plan(kind, handover, takeover, customers=(), groups=(), msg="") -> TransferBatch:
    return service.plan(service.Selection(kind, handover, takeover, list(customers), list(groups), msg), "tester")


def test_limits_are_refused_with_their_reason_before_calling_wecom(synced):
    handover, takeover, other = _members()
    twice, protected, waiting, fine = service.customers_of(handover)[:4]
    _history(twice, other, handover, SUCCEEDED, accepted_days=200, finished_days=199)
    _history(twice, handover, other, FAILED, accepted_days=150, finished_days=149)  # refused by the customer: counts
    _history(protected, other, handover, SUCCEEDED, accepted_days=11, finished_days=10)
    _history(waiting, handover, other, WAITING, accepted_days=0.5)
    chats = service.groups_of(handover)
    for i in range(300):  # 300 groups given away by this owner within 24 hours
        _history(f"wrold{i}", handover, other, SUCCEEDED, accepted_days=None, finished_days=0.2, target=GROUP)

    batch = _plan(ONJOB, handover, takeover, [twice, protected, waiting, fine], chats)
    items = _items(batch.id)
    assert {e: items[e].status for e in (twice, protected, waiting, fine)} == {
        twice: REFUSED, protected: REFUSED, waiting: REFUSED, fine: PENDING}
    assert items[twice].reason.startswith("该客户已被转接 %(count)s 次") and items[twice].reason_params == {"count": 2}
    assert "90 天保护期" in items[protected].reason
    assert items[waiting].reason.startswith("正在转接中")
    assert chats and all(items[c].status == REFUSED and "300" in items[c].reason for c in chats)

    run_jobs()
    assert [t["external_userid"] for t in _emulated(synced)] == [fine]  # only the one that may go was sent
    assert synced.control.call_count("externalcontact/groupchat/onjob_transfer") == 0
    assert _items(batch.id)[fine].status == WAITING


def test_a_takeover_member_who_cannot_take_over_is_refused_and_nothing_is_written(synced):
    handover, _takeover, _other = _members()
    before = db.session.scalar(select(func.count()).select_from(TransferBatch))
    for takeover, words in ((handover, "不能是原跟进成员"), ("nobody", "在职"), ("backup", "AB 角")):
        try:
            _plan(ONJOB, handover, takeover, service.customers_of(handover)[:1])
        except service.TransferRequestError as exc:
            assert words in str(exc)
        else:
            raise AssertionError(f"{takeover} was accepted")
    assert db.session.scalar(select(func.count()).select_from(TransferBatch)) == before
    assert synced.control.call_count("externalcontact/transfer_customer") == 0


def test_250_customers_go_in_calls_of_100_and_a_rerun_sends_nothing_twice(synced):
    handover, takeover, _other = _members()
    synced.control.post("groupmsg/audience", userids=[handover], per_user=250)
    _full_sync()
    customers = service.customers_of(handover)
    assert len(customers) > 250
    batch = _plan(ONJOB, handover, takeover, customers, msg="您好，之后由我为您服务")
    run_jobs()
    calls = synced.control.call_count("externalcontact/transfer_customer")
    assert calls == -(-len(customers) // 100)
    assert sorted(t["external_userid"] for t in _emulated(synced)) == sorted(customers)
    assert set(i.status for i in _items(batch.id).values()) == {WAITING}

    transfer_jobs.submit(batch.id)  # a rerun: nothing is pending, nothing is sent
    assert synced.control.call_count("externalcontact/transfer_customer") == calls

    # A worker died after WeCom accepted the last call but before it committed: those items are pending again.
    last = list(_items(batch.id).values())[-5:]
    db.session.execute(update(TransferItem).where(TransferItem.id.in_([i.id for i in last]))
                       .values(status=PENDING, accepted_at=None))
    db.session.commit()
    transfer_jobs.submit(batch.id)
    items = _items(batch.id)
    assert all(items[i.object_id].status == WAITING for i in last)  # "being transferred": its own handover
    assert len(_emulated(synced)) == len(customers)  # WeCom holds one handover per customer, never two


def test_takeover_after_24_hours_and_the_owner_follows_only_a_success(synced):
    handover, takeover, _other = _members()
    ours = [e for e in service.customers_of(handover) if not _open_relation(takeover, e)][:3]
    kept, refused, moved = ours
    tags = db.session.scalar(select(FollowRelation.tag_ids).where(FollowRelation.userid == handover,
                                                                   FollowRelation.external_userid == moved))
    batch = _plan(ONJOB, handover, takeover, ours)
    run_jobs()
    synced.control.advance_clock(DAY - 120)
    assert transfer_jobs.poll()["waiting"] == 3
    assert all(_open_relation(handover, e) and not _open_relation(takeover, e) for e in ours)  # still the old owner

    synced.control.post("simulate/transfer_refuse", external_userid=refused)
    synced.control.config(member_customer_limit=10**6)
    synced.control.advance_clock(120)
    outcome = transfer_jobs.poll()
    assert (outcome["succeeded"], outcome["failed"]) == (2, 1)
    items = _items(batch.id)
    assert items[refused].status == FAILED and items[refused].reason == "客户拒绝了转接"
    assert _open_relation(handover, refused) and not _open_relation(takeover, refused)
    for ext in (kept, moved):
        assert items[ext].status == SUCCEEDED and items[ext].owner_moved
        assert not _open_relation(handover, ext) and _open_relation(takeover, ext)
    new = db.session.scalar(select(FollowRelation).where(FollowRelation.userid == takeover,
                                                         FollowRelation.external_userid == moved))
    assert (new.tag_ids, new.add_way) == (tags, 202)
    assert transfer_jobs.poll()["succeeded"] == 0  # nothing left waiting


def _deliver(emulator, before: int, count: int) -> None:
    records = emulator.control.wait_deliveries(before + count)
    assert all(a["http_status"] == 200 for r in records[before:] for a in r["attempts"])
    while inbox.work_once():
        pass


def test_transfer_fail_through_the_callback_fails_the_item_and_keeps_the_owner(wired):
    _full_sync()
    handover, takeover, _other = _members()
    refused, done = [e for e in service.customers_of(handover) if not _open_relation(takeover, e)][:2]
    batch = _plan(ONJOB, handover, takeover, [refused, done])
    run_jobs()
    before = len(wired.control.deliveries())
    wired.control.post("simulate/transfer_refuse", external_userid=refused)
    _deliver(wired, before, 1)
    items = _items(batch.id)
    assert items[refused].status == FAILED and items[refused].reason == "客户拒绝了转接"
    assert not items[refused].owner_moved and _open_relation(handover, refused)
    assert items[done].status == WAITING

    before = len(wired.control.deliveries())
    wired.control.advance_clock(DAY)  # WeCom completes the other: del_external_contact DELETE_BY_TRANSFER
    _deliver(wired, before, 1)
    items = _items(batch.id)
    assert items[done].status == SUCCEEDED and items[done].owner_moved
    assert _open_relation(takeover, done) and not _open_relation(handover, done)
    assert items[refused].status == FAILED


def test_departed_members_customers_and_groups_go_to_their_backup(synced, client, signed_in_as):
    handover, takeover, _other = _members()
    service.set_backup(handover, takeover, "tester")
    customers = service.customers_of(handover)
    groups = service.groups_of(handover)
    synced.control.post("simulate/resign", userid=handover)
    _full_sync()  # the sync meets the groups waiting for 离职继承 (status 1)
    transfer_jobs.refresh_unassigned()
    assert sorted(service.unassigned_of(handover)) == sorted(customers)

    from tests.conftest import csrf_token

    signed_in_as("supervisor")  # leads no department: sees no one, assigns nothing
    page = client.get("/transfer/").get_data(as_text=True)
    assert f'data-departed-row="{handover}"' not in page
    token = csrf_token(client, "/transfer/")
    assert client.post(f"/transfer/resigned/{handover}", data={
        "csrf_token": token, "takeover_mode": "backup", "customers": "1"}).status_code == 403
    client.get("/auth/logout")
    signed_in_as("admin", username="boss")
    page = client.get("/transfer/").get_data(as_text=True)
    assert f'data-departed-row="{handover}"' in page and f'客户（{len(customers)}）' in page
    token = csrf_token(client, "/transfer/")
    response = client.post(f"/transfer/resigned/{handover}", data={
        "csrf_token": token, "takeover_mode": "backup", "customers": "1", "groups": "1"})
    assert response.status_code == 302
    batch = db.session.scalar(select(TransferBatch).order_by(TransferBatch.id.desc()))
    assert (batch.kind, batch.takeover_userid) == (RESIGNED, takeover)
    run_jobs()
    items = _items(batch.id)
    assert {items[e].status for e in customers} == {WAITING}
    assert groups and {items[g].status for g in groups} == {SUCCEEDED}  # groups move at once
    owners = set(db.session.scalars(select(CustomerGroup.owner).where(CustomerGroup.chat_id.in_(groups))))
    assert owners == {takeover}
    page = client.get(f"/transfer/batches/{batch.id}").get_data(as_text=True)
    assert "等待接替" in page and "已接替" in page
    departed = client.get("/transfer/").get_data(as_text=True)  # still WeCom's unassigned until the takeover
    assert f'data-in-transfer>{len(customers)}<' in departed
    export = client.get(f"/transfer/batches/{batch.id}/export")
    assert export.status_code == 200 and export.mimetype.endswith("sheet")
    header, *rows = load_workbook(io.BytesIO(export.data)).active.iter_rows()
    submitted = [r[[c.value for c in header].index("提交时间")] for r in rows]
    assert {(type(c.value), c.number_format) for c in submitted} == {(datetime, "yyyy-mm-dd hh:mm"),
                                                                    (type(None), "General")}  # Excel times or empty
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"transfer.planned", "transfer.exported", "transfer.backup_set"} <= actions


def test_only_supervisors_and_admins_see_the_transfer_pages(app, client, signed_in_as):
    signed_in_as("viewer")
    assert client.get("/transfer/").status_code == 403
    assert client.get("/transfer/onjob").status_code == 403
    client.get("/auth/logout")
    signed_in_as("supervisor")
    assert client.get("/transfer/").status_code == 200
    assert client.get("/transfer/backups").status_code == 200


def test_wecom_busy_leaves_the_batch_pending_and_the_poll_resumes_it(synced):
    handover, takeover, _other = _members()
    customers = service.customers_of(handover)[:30]
    synced.control.fault(api="externalcontact/transfer_customer", fail_next=4, fail_code=-1)  # every retry busy
    batch = _plan(ONJOB, handover, takeover, customers)
    run_jobs()
    assert {i.status for i in _items(batch.id).values()} == {PENDING}  # not failed: WeCom was only busy
    assert _emulated(synced) == []
    assert transfer_jobs.poll()["resumed"] == 1
    run_jobs()
    assert {i.status for i in _items(batch.id).values()} == {WAITING}
    assert sorted(t["external_userid"] for t in _emulated(synced)) == sorted(customers)


def test_the_onjob_page_transfers_chosen_customers_and_shows_each_refusal(synced, client, signed_in_as):
    from tests.conftest import csrf_token

    handover, takeover, other = _members()
    chosen = service.customers_of(handover)[:3]
    _history(chosen[0], other, handover, SUCCEEDED, accepted_days=31, finished_days=30)
    signed_in_as("admin", username="boss")
    response = client.post("/transfer/onjob", data={
        "csrf_token": csrf_token(client, "/transfer/onjob"), "handover": handover, "scope": "chosen",
        "external_userid": chosen + ["wm-not-theirs"], "takeover_mode": "chosen", "takeover": takeover,
        "success_msg": "您好，我是新的顾问"})
    assert response.status_code == 302
    batch_url = response.headers["Location"]
    page = client.get(batch_url).get_data(as_text=True)
    assert "90 天保护期内" in page and "未提交（不符合规则）" in page
    run_jobs()
    page = client.get(batch_url + "?status=waiting").get_data(as_text=True)
    assert page.count('data-item-status="waiting"') == 2
    sent = _emulated(synced)
    assert sorted(t["external_userid"] for t in sent) == sorted(chosen[1:])

    bad = client.post("/transfer/onjob", data={"csrf_token": csrf_token(client, "/transfer/onjob"),
                                               "handover": handover, "scope": "all", "takeover_mode": "backup"},
                      follow_redirects=True)
    assert "该员工还没有设置 AB 角" in bad.get_data(as_text=True)
