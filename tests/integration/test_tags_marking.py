"""Tags are marked in one place (app/tags/marking.py): what WeCom confirmed is what the console keeps, a relation gone
in WeCom is reported once and not retried, and one WeCom error reads the same from every caller."""
from sqlalchemy import func, select

from app.contacts import bulk_tags, sync
from app.contacts.models import FollowRelation
from app.contacts.scope import Scope
from app.core.audit import AuditEntry
from app.core.db import transaction, utcnow
from app.extensions import db
from app.rfm.models import CustomerRfmScore
from app.tags import rule_admin, rules
from app.tags.models import TagRuleFailure
from app.tags.sync import sync_corp_tags
from app.wecom import connection
from app.welcome import channels
from tests.integration.test_rfm_recompute import add_orders, run_recompute
from tests.integration.test_tags_rules import carriers, customers, new_tag, orders, spent_rule
from tests.integration.test_welcome_send import add, template, work

MARK = "externalcontact/mark_tag"
# WeComPermissionDenied's text with WeCom's code: what every caller shows for a 60020 answer to mark_tag
DENIED = "应用没有调用该接口的权限，或对象不在应用可见范围内（请检查「客户联系」可调用应用与可见范围）（错误码 60020）"


def relation_of(external_userid: str) -> FollowRelation:
    db.session.expire_all()
    return db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == external_userid))


def wecom_carries(relation: FollowRelation, tag: str) -> bool:
    follow = connection.gateway().get_external_contact(relation.external_userid)["follow_user"]
    return any(tag == t.get("tag_id") for f in follow if f["userid"] == relation.userid for t in f.get("tags") or [])


def test_failures_midway_leave_the_local_copy_as_wecom_confirmed_and_name_the_customers(synced):
    chosen = customers(12)
    tag = new_tag("活动参与")
    synced.control.fault(api=MARK, error_rate=0.5, errcodes=[60020], seed=3)
    results = bulk_tags.mark_tags(chosen, [tag], [], Scope())
    synced.control.clear_faults()

    in_wecom = {ext: wecom_carries(relation_of(ext), tag) for ext in chosen}
    assert 0 < sum(in_wecom.values()) < len(chosen)  # some calls went through, some were refused
    assert carriers(tag) == {ext for ext, carried in in_wecom.items() if carried}
    failed = {r.external_userid: r.errors for r in results if not r.ok}
    assert set(failed) == {ext for ext, carried in in_wecom.items() if not carried}
    assert all(list(map(str, errors)) == [f"{relation_of(ext).userid}: {DENIED}"] for ext, errors in failed.items())
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "contacts.tags_marked")).one()
    assert sorted(audit.details["failed"]) == sorted(failed) and audit.details["errors"] == {DENIED: len(failed)}


def test_a_relation_gone_in_wecom_is_reported_once_and_not_retried(synced):
    a = customers(1)[0]
    gone = relation_of(a)
    orders(("o1", a, "1500.00", 3, "paid", None))
    rule_admin.save(None, "高价值客户", new_tag("高价值"), spent_rule(), True, "test")
    # the staff member deleted the customer in WeCom and the console has not heard yet: WeCom answers 84061
    synced.control.post("simulate/del_external_contact", userid=gone.userid, external_userid=a)

    counts = rules.evaluate_rules()
    assert (counts["added"], counts["failed"]) == (0, 1)
    assert "84061" in db.session.scalars(select(TagRuleFailure.error)).one()
    assert relation_of(a).ended_at is not None  # the local copy now knows what WeCom said

    calls = synced.control.call_count(MARK)
    counts = rules.evaluate_rules()
    assert (counts["added"], counts["failed"]) == (0, 0) and synced.control.call_count(MARK) == calls
    assert db.session.scalar(select(func.count()).select_from(TagRuleFailure)) == 0


def test_the_same_wecom_error_reads_the_same_from_every_caller(wired):
    sync.execute(sync.begin("test").id)
    with transaction():
        sync_corp_tags(connection.gateway(), utcnow())
    bulk_customer, rfm_customer, rule_customer = customers(3)
    tag = new_tag("测试标签")

    wired.control.fault(api=MARK, fail_next=1, fail_code=60020)
    result, = bulk_tags.mark_tags([bulk_customer], [tag], [], Scope())
    assert result.errors == [bulk_tags.Problem(relation_of(bulk_customer).userid, DENIED)]  # WeCom's words as given

    add_orders(("R1", {"external_userid": rfm_customer}, "100.00", 3))
    wired.control.fault(api=MARK, fail_next=1, fail_code=60020)
    run_recompute()
    db.session.expire_all()
    row = db.session.get(CustomerRfmScore, rfm_customer)
    assert (row.mark_state, row.mark_error) == ("failed", f"{relation_of(rfm_customer).userid}: {DENIED}")

    orders(("o1", rule_customer, "1500.00", 3, "paid", None))
    rule_admin.save(None, "高价值客户", new_tag("高价值"), spent_rule(), True, "test")
    wired.control.fault(api=MARK, fail_next=1, fail_code=60020)
    rules.evaluate_rules()
    assert db.session.scalars(select(TagRuleFailure.error)).one() == DENIED

    template("默认", "default", "欢迎")
    staff = sorted(connection.gateway().get_follow_user_list())[:1]
    channel = channels.create(channels.ChannelInput("门店", "store-01", staff, tag_ids=[tag]))
    wired.control.fault(api=MARK, fail_next=1, fail_code=60020)
    added = add(wired, config_id=channel.config_id)["external_userid"]
    work()
    assert tag not in relation_of(added).tag_ids and not wecom_carries(relation_of(added), tag)

    actions = ("contacts.tags_marked", "rfm.tags_marked", "tags.rule_tags_marked", "welcome.channel_tags_marked")
    reported = {entry.action: entry.details["errors"] for entry in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(actions))) if entry.details["errors"]}
    assert reported == {action: {DENIED: 1} for action in actions}


def test_relations_of_staff_who_left_are_skipped_not_failed_and_wecom_is_never_asked(synced):
    from collections import Counter

    from app.rfm import writeback
    from app.transfer import jobs as transfer_jobs

    chosen = customers(60)
    left = Counter(relation_of(ext).userid for ext in chosen).most_common(1)[0][0]
    gone = [ext for ext in chosen if relation_of(ext).userid == left][:2]
    stay = [ext for ext in chosen if relation_of(ext).userid != left][:2]
    assert len(gone) == len(stay) == 2
    extra = [ext for ext in chosen if relation_of(ext).userid != left][2]
    synced.control.add_customer(userid=left, external_userid=extra)  # extra follows the member who will leave too
    sync.execute(sync.begin("test").id)
    synced.control.post("simulate/resign", userid=left)  # WeCom would answer 60111 for them now
    transfer_jobs.refresh_unassigned()  # the console learns who left (WeCom status 5), as every night

    tag = new_tag("活动参与")
    results = {r.external_userid: r for r in bulk_tags.mark_tags([gone[0], stay[0]], [tag], [], Scope())}
    assert results[stay[0]].ok and wecom_carries(relation_of(stay[0]), tag)
    left_msg = bulk_tags.Problem(left, "员工已离职，未调用企业微信", msgid=True)  # translated where shown
    assert not results[gone[0]].ok and results[gone[0]].errors == [left_msg]
    both, = bulk_tags.mark_tags([extra], [tag], [], Scope())  # marked on the relation of who stays: not a failure
    assert both.ok and both.errors == [] and both.skipped == [left_msg]
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "contacts.tags_marked")
                               .order_by(AuditEntry.id)).first()
    assert audit.details["outcomes"] == {"done": 1, "skipped": 1} and audit.details["failed"] == []

    add_orders(*[(f"R{i}", {"external_userid": ext}, "100.00", 3) for i, ext in enumerate(gone + stay)])
    run_recompute()
    db.session.expire_all()
    rows = {ext: db.session.get(CustomerRfmScore, ext) for ext in gone + stay}
    assert {(r.mark_state, r.mark_error) for r in rows.values()} == {("done", None)}  # skipped is not failed
    assert synced.control.call_count(MARK, errcode=60111) == 0
    rfm_audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "rfm.tags_marked")).all()
    assert sum(entry.details["outcomes"].get("skipped", 0) for entry in rfm_audit) == 2
    # and the next write-back does not plan them again (their only relation is of a member who left)
    assert not set(gone) & set(writeback.customers_to_mark(writeback.ensure_tags(connection.gateway())))
