"""Lifecycle stages: corp-local day boundaries, 已流失 on a deleted relation, an order moving a customer back at once,
history kept per day, switchable signals, and the 生命周期 tags written to WeCom only for customers that moved."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.contacts.models import Customer, FollowRelation
from app.core import tokens
from app.core.db import transaction
from app.extensions import db
from app.lifecycle import config, recompute, writeback
from app.lifecycle.models import CustomerStage, StageMovement
from app.rfm.models import CustomerEvent, Order
from app.tags.models import CorpTag, CorpTagGroup
from tests.integration.test_sync_events import deliver

ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 6, 30)
MARK_API = "externalcontact/mark_tag"


def local(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=ZONE)


def customer(ext: str, lost: bool = False) -> None:
    db.session.add(Customer(external_userid=ext, name=ext, lost_at=local(AS_OF, time(9)) if lost else None))


def order(ext: str, paid: datetime, order_id: str | None = None, status: str = "paid") -> None:
    db.session.add(Order(order_id=order_id or f"o-{ext}-{paid.isoformat()}", external_userid=ext, amount_fen=1000,
                         paid_at=paid, status=status, source="test"))


def stages() -> dict[str, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(CustomerStage.external_userid, CustomerStage.stage)).all())


def history(ext: str) -> list[tuple]:
    return [(m.from_stage, m.to_stage, m.day.isoformat(), m.cause) for m in db.session.scalars(
        select(StageMovement).where(StageMovement.external_userid == ext).order_by(StageMovement.id))]


def recompute_as_of(day: date, cause: str = "daily") -> dict:
    with transaction():
        return recompute.apply_all(day, cause)


def test_stage_boundaries_fall_at_exactly_21_30_and_90_corp_local_days_around_midnight(app):
    """An interaction at 23:59:59 local counts for that day, one at 00:00 for the next, whatever UTC says (Shanghai's
    midnight is 16:00 UTC the day before)."""
    cases = {  # customer: (last interaction, stage as of AS_OF)
        "wm20": (local(AS_OF - timedelta(days=20), time(0, 0)), "active"),
        "wm21late": (local(AS_OF - timedelta(days=21), time(23, 59, 59)), "warning"),
        "wm21early": (local(AS_OF - timedelta(days=21), time(0, 0)), "warning"),
        "wm29": (local(AS_OF - timedelta(days=29), time(23, 59, 59)), "warning"),
        "wm30": (local(AS_OF - timedelta(days=30), time(23, 59, 59)), "dormant"),
        "wm89": (local(AS_OF - timedelta(days=89), time(0, 0)), "dormant"),
        "wm90": (local(AS_OF - timedelta(days=90), time(23, 59, 59)), "deep_dormant"),
        "wmtoday": (local(AS_OF, time(23, 59, 59)), "active"),
    }
    with transaction():
        for ext, (when, _stage) in cases.items():
            customer(ext)
            order(ext, when)
        customer("wmnever")  # nothing recorded at all: silent since ever
        customer("wmgone", lost=True)
        order("wmgone", local(AS_OF, time(8)))
        order("wmlater", local(AS_OF + timedelta(days=1), time(0, 0)))  # not a known customer: not staged
        customer("wmnext")
        order("wmnext", local(AS_OF + timedelta(days=1), time(0, 0)))  # after the as-of day: does not count
    counts = recompute_as_of(AS_OF)
    assert stages() == {**{ext: stage for ext, (_w, stage) in cases.items()}, "wmnever": "deep_dormant",
                        "wmgone": "lost", "wmnext": "deep_dormant"}
    assert counts["customers"] == 11 and counts["new"] == 11
    # one day later each boundary customer has crossed into the next stage
    recompute_as_of(AS_OF + timedelta(days=1))
    after = stages()
    assert (after["wm20"], after["wm29"], after["wm89"], after["wmnext"]) == ("warning", "dormant", "deep_dormant",
                                                                             "active")
    assert history("wm29") == [(None, "warning", "2026-06-30", "daily"), ("warning", "dormant", "2026-07-01", "daily")]


def test_value_filters_keep_customers_above_the_mean_order_value_out_of_dormant(app):
    """沉睡 only below the mean order value: a silent big spender stays 预警; the thresholds are the operator's."""
    from app.rfm import recompute as rfm

    with transaction():
        for ext, fen in (("wmsmall", 1000), ("wmbig", 90000)):
            customer(ext)
            db.session.add(Order(order_id=f"o-{ext}", external_userid=ext, amount_fen=fen, status="paid",
                                 paid_at=local(AS_OF - timedelta(days=40), time(12)), source="test"))
    rfm.execute(rfm.begin("test", AS_OF).id)
    saved = config.validate(config.current()["signals"], {"warning": 21, "dormant": 30, "deep_dormant": 90},
                            {"dormant": {"kind": "below_mean"}})
    assert config.save(saved, "test")
    recompute_as_of(AS_OF)
    assert stages() == {"wmsmall": "dormant", "wmbig": "warning"}
    with pytest.raises(config.ConfigError):
        config.validate({}, {"warning": 30, "dormant": 30, "deep_dormant": 90}, {})
    with pytest.raises(config.ConfigError):
        config.validate({}, {"warning": 21, "dormant": 30, "deep_dormant": 90},
                        {"dormant": {"kind": "segment", "values": ["nobody"]}})


def test_history_is_kept_and_unchanged_customers_are_not_rewritten(app):
    with transaction():
        customer("wma")
        order("wma", local(AS_OF - timedelta(days=25), time(12)))
    recompute_as_of(AS_OF)
    first = db.session.get(CustomerStage, "wma").updated_at
    again = recompute_as_of(AS_OF)  # the same day twice: nothing moves, nothing is written
    assert (again["moved"], again["updated"], again["new"]) == (0, 0, 0)
    assert db.session.get(CustomerStage, "wma").updated_at == first
    recompute_as_of(AS_OF + timedelta(days=5))
    assert history("wma") == [(None, "warning", "2026-06-30", "daily"), ("warning", "dormant", "2026-07-05", "daily")]
    row = db.session.get(CustomerStage, "wma")
    assert (row.stage, row.since) == ("dormant", date(2026, 7, 5))


@pytest.fixture
def shop(app):
    return {"Authorization": "Bearer " + tokens.issue("商城", "operator", created_by="test")[1]}


def test_an_order_through_the_api_moves_a_dormant_customer_back_to_active_at_once(client, shop):
    today = datetime.now(ZONE).date()
    with transaction():
        customer("wmsleep")
        order("wmsleep", local(today - timedelta(days=45), time(12)))
    recompute_as_of(today)
    assert stages() == {"wmsleep": "dormant"}
    sent = {"order_id": "A-NEW", "external_userid": "wmsleep", "amount": "99.00",
            "paid_at": datetime.now(ZONE).strftime("%Y-%m-%dT%H:%M:%S"), "status": "paid"}
    assert client.post("/api/v1/orders", json={"orders": [sent]}, headers=shop).status_code == 200
    assert stages() == {"wmsleep": "active"}
    assert history("wmsleep")[-1] == ("dormant", "active", today.isoformat(), "order")
    row = db.session.get(CustomerStage, "wmsleep")
    assert row.mark_state == "pending"  # its tag is owed to WeCom


def test_signals_can_be_switched_off_and_an_event_counts_while_on(client, shop):
    today = datetime.now(ZONE).date()
    with transaction():
        customer("wmev")
        order("wmev", local(today - timedelta(days=35), time(12)))
    recompute_as_of(today)
    off = config.validate({**config.current()["signals"], "event": False}, config.current()["thresholds"], {})
    config.save(off, "test")
    event = {"type": "visit", "external_userid": "wmev", "occurred_at": datetime.now(ZONE).strftime("%Y-%m-%d %H:%M")}
    assert client.post("/api/v1/events", json={"events": [event]}, headers=shop).status_code == 200
    assert stages() == {"wmev": "dormant"}  # the event is kept, but does not count
    assert recompute_as_of(today)["moved"] == 0
    config.save(config.validate({**off["signals"], "event": True}, off["thresholds"], {}), "test")
    assert recompute_as_of(today)["movements"] == {"dormant>active": 1}
    assert db.session.scalar(select(func.count()).select_from(CustomerEvent)) == 1


def test_a_deleted_relation_makes_the_customer_lost_and_re_adding_brings_them_back(wired):
    from app.contacts import sync

    sync.execute(sync.begin("test").id)
    first, second = sorted({r.userid for r in db.session.scalars(select(FollowRelation))})[:2]
    ext = deliver(wired, "add_customer", userid=first, welcome_code=False)["external_userid"]
    assert stages()[ext] == "active"
    deliver(wired, "del_follow_user", userid=first, external_userid=ext)
    assert stages()[ext] == "lost"
    assert db.session.get(CustomerStage, ext).mark_state == "done"  # no relation left to carry a tag
    deliver(wired, "add_customer", userid=second, external_userid=ext, welcome_code=False)  # back, with another member
    assert stages()[ext] == "active"
    assert [(f, t, c) for f, t, _d, c in history(ext)] == [(None, "active", "added"), ("active", "lost", "relation"),
                                                         ("lost", "active", "added")]
    assert db.session.get(CustomerStage, ext).mark_state == "pending"  # the new relation is owed its tag


def marks(emulator) -> list[str]:
    return [m["external_userid"] for m in emulator.control.get("tag_marks")["tag_marks"]]


def test_tags_are_written_to_wecom_only_for_customers_whose_stage_changed(synced):
    customers = sorted(db.session.scalars(select(Customer.external_userid)))[:40]
    today = datetime.now(ZONE).date()
    with transaction():
        for i, ext in enumerate(customers):  # half bought last week, half two months ago
            order(ext, local(today - timedelta(days=7 if i % 2 else 60), time(12)))
    recompute_as_of(today)
    counts, problem = writeback.write_tags(retry_failed=True)
    assert problem is None and counts["done"] >= 40
    group = db.session.scalar(select(CorpTagGroup).where(CorpTagGroup.name == "生命周期"))
    tag_names = {t.tag_id: t.name for t in db.session.scalars(select(CorpTag).where(CorpTag.group_id == group.group_id))}
    assert set(tag_names.values()) == {"活跃", "预警", "沉睡", "深度沉睡"}
    relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == customers[1],
                                                              FollowRelation.ended_at.is_(None)))
    assert [tag_names[t] for t in relation.tag_ids if t in tag_names] == ["活跃"]
    before = len(marks(synced))
    recompute_as_of(today)  # nothing moved
    assert writeback.write_tags(retry_failed=True)[0]["done"] == 0
    assert len(marks(synced)) == before
    with transaction():
        order(customers[0], local(today, time(0, 5)), "back-again")  # a dormant customer buys
    recompute_as_of(today)
    writeback.write_tags(retry_failed=False)
    assert set(marks(synced)[before:]) == {customers[0]}
    db.session.expire_all()
    relations = db.session.scalars(select(FollowRelation).where(FollowRelation.external_userid == customers[0],
                                                                FollowRelation.ended_at.is_(None))).all()
    assert relations and all([tag_names[t] for t in r.tag_ids if t in tag_names] == ["活跃"] for r in relations)


def test_a_segment_can_target_customers_by_their_stage(app):
    from app.segments import describe, service
    from app.segments.rules import RuleError

    with transaction():
        for ext, days in (("wmseg1", 3), ("wmseg2", 45), ("wmseg3", 120)):
            customer(ext)
            order(ext, local(AS_OF - timedelta(days=days), time(12)))
    recompute_as_of(AS_OF)
    rule = {"op": "and", "rules": [{"field": "lifecycle_stage", "operator": "in", "value": ["dormant", "deep_dormant"]}]}
    members = set(db.session.scalars(select(Customer.external_userid).where(
        Customer.id.in_(service.member_ids(rule)))))
    assert members == {"wmseg2", "wmseg3"}
    with app.test_request_context():
        [line] = describe.lines(rule)
    assert line.text.startswith("生命周期阶段是") and "深度沉睡" in line.text
    with pytest.raises(RuleError):
        service.member_ids({"op": "and", "rules": [{"field": "lifecycle_stage", "operator": "in", "value": ["asleep"]}]})
