"""Sensitive words of a push's text: found by position, highlighted for the editor."""
from app.campaigns import sensitive


def test_sensitive_words_found_with_positions_and_highlighted():
    text = "全网第一！稳赚不赔，全网第一"
    hits = sensitive.find_sensitive(text, ["全网第一", "稳赚", "第一"])
    assert [(h.word, h.start, h.end) for h in hits] == [("全网第一", 0, 4), ("稳赚", 5, 7), ("全网第一", 10, 14)]
    pieces = sensitive.highlighted(text, hits)
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, hit in pieces if hit] == ["全网第一", "稳赚", "全网第一"]
    assert sensitive.find_sensitive("VIP 专享", ["vip"])[0].start == 0
    assert sensitive.find_sensitive("普通内容", sensitive.DEFAULT_SENSITIVE_WORDS) == []
