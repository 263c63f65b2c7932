"""Rule-based tags against the emulator: only differences are marked in WeCom, a refused mark is kept and retried."""
from datetime import timedelta

from sqlalchemy import func, select

from app.contacts.models import FollowRelation

from app.core.db import utcnow
from app.extensions import db
from app.jobs.models import Job
from app.rfm import ingest
from app.rfm.models import Order
from app.tags import catalog, rule_admin, rules
from app.tags.models import CorpTag, CorpTagGroup, TagRule, TagRuleFailure, TagRuleRun
from tests.conftest import csrf_token, run_jobs

MARK = "externalcontact/mark_tag"


def customers(n: int) -> list[str]:
    """n customers with exactly one current relation, in a stable order."""
    return list(db.session.scalars(select(FollowRelation.external_userid).where(FollowRelation.ended_at.is_(None))
                                   .group_by(FollowRelation.external_userid).having(func.count() == 1)
                                   .order_by(FollowRelation.external_userid).limit(n)))


def orders(*rows):
    """(order_id, customer, yuan, days ago, status, category)."""
    now = utcnow()
    ingest.store_orders(ingest.validate_orders([
        {"order_id": oid, "external_userid": who, "amount": amount, "paid_at": (now - timedelta(days=ago)).isoformat(),
         "status": status, "category": category} for oid, who, amount, ago, status, category in rows]), "api")


def new_tag(name: str) -> str:
    """A tag in the group 「规则标签」, made in WeCom through the tags catalogue."""
    group_id = db.session.scalar(select(CorpTag.group_id).join(CorpTagGroup, CorpTagGroup.group_id == CorpTag.group_id)
                                 .where(CorpTagGroup.name == "规则标签").limit(1))
    if group_id:
        catalog.add_tags(group_id, [name])
    else:
        catalog.create_group("规则标签", [name])
    return db.session.scalar(select(CorpTag.tag_id).where(CorpTag.name == name))


def carriers(tag_id: str) -> set[str]:
    db.session.expire_all()
    return {r.external_userid for r in db.session.scalars(select(FollowRelation).where(
        FollowRelation.ended_at.is_(None))) if tag_id in (r.tag_ids or [])}


def spent_rule(days=90, fen=100000):
    return {"op": "and", "rules": [{"field": "order_amount", "operator": "between", "value": {"days": days, "min": fen}}]}


def test_spending_rule_marks_only_changes_and_follows_refunds(app, synced):
    a, b, c = customers(3)
    orders(("o1", a, "600.00", 5, "paid", None), ("o2", a, "500.00", 30, "paid", None),
           ("o3", b, "500.00", 5, "paid", None), ("o4", c, "1500.00", 200, "paid", None))
    tag = new_tag("高价值")
    rule_admin.save(None, "近90天消费满1000", tag, spent_rule(), True, "test")
    marks = synced.control.call_count(MARK)
    counts = rules.evaluate_rules()
    assert (counts["members"], counts["added"], counts["removed"], counts["failed"]) == (1, 1, 0, 0)
    assert carriers(tag) == {a}
    sent = synced.control.get("tag_marks")["tag_marks"][-1]
    assert (sent["external_userid"], sent["add_tag"], sent["remove_tag"]) == (a, [tag], [])

    assert rules.evaluate_rules()["added"] == 0  # nothing changed: no call
    assert synced.control.call_count(MARK) == marks + 1

    orders(("o1", a, "600.00", 5, "refunded", None), ("o5", b, "800.00", 1, "paid", None))
    counts = rules.evaluate_rules()
    assert (counts["added"], counts["removed"]) == (1, 1)
    assert carriers(tag) == {b}
    rule = db.session.scalars(select(TagRule)).one()
    assert rule.last_result == {"members": 1, "added": 1, "removed": 1, "failed": 0, "skipped": 0}


def test_category_and_channel_rules(app, synced):
    a, b = customers(2)
    orders(("t1", a, "88.00", 10, "paid", "茶叶"), ("t2", b, "88.00", 10, "paid", "茶具"))
    tea = new_tag("茶客")
    rule_admin.save(None, "买过茶叶", tea, {"op": "and", "rules": [
        {"field": "category", "operator": "any", "value": {"days": 365, "categories": ["茶叶"]}}]}, True, "test")
    state = db.session.scalar(select(FollowRelation.state).where(FollowRelation.state != "",
                                                                 FollowRelation.ended_at.is_(None)).limit(1))
    from_state = set(db.session.scalars(select(FollowRelation.external_userid).where(
        FollowRelation.state == state, FollowRelation.ended_at.is_(None))))
    live = new_tag("直播来源")
    rule_admin.save(None, "直播渠道", live, {"op": "and", "rules": [
        {"field": "state", "operator": "equals", "value": state}]}, True, "test")
    rules.evaluate_rules()
    assert carriers(tea) == {a}
    assert carriers(live) == from_state and from_state


def test_a_refused_mark_is_kept_shown_and_retried(app, synced, client, signed_in_as):
    a, b = customers(2)
    orders(("o1", a, "1200.00", 3, "paid", None), ("o2", b, "1300.00", 3, "paid", None))
    tag = new_tag("高价值")
    rule = rule_admin.save(None, "高价值客户", tag, spent_rule(), True, "test")
    synced.control.fault(api=MARK, fail_next=1, fail_code=60020)
    counts = rules.evaluate_rules()
    assert (counts["added"], counts["failed"]) == (1, 1)
    failure = db.session.scalars(select(TagRuleFailure)).one()
    assert "60020" in failure.error and failure.action == "add"
    assert len(carriers(tag)) == 1

    signed_in_as("operator")
    html = client.get("/tags/").get_data(as_text=True)
    row = html.split('data-rule="高价值客户"', 1)[1].split("</tr>", 1)[0]
    assert "符合 2 位客户；按跟进关系：添加 1，移除 0，失败 1" in row and 'href="/tags/rules/%d#failures">1<' % rule.id in row
    detail = client.get(f"/tags/rules/{rule.id}").get_data(as_text=True)
    assert f'data-failure="{failure.external_userid}"' in detail and "60020" in detail

    counts = rules.evaluate_rules()
    assert (counts["added"], counts["failed"]) == (1, 0)
    assert carriers(tag) == {a, b}
    assert db.session.scalar(select(func.count()).select_from(TagRuleFailure)) == 0


def test_run_now_button_queues_a_job_that_a_worker_runs(app, synced, client, signed_in_as):
    a = customers(1)[0]
    orders(("o1", a, "2000.00", 3, "paid", None))
    tag = new_tag("高价值")
    rule_admin.save(None, "高价值客户", tag, spent_rule(), True, "test")
    signed_in_as("operator")
    response = client.post("/tags/rules/run", data={"csrf_token": csrf_token(client, "/tags/")}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "「规则标签」已排队" in page and "排队中，等待后台执行" in page
    assert db.session.scalars(select(TagRuleRun)).all() == []  # the request only queued it
    job = db.session.scalars(select(Job)).one()
    assert run_jobs() == 1
    run = db.session.scalars(select(TagRuleRun)).one()
    assert run.status == rules.SUCCEEDED and run.counts["added"] == 1
    html = client.get("/tags/").get_data(as_text=True)
    assert "按跟进关系：添加 1，移除 0，失败 0" in html and "排队中" not in html
    progress = client.get(f"/jobs/{job.id}/progress").get_json()
    assert progress["percent"] == 100 and progress["state"] == "succeeded"


def test_a_rule_whose_tag_was_deleted_in_wecom_reports_it(app, synced):
    tag = new_tag("高价值")
    rule = rule_admin.save(None, "高价值客户", tag, spent_rule(), True, "test")
    db.session.execute(CorpTag.__table__.update().where(CorpTag.tag_id == tag).values(deleted_at=utcnow()))
    db.session.commit()
    counts = rules.evaluate_rules()
    assert counts["broken"] == 1
    db.session.expire_all()
    assert "标签已在企业微信中删除" in db.session.get(TagRule, rule.id).last_error


def _finished_rule_run(started_by: str) -> TagRuleRun:
    """The rule run the recompute job queues when it ends, after a worker ran both."""
    assert run_jobs() == 4  # the recompute, then what it queues: rule tags, lifecycle stages and their tags
    return db.session.scalars(select(TagRuleRun).where(TagRuleRun.started_by == started_by)).first()


def test_a_manual_rfm_recompute_brings_the_rules_count_and_status_up_to_date(app, synced, client, signed_in_as):
    buyer = customers(1)[0]
    orders(("r1", buyer, "1200.00", 3, "paid", None))
    tag = new_tag("高价值客户")
    rule_admin.save(None, "近 90 天消费满 1000 元", tag, spent_rule(), True, "test")
    user = signed_in_as("operator")
    assert "尚未执行" in client.get("/tags/").get_data(as_text=True)
    client.post("/rfm/recompute", data={"csrf_token": csrf_token(client, "/rfm/")})
    run = _finished_rule_run(user.username)
    assert run is not None and run.status == rules.SUCCEEDED and run.counts["added"] == 1
    page = client.get("/tags/").get_data(as_text=True)
    assert "尚未执行" not in page and "符合 1 位客户；按跟进关系：添加 1，移除 0，失败 0" in page
    assert carriers(tag) == {buyer}


def test_an_order_matched_by_mobile_after_its_import_counts_at_the_next_evaluation(app, synced):
    relations = db.session.scalars(select(FollowRelation).order_by(FollowRelation.id)).all()
    owner = next(r for r in relations if r.remark_mobiles and r.ended_at is None
                 and sum(r.remark_mobiles[0] in x.remark_mobiles for x in relations) == 1)
    now = utcnow()
    ingest.store_orders(ingest.validate_orders([{"order_id": "m1", "mobile": owner.remark_mobiles[0],
                                                 "amount": "1500.00", "paid_at": now.isoformat(), "status": "已付款"}]),
                        "upload")
    tag = new_tag("手机号匹配")
    rule_admin.save(None, "近90天消费满1000", tag, spent_rule(), True, "test")
    run = rules.execute(rules.begin("test").id)  # the tags page's 「立即执行」, without an RFM recompute before it
    assert run.counts["members"] == 1 and owner.external_userid in carriers(tag)
    assert db.session.scalar(select(Order.external_userid).where(Order.order_id == "m1")) == owner.external_userid


def test_a_departed_members_relation_is_shown_as_skipped_with_the_reason(app, synced, client, signed_in_as):
    from collections import Counter

    from app.transfer import jobs as transfer_jobs

    chosen = customers(60)
    owner = {ext: db.session.scalar(select(FollowRelation.userid).where(FollowRelation.external_userid == ext))
             for ext in chosen}
    left = Counter(owner.values()).most_common(1)[0][0]
    gone = next(ext for ext in chosen if owner[ext] == left)
    stay = next(ext for ext in chosen if owner[ext] != left)
    synced.control.post("simulate/resign", userid=left)
    transfer_jobs.refresh_unassigned()  # the console learns who left (WeCom status 5), as every night
    orders(("s1", gone, "1200.00", 3, "paid", None), ("s2", stay, "1300.00", 3, "paid", None))
    tag = new_tag("高价值")
    rule_admin.save(None, "高价值客户", tag, spent_rule(), True, "test")
    run = rules.execute(rules.begin("test").id)
    assert run.status == rules.SUCCEEDED and (run.counts["added"], run.counts["failed"], run.counts["skipped"]) == \
        (1, 0, 1)

    signed_in_as("operator")
    html = client.get("/tags/").get_data(as_text=True)
    shown = "添加 1，移除 0，失败 0<span data-skipped>，跳过 1（员工已离职，未调用企业微信）</span>"
    assert shown in html.split("data-run-counts", 1)[1].split("</div>", 1)[0]  # the run's counts
    assert shown in html.split('data-rule="高价值客户"', 1)[1].split("</tr>", 1)[0]  # and the rule's last result
