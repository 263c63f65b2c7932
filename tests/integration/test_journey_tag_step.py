"""The journey step that adds or removes a tag, against the emulator over HTTP: marks go through app/tags/marking, a
WeCom refusal shows on the journey's results without holding up the customer's later steps, a busy WeCom is retried,
and a relation that carries the change already is never marked again."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.db import transaction
from app.extensions import db
from app.journeys import jobs, results, tagging
from app.journeys.models import JourneyEntry, JourneyTagMark
from app.lifecycle import movements
from tests.conftest import sign_in
from tests.integration.test_journeys import MESSAGE, NOON, deliveries, journey_from, the_send
from tests.integration.test_tags_rules import carriers, customers, new_tag

MARK = "externalcontact/mark_tag"
DENIED = "（错误码 60020）"


def dormant(exts: list[str]) -> None:
    with transaction():
        for ext in exts:
            movements.move(ext, "dormant", "daily", at=NOON - timedelta(hours=6))


def marks(journey_id: int) -> dict[str, tuple]:
    db.session.expire_all()
    return {m.external_userid: (m.state, m.attempts, m.error) for m in db.session.scalars(
        select(JourneyTagMark).where(JourneyTagMark.journey_id == journey_id))}


def by_step() -> dict[str, tuple]:
    db.session.expire_all()
    return {m.step_id: (m.state, m.attempts) for m in db.session.scalars(select(JourneyTagMark))}


def test_a_refused_mark_shows_on_the_results_and_the_customer_walks_on(synced, client, make_user):
    chosen = customers(3)
    tag = new_tag("唤醒中")
    dormant(chosen)
    journey = journey_from([{"kind": "tag", "action": "add", "tag_id": tag}, {"kind": "wait", "days": 1}, MESSAGE])
    jobs.tick_one(journey, NOON)
    assert marks(journey.id) == {ext: ("pending", 0, None) for ext in chosen}
    # the step moved everyone on before WeCom was asked: past the tag step and the wait
    assert set(db.session.scalars(select(JourneyEntry.step_index))) == {2}

    synced.control.fault(api=MARK, fail_next=1, fail_code=60020)
    tagging.send_owed()
    synced.control.clear_faults()
    states = marks(journey.id)
    refused = [ext for ext, (state, _a, _e) in states.items() if state == "failed"]
    assert len(refused) == 1 and DENIED in states[refused[0]][2]
    assert carriers(tag) == set(chosen) - set(refused)

    step = results.of(journey).steps[0]
    assert (step.marks["done"], step.marks["failed"], step.marks["pending"]) == (2, 1, 0)
    sign_in(client, make_user("operator").username)
    page = client.get(f"/journeys/{journey.id}/results").get_data(as_text=True)
    assert "data-tag-error" in page and "60020" in page

    # a second run marks nobody again; another journey giving the same tag finds it carried and calls WeCom for
    # the refused customer only
    calls = synced.control.call_count(MARK)
    tagging.send_owed()
    assert synced.control.call_count(MARK) == calls
    again = journey_from([{"kind": "tag", "action": "add", "tag_id": tag}])
    jobs.tick_one(again, NOON)
    tagging.send_owed()
    assert synced.control.call_count(MARK) == calls + 1
    assert {state for state, _a, _e in marks(again.id).values()} == {"done"} and carriers(tag) == set(chosen)

    # the refused customer's later message goes out like everyone else's
    jobs.tick_one(journey, NOON + timedelta(days=1, minutes=1))
    assert set(deliveries(the_send(journey).id)) == set(chosen)


def test_a_busy_wecom_is_tried_again_and_a_removal_takes_the_tag_off(synced):
    chosen = customers(1)
    tag = new_tag("沉睡客户")
    dormant(chosen)
    journey = journey_from([{"kind": "tag", "action": "add", "tag_id": tag},
                            {"kind": "tag", "action": "remove", "tag_id": tag}])
    jobs.tick_one(journey, NOON)
    synced.control.fault(api=MARK, fail_next=4, fail_code=-1)  # every try the gateway makes is answered "busy"
    tagging.send_owed()
    synced.control.clear_faults()
    add, remove = [step["id"] for step in journey.live["steps"]]
    assert by_step() == {add: ("pending", 1), remove: ("pending", 0)}  # the removal waits for the add
    assert carriers(tag) == set()

    tagging.send_owed()  # the add first, then (the next pass) the removal: never both in one call
    assert by_step() == {add: ("done", 1), remove: ("done", 0)}
    assert carriers(tag) == set()
    assert synced.control.call_count(MARK, 0) == 2


def test_a_tag_step_refuses_a_tag_a_rule_keeps_or_one_wecom_no_longer_has(app):
    from app.journeys import service
    from app.tags.models import CorpTag, CorpTagGroup, TagRule

    db.session.add(CorpTagGroup(group_id="g1", name="规则标签"))
    db.session.add_all([CorpTag(tag_id="t-rule", group_id="g1", name="高价值"),
                        CorpTag(tag_id="t-free", group_id="g1", name="唤醒中")])
    db.session.add(TagRule(name="高价值", tag_id="t-rule", rule={"op": "and", "rules": []}, created_by="test"))
    db.session.commit()
    journey = service.create("打标签", None, "operator")

    def save(tag_id: str):
        return service.save(journey, "打标签", {"trigger": {"kind": "first_order"}, "exits": ["order"],
                                             "steps": [{"kind": "tag", "action": "add", "tag_id": tag_id}]}, "operator")

    for tag_id, reason in (("t-rule", "「高价值」由标签规则维护"), ("t-gone", "不存在或已在企业微信删除")):
        with pytest.raises(service.JourneyError, match=reason):
            save(tag_id)
    assert save("t-free").version == 2 and journey.draft["steps"][0]["tag_id"] == "t-free"
