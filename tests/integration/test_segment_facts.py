"""On PostgreSQL a segment count reads each customer's facts, which triggers keep up with every source table; while
they are behind (a change not yet committed, or more changes than a count takes) it reads the source tables."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, text, update

from app import worker
from app.contacts.models import Customer, CustomerGroup, CustomerGroupMember, FollowRelation
from app.extensions import db
from app.rfm.models import CustomerEvent, Order
from app.segments import facts, service
from app.segments.models import CustomerFacts, CustomerFactsChange

NOW = datetime(2026, 6, 15, 16, 30, tzinfo=timezone.utc)  # 00:30 on 16 June in Shanghai
SINCE_7 = datetime(2026, 6, 9, 16, 0, tzinfo=timezone.utc)  # the 7-day window starts at midnight on 10 June
SECOND = timedelta(seconds=1)


def cond(field: str, operator: str, value=None) -> dict:
    return {"op": "and", "rules": [{"field": field, "operator": operator, "value": value}]}


def members(rule: dict) -> set[str]:
    ids = service.member_ids(rule, now=NOW).subquery()
    return set(db.session.scalars(select(Customer.external_userid).join(ids, ids.c.customer_id == Customer.id)))


def add_orders(external_userid: str, *paid: tuple[datetime, int], status: str = "paid") -> None:
    start = db.session.scalar(select(func.count()).select_from(Order))
    db.session.add_all(Order(order_id=f"o{start + n}", external_userid=external_userid, amount_fen=amount,
                             paid_at=at, status=status, source="api") for n, (at, amount) in enumerate(paid))


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("customer facts are kept on PostgreSQL only; SQLite reads the source tables")


def test_window_edges_are_counted_alike_from_facts_and_from_orders(app):
    db.session.add_all([Customer(external_userid=e) for e in ("edge", "late", "early")])
    add_orders("edge", (SINCE_7 - SECOND, 100), (SINCE_7, 200), (SINCE_7 + SECOND, 400))
    add_orders("late", (SINCE_7, 1000))
    add_orders("early", (SINCE_7 - SECOND, 1000), (SINCE_7 - timedelta(days=3), 7))
    add_orders("early", (SINCE_7 + SECOND, 99_999), status="refunded")
    db.session.commit()
    assert service.context(cond("lost", "is", False), NOW).facts == (db.engine.dialect.name == "postgresql")

    assert members(cond("order_count", "between", {"days": 7, "min": 2})) == {"edge"}
    assert members(cond("order_count", "between", {"days": 7, "max": 0})) == {"early"}
    assert members(cond("order_amount", "between", {"days": 7, "min": 600, "max": 600})) == {"edge"}
    assert members(cond("order_amount", "between", {"days": 7, "min": 1000})) == {"late"}
    assert members(cond("order_amount", "between", {"days": 8, "min": 1000, "max": 1000})) == {"early", "late"}
    assert members(cond("last_order", "within", {"days": 7})) == {"edge", "late"}
    assert members(cond("last_order", "before", {"date": "2026-06-10"})) == {"early"}
    assert members(cond("last_order", "never")) == set()


def test_channel_states_match_exactly_from_facts_and_from_relations(app):
    states = {"wm1": ["ref"], "wm2": ["ref-a", "x"], "wm3": ["REF-a"], "wm4": ["r%x"], "wm5": ["ref\x1fa"],
              "wm6": ["ref\x1e1a"]}  # the separator, and the escape of the separator, inside states
    db.session.add_all([Customer(external_userid=e) for e in states])
    db.session.flush()
    db.session.add_all(FollowRelation(userid=f"u{n}", external_userid=e, tag_ids=[], state=state, added_at=NOW)
                       for e, values in states.items() for n, state in enumerate(values))
    db.session.add(FollowRelation(userid="u9", external_userid="wm3", tag_ids=[], state="ref", added_at=NOW,
                                  ended_at=NOW))  # ended: its state no longer counts
    db.session.commit()
    assert members(cond("state", "equals", "ref")) == {"wm1"}
    assert members(cond("state", "starts_with", "ref")) == {"wm1", "wm2", "wm5", "wm6"}
    assert members(cond("state", "starts_with", "r%")) == {"wm4"}  # % matches only itself
    assert members(cond("state", "equals", "x")) == {"wm2"}
    assert members(cond("state", "equals", "ref\x1fa")) == {"wm5"}
    assert members(cond("state", "starts_with", "ref\x1f")) == {"wm5"}
    assert members(cond("state", "starts_with", "ref\x1e")) == {"wm6"}
    assert members(cond("state", "starts_with", "a")) == set()


def test_facts_follow_every_source_table(postgresql):
    db.session.add_all([Customer(external_userid="wm1"), CustomerGroup(chat_id="wr1", owner="u1")])
    db.session.flush()
    db.session.add_all([
        FollowRelation(userid="u1", external_userid="wm1", tag_ids=["et1", "et2"], added_at=NOW - timedelta(days=9)),
        FollowRelation(userid="u2", external_userid="wm1", tag_ids=["et2"], added_at=NOW - timedelta(days=2),
                       state="ref-b"),
        CustomerGroupMember(chat_id="wr1", userid="wm1"),
        CustomerEvent(type="visit", external_userid="wm1", occurred_at=NOW - timedelta(hours=5))])
    add_orders("wm1", (NOW - timedelta(days=3), 500), (NOW - timedelta(days=30), 250))
    db.session.commit()
    assert facts.up_to_date()
    row = db.session.get(CustomerFacts, db.session.scalar(select(Customer.id)))
    assert (sorted(row.staff), sorted(row.tag_ids), row.chat_ids, row.lost) == (["u1", "u2"], ["et1", "et2"],
                                                                                  ["wr1"], False)
    assert row.first_added_at == NOW - timedelta(days=9) and row.last_activity_at == NOW - timedelta(hours=5)
    assert row.states == "\x1fref-b\x1f"
    assert row.paid_times == [int((NOW - timedelta(days=30)).timestamp()), int((NOW - timedelta(days=3)).timestamp())]
    assert row.paid_cum_fen == [0, 250, 750]

    version = db.session.scalar(text("SELECT xmin::text FROM customer_facts"))
    db.session.execute(update(Customer).values(name="王女士"))  # noted, but no fact changes
    db.session.commit()
    assert facts.up_to_date()
    assert db.session.scalar(text("SELECT xmin::text FROM customer_facts")) == version  # not written again

    db.session.execute(update(FollowRelation).where(FollowRelation.userid == "u1").values(ended_at=NOW))
    db.session.execute(update(Order).where(Order.amount_fen == 500).values(status="refunded"))
    db.session.execute(update(CustomerGroupMember).values(left_at=NOW))
    db.session.execute(delete(CustomerEvent))
    db.session.execute(update(Customer).values(lost_at=NOW))
    db.session.commit()
    assert facts.up_to_date()
    db.session.refresh(row)
    assert (row.staff, row.tag_ids, row.chat_ids, row.last_activity_at, row.lost) == (["u2"], ["et2"], None, None,
                                                                                       True)
    assert row.first_added_at == NOW - timedelta(days=9)  # the first relation counts, ended or not
    assert (row.paid_times, row.paid_cum_fen) == ([int((NOW - timedelta(days=30)).timestamp())], [0, 250])


def test_a_count_in_a_session_with_uncommitted_changes_reads_the_source_tables(postgresql):
    db.session.add(Customer(external_userid="wm1"))
    db.session.commit()
    assert members(cond("staff", "in", ["u1"])) == set()
    db.session.add(FollowRelation(userid="u1", external_userid="wm1", tag_ids=[], added_at=NOW))
    db.session.flush()
    assert not service.context(cond("staff", "in", ["u1"]), NOW).facts
    assert members(cond("staff", "in", ["u1"])) == {"wm1"}  # what this session sees, as on SQLite
    db.session.commit()
    assert service.context(cond("staff", "in", ["u1"]), NOW).facts
    assert members(cond("staff", "in", ["u1"])) == {"wm1"}


def test_more_changes_than_a_count_takes_are_left_to_the_worker(postgresql):
    db.session.add(Customer(external_userid="wm0"))
    db.session.flush()
    db.session.add(FollowRelation(userid="u1", external_userid="wm0", tag_ids=[], added_at=NOW))
    db.session.flush()
    db.session.add_all([Customer(external_userid=f"wm{n}") for n in (1, 2)])
    db.session.commit()
    assert not facts.up_to_date(limit=2)  # four notes: a count would read the source tables
    assert facts.refresh(1) == 2  # the oldest note, and the later one of the same customer
    assert dict(worker.SOURCES)["segment facts"]() == 2  # the worker's next turn takes the rest
    assert db.session.scalar(select(func.count()).select_from(CustomerFactsChange)) == 0
    assert db.session.scalar(select(func.count()).select_from(CustomerFacts)) == 3
    assert members(cond("lost", "is", False)) == {"wm0", "wm1", "wm2"}
