"""Tagging customers from the contact pages writes to WeCom (the emulator) relation by relation and shows each result."""
from sqlalchemy import select

from app.contacts.models import FollowRelation

from app.core.audit import AuditEntry
from app.extensions import db
from app.tags.models import CorpTag
from app.wecom import connection
from tests.conftest import csrf_token


def open_relations(count: int) -> list[FollowRelation]:
    rows = db.session.scalars(select(FollowRelation).where(FollowRelation.ended_at.is_(None))
                              .order_by(FollowRelation.id)).all()
    by_customer: dict[str, FollowRelation] = {}
    for rel in rows:
        by_customer.setdefault(rel.external_userid, rel)
    return list(by_customer.values())[:count]


def test_bulk_tagging_marks_each_relation_in_wecom_and_reports_each_customer(client, signed_in_as, synced):
    tag = db.session.scalars(select(CorpTag.tag_id).where(CorpTag.deleted_at.is_(None))).first()
    chosen = open_relations(3)
    gone = chosen[2]
    # The staff member deleted the customer in WeCom and the console has not heard yet: WeCom refuses (84061).
    synced.control.post("simulate/del_external_contact", userid=gone.userid, external_userid=gone.external_userid)
    signed_in_as("operator")
    response = client.post("/contacts/tags", data={
        "csrf_token": csrf_token(client, "/contacts/"), "add": tag,
        "external_userid": [r.external_userid for r in chosen], "next": "/contacts/"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 位客户成功，1 位失败" in html and "84061" in html

    marks = synced.control.get("tag_marks")["tag_marks"]
    sent = {(m["userid"], m["external_userid"]): m["errcode"] for m in marks}
    for rel in chosen:
        assert sent[(rel.userid, rel.external_userid)] == (84061 if rel is gone else 0)
        assert all(m["add_tag"] == [tag] for m in marks)

    db.session.expire_all()
    for rel in chosen:
        stored = db.session.get(FollowRelation, rel.id).tag_ids
        assert (tag in stored) is (rel is not gone)
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "contacts.tags_marked")).one()
    assert audit.details["ok"] == 2 and audit.details["failed"] == [gone.external_userid]


def test_the_results_page_says_why_in_the_readers_language(client, signed_in_as, synced):
    from app.core.db import transaction, utcnow

    tag = db.session.scalars(select(CorpTag.tag_id).where(CorpTag.deleted_at.is_(None))).first()
    lost = open_relations(1)[0]
    with transaction():  # the customer left every member: no relation to mark
        for rel in db.session.scalars(select(FollowRelation).where(
                FollowRelation.external_userid == lost.external_userid)):
            rel.ended_at = utcnow()
    signed_in_as("operator")
    client.post("/auth/language/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    html = client.post("/contacts/tags", data={
        "csrf_token": csrf_token(client, "/contacts/"), "add": tag, "external_userid": [lost.external_userid],
        "next": "/contacts/"}).get_data(as_text=True)
    assert "没有可打标签" not in html
    assert "No relation to tag (the customer has left or is outside your scope)" in html


def test_customer_page_removes_a_tag_in_wecom(client, signed_in_as, synced):
    rel = next(r for r in db.session.scalars(select(FollowRelation).where(FollowRelation.ended_at.is_(None)))
               if r.tag_ids)
    tag = rel.tag_ids[0]
    signed_in_as("operator")
    page = f"/contacts/{rel.external_userid}"
    response = client.post(page + "/tags", data={"csrf_token": csrf_token(client, page), "remove": tag})
    assert response.status_code == 302
    assert "标签已更新并同步到企业微信" in client.get(page).get_data(as_text=True)
    wecom = connection.gateway().get_external_contact(rel.external_userid)
    follow = next(f for f in wecom["follow_user"] if f["userid"] == rel.userid)
    assert tag not in [t["tag_id"] for t in follow.get("tags", [])]
    db.session.expire_all()
    assert tag not in db.session.get(FollowRelation, rel.id).tag_ids


def test_unknown_tags_are_refused_before_anything_is_sent(client, signed_in_as, synced):
    rel = open_relations(1)[0]
    signed_in_as("operator")
    response = client.post("/contacts/tags", data={"csrf_token": csrf_token(client, "/contacts/"),
                                                   "add": "no-such-tag", "external_userid": rel.external_userid},
                           follow_redirects=True)
    assert "未知或已删除的标签" in response.get_data(as_text=True)
    assert synced.control.get("tag_marks")["tag_marks"] == []
