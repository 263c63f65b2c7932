"""Gateway parts that need no WeCom: local refusals, paging helper, token cache, the wechatpy boundary."""
import pathlib
import re
import threading
import time

import pytest

from app.wecom.errors import TooManyRecipients, WeComError, WeComInvalidArgument
from app.wecom.gateway import WeComGateway, _TokenCache, iterate_pages

APP = pathlib.Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def offline_gateway():
    # Port 9 (discard) on localhost: any HTTP attempt would fail with a network error, not the asserted one.
    return WeComGateway("wwoffline", "secret", api_base="http://127.0.0.1:9/cgi-bin/", timeout=(0.2, 0.2),
                        max_attempts=1)


def test_more_than_10000_recipients_is_refused_before_calling_wecom(offline_gateway):
    template = {"external_userid": [f"wm{i}" for i in range(10_001)], "text": {"content": "hi"}}
    with pytest.raises(TooManyRecipients) as info:
        offline_gateway.add_msg_template(template)
    assert "10,000" in info.value.message and "10001" in info.value.errmsg


def test_more_than_100_userids_per_batch_page_is_refused(offline_gateway):
    with pytest.raises(WeComInvalidArgument):
        offline_gateway.batch_get_by_user_page([f"u{i}" for i in range(101)])


def test_constructor_requires_credentials():
    with pytest.raises(ValueError):
        WeComGateway("ww1", "")


def test_iterate_pages_follows_cursors_until_empty():
    pages = {"": (["a", "b"], "c1"), "c1": (["c"], "c2"), "c2": ([], "")}
    assert list(iterate_pages(lambda cursor: pages[cursor])) == ["a", "b", "c"]


def test_iterate_pages_stops_on_a_cursor_that_does_not_advance():
    with pytest.raises(WeComError, match="did not advance"):
        list(iterate_pages(lambda cursor: (["x"], "same")))


def test_token_cache_fetches_once_for_concurrent_callers_and_invalidates_only_its_token():
    cache, fetches = _TokenCache(), []

    def fetch():
        fetches.append(1)
        time.sleep(0.02)
        return f"t{len(fetches)}", 7200

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", fetch))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["t1"] * 8 and len(fetches) == 1
    cache.invalidate("k", "stale-token")      # another thread's old token: keep ours
    assert cache.get("k", fetch) == "t1"
    cache.invalidate("k", "t1")
    assert cache.get("k", fetch) == "t2"


def test_token_cache_refreshes_shortly_before_expiry():
    cache, n = _TokenCache(), iter(range(10))
    fetch = lambda: (f"t{next(n)}", 0.2)  # noqa: E731 - expires in 0.2 s, refreshed 0.02 s early
    assert cache.get("k", fetch) == "t0"
    assert cache.get("k", fetch) == "t0"
    time.sleep(0.2)
    assert cache.get("k", fetch) == "t1"


def test_only_the_gateway_imports_wechatpy():
    importers = [p.relative_to(APP).as_posix() for p in APP.rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+wechatpy", p.read_text(encoding="utf-8"), re.M)]
    assert importers == ["wecom/gateway.py"]
