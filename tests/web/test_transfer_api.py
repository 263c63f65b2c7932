"""客户继承 through the REST API (the batches and their results, as the pages and the export show them) and on the
home page of a supervisor: customers of their departments' members who left still waiting for someone, and transfers
that failed; never those of a department they do not lead."""
from datetime import timedelta

import pytest

from app.contacts.models import Customer, Department, Staff
from app.core import tokens
from app.core.db import utcnow
from app.extensions import db
from app.transfer.limits import OTHER_WECOM_ERROR, RESULT_REASONS
from app.transfer.models import (CUSTOMER, FAILED, ONJOB, REFUSED, RESIGNED, SUCCEEDED, WAITING, TransferBatch,
                                 TransferItem, UnassignedCustomer)


def _batch(kind, handover, takeover, items) -> int:
    batch = TransferBatch(kind=kind, handover_userid=handover, takeover_userid=takeover, created_by="admin")
    db.session.add(batch)
    db.session.flush()
    now = utcnow()
    for ext, status, reason, params, errcode in items:
        db.session.add(TransferItem(batch_id=batch.id, target=CUSTOMER, object_id=ext, handover_userid=handover,
                                    takeover_userid=takeover, status=status, reason=reason, reason_params=params,
                                    errcode=errcode, accepted_at=now - timedelta(days=2),
                                    finished_at=now - timedelta(days=1) if status in (FAILED, SUCCEEDED) else None))
    db.session.flush()
    return batch.id


@pytest.fixture
def transfers(app):
    """销售部 (2, led by alice): bob, and eve who left with 3 customers; 客服部 (4, led by dave): carol, and frank who
    left with 2. eve's batch: e1 waiting, e2 failed (the customer refused), e3 refused by our check; frank's: f1 failed;
    an older 在职继承 of bob's customer to alice succeeded."""
    db.session.add_all([
        Department(id=1, name="公司", parent_id=0), Department(id=2, name="销售部", parent_id=1, leader_userids=["alice"]),
        Department(id=4, name="客服部", parent_id=1, leader_userids=["dave"]),
        Staff(userid="alice", name="王丽", department_ids=[2], is_follow_user=True),
        Staff(userid="bob", name="李博", department_ids=[2], is_follow_user=True),
        Staff(userid="eve", name="伊芙", department_ids=[2], status=5),
        Staff(userid="carol", name="陈卡", department_ids=[4], is_follow_user=True),
        Staff(userid="frank", name="弗兰克", department_ids=[4], status=5),
    ])
    for ext, handover in (("e1", "eve"), ("e2", "eve"), ("e3", "eve"), ("f1", "frank"), ("f2", "frank")):
        db.session.add_all([Customer(external_userid=ext, name=f"客户{ext}"),
                            UnassignedCustomer(handover_userid=handover, external_userid=ext)])
    db.session.add(Customer(external_userid="b1", name="客户b1"))
    older = _batch(ONJOB, "bob", "alice", [("b1", SUCCEEDED, "", {}, None)])
    eve = _batch(RESIGNED, "eve", "bob", [("e1", WAITING, "", {}, None), ("e2", FAILED, RESULT_REASONS[3], {}, 3),
                                          ("e3", REFUSED, OTHER_WECOM_ERROR, {"code": 40001}, None)])
    frank = _batch(RESIGNED, "frank", "carol", [("f1", FAILED, RESULT_REASONS[4], {}, 4)])
    db.session.commit()
    return older, eve, frank


def _header(role: str) -> dict:
    return {"Authorization": f"Bearer {tokens.issue(f'bi-{role}', role, created_by='test')[1]}"}


def test_the_api_lists_batches_and_their_results_as_the_pages_show_them(client, transfers):
    older, eve, frank = transfers
    admin = _header("admin")
    listed = client.get("/api/v1/transfers", headers=admin).get_json()
    assert [b["id"] for b in listed] == [frank, eve, older]  # the newest first
    assert listed[1]["counts"] == {"waiting": 1, "failed": 1, "refused": 1}
    assert (listed[1]["kind"], listed[1]["handover_userid"], listed[1]["takeover_userid"]) == ("resigned", "eve", "bob")
    assert [b["id"] for b in client.get("/api/v1/transfers?limit=1", headers=admin).get_json()] == [frank]

    results = client.get(f"/api/v1/transfers/{eve}", headers=admin).get_json()
    assert [(i["object_id"], i["name"], i["status"]) for i in results["items"]] == [
        ("e1", "客户e1", "waiting"), ("e2", "客户e2", "failed"), ("e3", "客户e3", "refused")]
    by_id = {i["object_id"]: i for i in results["items"]}
    assert by_id["e2"]["reason"] == "客户拒绝了转接" and by_id["e2"]["errcode"] == 3
    assert by_id["e3"]["reason"] == "企业微信拒绝（错误码 40001）" and not results["more"]
    failed = client.get(f"/api/v1/transfers/{eve}?status=failed", headers=admin).get_json()
    assert [i["object_id"] for i in failed["items"]] == ["e2"]
    page = client.get(f"/api/v1/transfers/{eve}?limit=1&offset=1", headers=admin).get_json()
    assert [i["object_id"] for i in page["items"]] == ["e2"] and page["more"] is True
    assert client.get(f"/api/v1/transfers/{older}", headers=admin).get_json()["items"][0]["owner_moved"] is False


def test_the_api_refuses_what_the_token_may_not_see(client, transfers):
    _older, eve, _frank = transfers
    assert client.get("/api/v1/transfers").status_code == 401
    assert client.get("/api/v1/transfers", headers=_header("viewer")).status_code == 403
    # an API token carries no WeCom member: a supervisor's token sees no one's batches
    supervisor = _header("supervisor")
    assert client.get("/api/v1/transfers", headers=supervisor).get_json() == []
    assert client.get(f"/api/v1/transfers/{eve}", headers=supervisor).status_code == 404
    admin = _header("admin")
    assert client.get("/api/v1/transfers/999999", headers=admin).status_code == 404
    bad = client.get(f"/api/v1/transfers/{eve}?status=lost", headers=admin)
    assert bad.status_code == 422 and "status" in bad.get_data(as_text=True)
    assert client.get("/api/v1/transfers?limit=0", headers=admin).status_code == 422


def _card(html: str, title: str) -> str:
    start = html.index(title)
    return html[start:start + 400]


def test_a_supervisors_home_shows_only_their_departments_waiting_and_failed_transfers(client, signed_in_as,
                                                                                      transfers):
    signed_in_as("supervisor", wecom_userid="alice")
    home = client.get("/").get_data(as_text=True)
    waiting = _card(home, "离职成员待分配客户")
    assert ">2<" in waiting and "1 位离职成员" in waiting  # e2 and e3 (e1 is being taken over); not frank's 2
    assert ">1<" in _card(home, "继承失败")  # e2, not f1
    client.get("/auth/logout")
    signed_in_as("admin", username="boss")
    home = client.get("/").get_data(as_text=True)
    assert ">4<" in _card(home, "离职成员待分配客户") and ">2<" in _card(home, "继承失败")
    client.get("/auth/logout")
    signed_in_as("viewer")
    assert "离职成员待分配客户" not in client.get("/").get_data(as_text=True)
