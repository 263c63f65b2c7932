"""WeCom's hourly mark_tag limit, as an operator notices it: bulk tagging stops at its share, a new customer still
gets the channel's tags, and WeCom never answers 45009."""
import pytest
from sqlalchemy import select

from app.contacts import bulk_tags, sync
from app.contacts.models import Customer, FollowRelation
from app.contacts.scope import Scope
from app.core.db import transaction, utcnow
from app.core.job_runs import PARTIAL, SUCCEEDED
from app.extensions import db
from app.rfm.models import CustomerRfmScore
from app.tags import rule_admin, rules
from app.tags.models import TagRuleFailure
from app.tags.sync import sync_corp_tags
from app.wecom import connection
from app.welcome import channels, messages
from scripts.wecom_emulator.testing import RunningEmulator
from tests.integration.test_rfm_recompute import add_orders, followed_customers, run_recompute
from tests.integration.test_tags_rules import carriers, new_tag, orders, spent_rule
from tests.integration.test_welcome_send import add, work

MARK = "externalcontact/mark_tag"


@pytest.fixture
def emulator(app):
    """WeCom allowing 60 calls of an API an hour; the console budgets 50, half of them for bulk work."""
    app.config.update(WECOM_RATE_PER_MINUTE=900, WECOM_RATE_PER_HOUR=50, WECOM_BULK_SHARE=0.5)
    with RunningEmulator(seed="small", callback_retry_interval=0.0, rate_per_minute=1000, rate_per_hour=60) as emu:
        yield emu


def test_bulk_tagging_stops_at_its_share_and_a_new_customer_still_gets_channel_tags(wired):
    sync.execute(sync.begin("test").id)
    with transaction():
        sync_corp_tags(connection.gateway(), utcnow())
    tags = [t["id"] for g in connection.gateway().get_corp_tag_list() for t in g["tag"]]
    bulk_tag, channel_tag = tags[0], tags[1]
    assert connection.mark_tag_budget() == (25, 25)

    customers = db.session.scalars(select(Customer.external_userid).order_by(Customer.id).limit(40)).all()
    results = bulk_tags.mark_tags(list(customers), [bulk_tag], [], Scope())
    assert wecom_marks(wired) == 25  # the bulk share of the hour, then nothing more was sent
    refused = [r for r in results if not r.ok]
    assert refused and all("本小时" in str(e) for r in refused for e in r.errors)
    assert connection.mark_tag_budget() == (0, 0)

    messages.save(None, messages.TemplateInput(name="默认", scope="default", text="欢迎"))
    staff = sorted(connection.gateway().get_follow_user_list())[:1]
    channel = channels.create(channels.ChannelInput("门店", "store-01", staff, tag_ids=[channel_tag]))
    added = add(wired, config_id=channel.config_id)["external_userid"]
    work()
    mark = wired.control.get("tag_marks")["tag_marks"][-1]
    assert (mark["external_userid"], mark["add_tag"], mark["errcode"]) == (added, [channel_tag], 0)
    db.session.expire_all()
    relation = db.session.scalar(select(FollowRelation).where(FollowRelation.external_userid == added))
    assert channel_tag in relation.tag_ids
    assert wired.control.call_count(MARK, 45009) == 0


def wecom_marks(emu) -> int:
    return emu.control.call_count(MARK, 0)


def test_where_bulk_tagging_starts_the_remaining_budget_is_shown(client, signed_in_as, synced):
    signed_in_as("admin")
    line = "批量打标签剩余额度（mark_tag）：本分钟约 25 次，本小时约 25 次"  # half of 50: the hour bounds the minute
    add_orders(("o1", {"external_userid": followed_customers(1)[0]}, "100.00", 3))  # the RFM page can recompute
    for page in ("/rfm/", "/tags/", "/contacts/"):
        assert line in client.get(page).get_data(as_text=True), page
    customers = db.session.scalars(select(Customer.external_userid).order_by(Customer.id).limit(3)).all()
    tag = connection.gateway().get_corp_tag_list()[0]["tag"][0]["id"]
    bulk_tags.mark_tags(list(customers), [tag], [], Scope())
    used = synced.control.call_count(MARK, 0)
    assert used and f"本分钟约 {25 - used} 次，本小时约 {25 - used} 次" in client.get("/tags/").get_data(as_text=True)


def test_rfm_write_back_stops_at_the_bulk_share_and_the_next_run_finishes(app, synced):
    customers = followed_customers(40)  # one relation each: one mark_tag per customer
    add_orders(*[(f"o{i}", {"external_userid": c}, "100.00", i * 7) for i, c in enumerate(customers)])
    first = run_recompute()
    assert first.status == PARTIAL
    assert "本小时" in first.error and "其余 15 位客户的标签在下次重算时补写" in first.error
    assert synced.control.call_count(MARK, 0) == 25
    assert states() == {"done": 25, "pending": 15}

    app.extensions.pop("wecom_rate_limiter")  # an hour later: a fresh budget here ...
    connection.forget()
    synced.control.advance_clock(3601)        # ... and in WeCom
    second = run_recompute()
    assert (second.status, second.error) == (SUCCEEDED, None)
    assert synced.control.call_count(MARK, 0) == 40 and states() == {"done": 40}
    assert synced.control.call_count(MARK, 45009) == 0


def states() -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.scalars(select(CustomerRfmScore.mark_state)).all()
    return {state: rows.count(state) for state in set(rows)}


def test_rule_tags_defer_what_the_bulk_share_cannot_carry(app, synced):
    members = followed_customers(30)
    orders(*[(f"r{i}", c, "1500.00", 5, "paid", None) for i, c in enumerate(members)])
    tag = new_tag("高价值")
    rule_admin.save(None, "近90天消费满1000", tag, spent_rule(), True, "test")
    run = rules.execute(rules.begin("test").id)
    assert run.status == "partial" and run.counts["added"] == 25 and run.counts["deferred"] == 5
    assert run.counts["failed"] == 0 and db.session.scalar(select(TagRuleFailure.id)) is None  # owed, not failed
    assert "其余 5 个标记在下次执行时补上" in run.error
    assert len(carriers(tag)) == 25 and synced.control.call_count(MARK, 0) == 25

    app.extensions.pop("wecom_rate_limiter")  # an hour later
    connection.forget()
    synced.control.advance_clock(3601)
    run = rules.execute(rules.begin("test").id)
    assert (run.status, run.counts["added"], run.counts["deferred"]) == ("succeeded", 5, 0)
    assert carriers(tag) == set(members) and synced.control.call_count(MARK, 45009) == 0
