"""How WeCom's customer answers become rows: tag ids from either API, and one-way relations staying ended."""
from datetime import datetime, timezone

from app.contacts import customers, sync
from app.contacts.models import SyncRun

ENDED = datetime(2025, 3, 1, tzinfo=timezone.utc)


def test_tags_come_from_tag_id_or_from_corp_tags_only():
    batch = customers.relation_row("wm1", {"userid": "zhang", "createtime": 1700000000, "tag_id": ["b", "a"]})
    single = customers.relation_row("wm1", {"userid": "zhang", "tags": [
        {"tag_id": "b", "type": 1}, {"tag_name": "私人", "type": 2}, {"tag_id": "a", "type": 3}]})
    assert batch["tag_ids"] == single["tag_ids"] == ["a", "b"]
    assert batch["added_at"] == datetime.fromtimestamp(1700000000, timezone.utc)


def test_relation_ended_by_the_customer_reopens_only_when_added_again_later():
    old = {"ended_by": "customer", "ended_at": ENDED, "end_source": None}
    seen_again = customers.relation_row("wm1", {"userid": "zhang", "createtime": int(ENDED.timestamp()) - 60})
    assert customers._keep_customer_end(old, seen_again)["ended_at"] == ENDED
    added_later = customers.relation_row("wm1", {"userid": "zhang", "createtime": int(ENDED.timestamp()) + 60})
    assert customers._keep_customer_end(old, added_later)["ended_at"] is None


def test_progress_moves_through_the_stages():
    assert sync.percent(SyncRun(stage="directory", state={})) == 0
    assert sync.percent(SyncRun(stage="customers", state={"done": 50, "total": 100})) == 47
    assert sync.percent(SyncRun(stage="done", state={})) == 100
