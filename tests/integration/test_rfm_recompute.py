"""The RFM recompute job against the emulator: stored scores, order matching, movements, tags written only on change."""
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.contacts import sync
from app.contacts.models import Customer, FollowRelation
from app.core import settings
from app.extensions import db
from app.rfm import ingest, recompute
from app.rfm.models import CustomerRfmScore, Order, RfmRun
from app.rfm.scoring import PaidOrder
from app.rfm.segments import CLASS_LABELS, SEGMENT_LABELS
from app.tags.models import CorpTag
from app.wecom import connection
from tests.rfm_oracle import rfm_of

AS_OF = date(2026, 6, 30)
ZONE = ZoneInfo("Asia/Shanghai")
MARK_API = "externalcontact/mark_tag"


@pytest.fixture
def wired(app, emulator):
    """The console using the emulator as WeCom, with its company synced in."""
    app.config["WECOM_API_BASE"] = emulator.api_base
    settings.save({"wecom.corp_id": emulator.corp_id, "wecom.secret": emulator.secret}, "test")
    connection.forget()
    run = sync.execute(sync.begin("test").id)
    assert run.status == sync.SUCCEEDED
    yield emulator
    connection.forget()


def followed_customers(n: int) -> list[str]:
    """n customers with exactly one active relation, in a stable order."""
    rows = db.session.execute(select(FollowRelation.external_userid).group_by(FollowRelation.external_userid)
                              .having(func.count() == 1).order_by(FollowRelation.external_userid).limit(n))
    return [r[0] for r in rows]


def add_orders(*orders) -> None:
    """(order_id, who: dict, yuan, days before AS_OF[, status])."""
    raw = []
    for order_id, who, amount, days_before, *status in orders:
        paid = datetime.combine(AS_OF - timedelta(days=days_before), datetime.min.time()).replace(hour=12)
        raw.append({"order_id": order_id, **who, "amount": amount, "paid_at": paid.isoformat(),
                    "status": status[0] if status else "paid"})
    ingest.store_orders(ingest.validate_orders(raw), source="test")


def run_recompute(as_of: date = AS_OF) -> RfmRun:
    return recompute.execute(recompute.begin("test", as_of).id)


def expected_scores(as_of: date = AS_OF) -> dict:
    orders = db.session.scalars(select(Order).where(Order.status == "paid", Order.external_userid.is_not(None)))
    paid = [PaidOrder(o.order_id, o.external_userid, Decimal(o.amount_fen) / 100, o.paid_at.astimezone(ZONE).date())
            for o in orders]
    return {s.external_userid: s for s in rfm_of(paid, as_of)}


def stored() -> dict[str, CustomerRfmScore]:
    db.session.expire_all()
    return {row.external_userid: row for row in db.session.scalars(select(CustomerRfmScore))}


def tag_marks(emulator) -> list[dict]:
    return emulator.control.get("tag_marks")["tag_marks"]


def wecom_tags(emulator) -> dict[str, dict[str, str]]:
    """group name -> tag name -> tag id, as WeCom has them."""
    gw = connection.gateway()
    return {g["group_name"]: {t["name"]: t["id"] for t in g["tag"]} for g in gw.get_corp_tag_list()}


def wecom_relation_tags(userid: str, external_userid: str) -> list[str]:
    detail = connection.gateway().get_external_contact(external_userid)
    return next([t["tag_id"] for t in f["tags"]] for f in detail["follow_user"] if f["userid"] == userid)


def seed_population(customers: list[str]) -> None:
    """A spread of customers: recent and frequent, old and rare, big spenders; one refund."""
    a, b, c, d, e, f = customers
    add_orders(("A1", {"external_userid": a}, "100.00", 1), ("A2", {"external_userid": a}, "200.00", 10),
               ("A3", {"external_userid": a}, "300.00", 20), ("B1", {"external_userid": b}, "50.00", 200),
               ("C1", {"external_userid": c}, "80.00", 3), ("D1", {"external_userid": d}, "999.99", 90),
               ("D2", {"external_userid": d}, "10.00", 95), ("E1", {"external_userid": e}, "20.00", 400),
               ("E2", {"external_userid": e}, "500.00", 5, "refunded"), ("F1", {"external_userid": f}, "60.00", 30),
               ("F2", {"external_userid": f}, "60.00", 31), ("F3", {"external_userid": f}, "60.00", 32),
               ("LATE", {"external_userid": a}, "70.00", -3))  # after the as-of date: ignored


def test_recompute_stores_the_scorers_results_and_writes_tags(wired, app):
    customers = followed_customers(6)
    seed_population(customers)
    run = run_recompute()
    assert run.status == recompute.SUCCEEDED, run.error
    assert (run.stage, recompute.percent(run), run.finished_at is not None) == ("done", 100, True)
    expected, rows = expected_scores(), stored()
    assert set(rows) == set(expected) == set(customers)
    for who, want in expected.items():
        row = rows[who]
        assert (row.recency_days, row.frequency, row.monetary_fen, row.r_score, row.f_score, row.m_score,
                row.segment, row.class8) == (want.recency_days, want.frequency, int(want.monetary * 100),
                                             want.r_score, want.f_score, want.m_score, want.segment, want.class8)
        assert (row.previous_segment, row.mark_state, row.tagged_segment) == (None, "done", want.segment)
    assert rows[customers[0]].frequency == 3 and rows[customers[4]].monetary_fen == 2000  # late order, refund out

    tags = wecom_tags(wired)
    assert set(tags["RFM分层"]) == set(SEGMENT_LABELS.values()) and set(tags["RFM八类"]) == set(CLASS_LABELS.values())
    local = dict(db.session.execute(select(CorpTag.tag_id, CorpTag.name)).all())  # the console knows them at once
    assert {local.get(tag_id) for tag_id in tags["RFM分层"].values()} == set(SEGMENT_LABELS.values())
    marks = tag_marks(wired)
    assert len(marks) == 6 and all(m["errcode"] == 0 for m in marks)
    for who in customers:
        relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == who))
        on_wecom = wecom_relation_tags(relation.userid, who)
        assert tags["RFM分层"][SEGMENT_LABELS[rows[who].segment]] in on_wecom
        assert tags["RFM八类"][CLASS_LABELS[rows[who].class8]] in on_wecom

    again = run_recompute()  # idempotent: same scores, no movement, nobody re-marked, no tag created twice
    assert again.status == recompute.SUCCEEDED and again.counts["moved"] == 0
    assert len(tag_marks(wired)) == 6 and wecom_tags(wired) == tags
    assert {w: (r.segment, r.class8, r.previous_segment) for w, r in stored().items()} == {
        w: (r.segment, r.class8, r.segment) for w, r in rows.items()}


@pytest.mark.parametrize("bulk", [False, True], ids=["rows", "copy"])
def test_new_orders_move_customers_and_only_they_are_re_marked(wired, bulk, monkeypatch):
    if bulk:
        monkeypatch.setattr(recompute, "COPY_ABOVE", 0)  # PostgreSQL's COPY path even for a few rows
    customers = followed_customers(6)
    seed_population(customers)
    first = stored() if run_recompute().status == recompute.SUCCEEDED else None
    before = {w: (r.segment, r.class8) for w, r in first.items()}
    marks_before = len(tag_marks(wired))
    b = customers[1]  # one old order: now comes back with several recent ones
    add_orders(("B2", {"external_userid": b}, "400.00", 0), ("B3", {"external_userid": b}, "400.00", 2),
               ("B4", {"external_userid": b}, "400.00", 4), ("B5", {"external_userid": b}, "400.00", 6))
    run = run_recompute()
    assert run.status == recompute.SUCCEEDED
    after = stored()
    expected = expected_scores()
    assert {w: (r.segment, r.class8) for w, r in after.items()} == {w: (s.segment, s.class8) for w, s in expected.items()}
    changed = {w for w in customers if (after[w].segment, after[w].class8) != before[w]}
    moved = {w for w in customers if after[w].segment != before[w][0]}
    assert b in moved
    assert all(after[w].previous_segment == before[w][0] for w in customers)
    assert run.counts["moved"] == len(moved)
    assert sum(run.counts["movements"].values()) == len(moved)
    assert run.counts["movements"][f"{before[b][0]}>{after[b].segment}"] >= 1

    new_marks = tag_marks(wired)[marks_before:]
    assert sorted(m["external_userid"] for m in new_marks) == sorted(changed)
    tags = wecom_tags(wired)
    mark_b = next(m for m in new_marks if m["external_userid"] == b)
    assert tags["RFM分层"][SEGMENT_LABELS[after[b].segment]] in mark_b["add_tag"]
    assert tags["RFM分层"][SEGMENT_LABELS[before[b][0]]] in mark_b["remove_tag"]
    relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == b))
    on_wecom = wecom_relation_tags(relation.userid, b)
    assert tags["RFM分层"][SEGMENT_LABELS[before[b][0]]] not in on_wecom
    assert tags["RFM分层"][SEGMENT_LABELS[after[b].segment]] in on_wecom


def test_orders_are_matched_by_unionid_and_by_remark_mobile(wired):
    """Stored orders naming their customer by unionid or remark mobile are matched as they are stored (a journey
    exits its customer at once); the recompute has only the order nobody matches left."""
    with_unionid = db.session.scalar(select(Customer).where(Customer.unionid.is_not(None))
                                     .order_by(Customer.external_userid).limit(1))
    relation = db.session.scalars(select(FollowRelation).order_by(FollowRelation.id)).all()
    by_mobile = next(r for r in relation if r.remark_mobiles and r.external_userid != with_unionid.external_userid
                     and sum(m in r.remark_mobiles for x in relation for m in x.remark_mobiles) == 1)
    add_orders(("U1", {"unionid": with_unionid.unionid}, "10.00", 1),
               ("M1", {"mobile": "+86 " + by_mobile.remark_mobiles[0]}, "20.00", 2),
               ("X1", {"unionid": "o-nobody-has-this"}, "30.00", 3))
    owners = {o: e for o, e in db.session.execute(select(Order.order_id, Order.external_userid))}
    assert owners == {"U1": with_unionid.external_userid, "M1": by_mobile.external_userid, "X1": None}  # at once
    run = run_recompute()
    assert run.counts["matched"] == {"unionid": 0, "mobile": 0, "unmatched": 1}  # nothing left but the stranger
    assert set(stored()) == {with_unionid.external_userid, by_mobile.external_userid}


def test_a_failed_mark_is_reported_and_retried_next_run(wired):
    customers = followed_customers(6)
    seed_population(customers)
    wired.control.set_fault({"api": MARK_API, "fail_next": 1, "fail_code": 60011})
    run = run_recompute()
    assert run.status == recompute.PARTIAL and run.counts["marks"]["failed"] == 1
    assert "1 位客户的标签写入失败" in run.error
    failed = [r for r in stored().values() if r.mark_state == "failed"]
    assert len(failed) == 1 and "60011" in failed[0].mark_error and failed[0].tagged_segment is None
    who = failed[0].external_userid
    assert failed[0].segment is not None

    calls_before = wired.control.call_count(MARK_API)
    retry = run_recompute()
    assert retry.status == recompute.SUCCEEDED and retry.counts["marks"] == {
        "done": 1, "failed": 0, "no_staff": 0, "skipped": 0}
    assert wired.control.call_count(MARK_API) == calls_before + 1  # only the one that failed
    row = stored()[who]
    assert (row.mark_state, row.mark_error, row.tagged_segment) == ("done", None, row.segment)
    relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == who))
    assert wecom_tags(wired)["RFM分层"][SEGMENT_LABELS[row.segment]] in wecom_relation_tags(relation.userid, who)


def test_refunded_customer_loses_segment_and_tags(wired):
    customers = followed_customers(4)
    add_orders(("R1", {"external_userid": customers[0]}, "10.00", 1), ("R2", {"external_userid": customers[1]}, "20.00", 2),
               ("R3", {"external_userid": customers[2]}, "30.00", 3))
    run_recompute()
    first_segment = stored()[customers[2]].segment
    add_orders(("R3", {"external_userid": customers[2]}, "30.00", 3, "refunded"),
               ("R4", {"external_userid": customers[3]}, "40.00", 4))  # and a new customer in the same run
    run = run_recompute()
    assert {k: run.counts[k] for k in ("customers", "new", "unscored")} == {"customers": 3, "new": 1, "unscored": 1}
    row = stored()[customers[2]]
    assert (row.segment, row.class8, row.previous_segment, row.mark_state) == (None, None, first_segment, "done")
    assert stored()[customers[3]].segment == expected_scores()[customers[3]].segment
    relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == customers[2]))
    rfm_tag_ids = {i for name in ("RFM分层", "RFM八类") for i in wecom_tags(wired)[name].values()}
    assert not rfm_tag_ids & set(wecom_relation_tags(relation.userid, customers[2]))


def test_cli_recompute_shows_progress(wired, app):
    seed_population(followed_customers(6))
    result = app.test_cli_runner().invoke(args=["scrm", "recompute-rfm", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "写入企业微信标签" in result.output and "客户 6（新增 6）" in result.output and "完成" in result.output
    wired.control.set_fault({"api": "externalcontact/get_corp_tag_list", "fail_next": 1, "fail_code": 60011})
    add_orders(("Z1", {"external_userid": followed_customers(7)[6]}, "1.00", 0))
    partial = app.test_cli_runner().invoke(args=["scrm", "recompute-rfm", "--as-of", AS_OF.isoformat()])
    assert partial.exit_code == 0 and "标签未写入企业微信" in partial.output and "60011" in partial.output


def test_a_staff_member_who_follows_later_gets_the_tags_on_the_next_run(wired):
    customers = followed_customers(6)
    seed_population(customers)
    run_recompute()
    who = customers[0]
    current = db.session.scalar(select(FollowRelation.userid).where(FollowRelation.external_userid == who))
    other = next(u for u in connection.gateway().get_follow_user_list() if u != current)
    wired.control.add_customer(userid=other, external_userid=who)
    sync.execute(sync.begin("test").id)  # the new relation arrives (a callback would do the same)
    marks_before = len(tag_marks(wired))
    run = run_recompute()
    assert run.status == recompute.SUCCEEDED and run.counts["marks"]["done"] == 1
    new_marks = tag_marks(wired)[marks_before:]
    assert [(m["userid"], m["external_userid"]) for m in new_marks] == [(other, who)]
    row, tags = stored()[who], wecom_tags(wired)
    assert tags["RFM分层"][SEGMENT_LABELS[row.segment]] in wecom_relation_tags(other, who)
    marked = len(tag_marks(wired))
    run_recompute()
    assert len(tag_marks(wired)) == marked  # and not again


@pytest.mark.parametrize("bulk", [False, True], ids=["rows", "copy"])
def test_stored_scores_equal_the_oracle_with_ties_refunds_and_the_midnight_edge(app, bulk, monkeypatch):
    if bulk:
        monkeypatch.setattr(recompute, "COPY_ABOVE", 0)  # PostgreSQL's COPY path even for a few rows
    rng = random.Random(3)
    raw = [{"order_id": f"E{i}", "external_userid": f"wm-tie-{rng.randrange(25):02d}",
            "amount": rng.choice(["10.00", "10.00", "99.99", "5"]),
            "paid_at": f"{AS_OF - timedelta(days=rng.choice([0, 0, 1, 5, 30]))}T"
                       f"{rng.choice(['00:00:00', '12:00:00', '23:59:59'])}",
            "status": rng.choice(["paid", "paid", "paid", "refunded", "cancelled"])} for i in range(150)]
    raw += [{"order_id": "EDGE-IN", "external_userid": "wm-edge-in", "amount": "1.00",  # 23:59:59 in Shanghai
             "paid_at": "2026-06-30T15:59:59Z", "status": "paid"},
            {"order_id": "EDGE-OUT", "external_userid": "wm-edge-out", "amount": "1.00",  # 00:00 the day after
             "paid_at": "2026-06-30T16:00:00Z", "status": "paid"}]
    ingest.store_orders(ingest.validate_orders(raw), source="test")
    assert run_recompute().status != recompute.FAILED
    rows, expected = stored(), expected_scores()
    assert rows["wm-edge-in"].recency_days == 0 and "wm-edge-out" not in rows
    assert {w: (r.recency_days, r.frequency, r.monetary_fen, r.r_score, r.f_score, r.m_score, r.segment, r.class8)
            for w, r in rows.items()} == {
        w: (s.recency_days, s.frequency, int(s.monetary * 100), s.r_score, s.f_score, s.m_score, s.segment, s.class8)
        for w, s in expected.items()}
