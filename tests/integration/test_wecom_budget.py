"""WeCom's hourly mark_tag limit, as an operator notices it: bulk tagging stops at its share, a new customer still
gets the channel's tags, and WeCom never answers 45009."""
import pytest
from sqlalchemy import select

from app.contacts import bulk_tags, sync
from app.contacts.corp_tags import sync_corp_tags
from app.contacts.models import Customer, FollowRelation
from app.contacts.scope import Scope
from app.core.db import transaction, utcnow
from app.extensions import db
from app.wecom import connection
from app.welcome import channels, messages
from scripts.wecom_emulator.testing import RunningEmulator
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
    assert refused and all("本小时" in e for r in refused for e in r.errors)
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
    for page in ("/tags/", "/contacts/"):
        assert line in client.get(page).get_data(as_text=True), page
    customers = db.session.scalars(select(Customer.external_userid).order_by(Customer.id).limit(3)).all()
    tag = connection.gateway().get_corp_tag_list()[0]["tag"][0]["id"]
    bulk_tags.mark_tags(list(customers), [tag], [], Scope())
    used = synced.control.call_count(MARK, 0)
    assert used and f"本分钟约 {25 - used} 次，本小时约 {25 - used} 次" in client.get("/tags/").get_data(as_text=True)
