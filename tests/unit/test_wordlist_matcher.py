"""The word matcher: every library word found by position, the earlier and longer of overlapping ones kept."""
from app.wordlist.matcher import Matcher, highlighted


def test_words_found_with_positions_and_highlighted():
    text = "全网第一！稳赚不赔，全网第一"
    hits = Matcher([("全网第一", "广告法极限词"), ("稳赚", "金融"), ("第一", "广告法极限词")]).find(text)
    assert [(h.word, h.category, h.start, h.end) for h in hits] == [
        ("全网第一", "广告法极限词", 0, 4), ("稳赚", "金融", 5, 7), ("全网第一", "广告法极限词", 10, 14)]
    pieces = highlighted(text, hits)
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, hit in pieces if hit] == ["全网第一", "稳赚", "全网第一"]


def test_case_is_ignored_and_positions_stay_those_of_the_text():
    matcher = Matcher([("vip", "自定义"), ("Top1", "广告法极限词")])
    assert [(h.word, h.start) for h in matcher.find("VIP 专享")] == [("vip", 0)]
    # "İ" lowers to two characters: the hit after it must still point at the right place in the original text
    text = "İ 店铺 TOP1"
    hit = matcher.find(text)[0]
    assert text[hit.start:hit.end] == "TOP1"


def test_a_large_library_matches_only_whole_words():
    words = [(f"词{i:05d}", "自定义") for i in range(50_000)] + [("最低价", "广告法极限词")]
    matcher = Matcher(words)
    assert len(matcher) == 50_001
    assert [h.word for h in matcher.find("今天词12345和最低价，词9不是")] == ["词12345", "最低价"]
    assert matcher.find("普通内容") == []
