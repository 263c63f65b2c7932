"""Sending rules: chunks of at most 10,000 (2,000 groups), the text per task, status mapping, reminders, backoff."""
from datetime import datetime, timedelta, timezone

from app.sending import sendrules as r

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def test_chunks_above_ten_thousand():
    ids = [f"wm{i}" for i in range(25_001)]
    parts = list(r.chunks(ids, r.chunk_size("single")))
    assert [len(p) for p in parts] == [10_000, 10_000, 5_001]
    assert [x for p in parts for x in p] == ids
    assert r.chunk_size("group") == 2_000


def test_text_fills_staff_name_but_not_customer_name():
    text = "{客户昵称}好，我是{员工姓名}，{客户昵称}的专属顾问{员工姓名}，{{会员价}}"
    assert r.render_text(text, "李娜") == "您好，我是李娜，您的专属顾问李娜，{会员价}"
    assert r.render_text("", "李娜") == ""


def test_message_body():
    single = r.message("single", "lina", ["wm1", "wm2"], "hi", [{"msgtype": "image"}])
    assert single == {"chat_type": "single", "sender": "lina", "external_userid": ["wm1", "wm2"],
                      "text": {"content": "hi"}, "attachments": [{"msgtype": "image"}]}
    group = r.message("group", "lina", ["wr1"], "", [])
    assert group == {"chat_type": "group", "sender": "lina", "chat_id_list": ["wr1"]}


def test_send_status_mapping():
    assert r.outcome(0) is None
    assert r.outcome(1) == ("sent", None)
    assert r.outcome(2) == ("failed", "not_friend")
    assert r.outcome(3) == ("failed", "over_quota")


def test_reminders_never_more_than_three_a_day():
    after, sent = timedelta(hours=2), []
    last, now = None, T0
    while now < T0 + timedelta(days=3):
        if r.remind_due(T0, last, len(sent), now, after, max_reminds=9):
            sent.append(now)
            last = now
        now += timedelta(minutes=10)
    assert sent[0] == T0 + after
    assert all(sum(1 for t in sent if s <= t < s + timedelta(hours=24)) <= 3 for s in sent)
    assert len(sent) == 9  # 2 h, then every 8 h up to 66 h
    assert not r.remind_due(T0, None, 3, T0 + timedelta(days=5), after, max_reminds=3)


def test_poll_backoff_grows():
    delays = [r.next_poll_delay(timedelta(minutes=m)) for m in (0, 59, 61, 60 * 25)]
    assert delays == [timedelta(minutes=1), timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)]
