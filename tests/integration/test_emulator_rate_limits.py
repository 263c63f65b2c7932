"""The emulator's WeCom frequency limits (minute and hour blocks, 45009) as wechatpy sees them, on a moved clock."""
import pytest
from wechatpy.exceptions import APILimitedException, WeChatClientException

from scripts.wecom_emulator.testing import RunningEmulator
from tests.integration.test_emulator_wechatpy import client_for

API = "externalcontact/get_follow_user_list"


@pytest.fixture
def limited():
    """An emulator allowing 20 calls of an API a minute and 50 an hour."""
    with RunningEmulator(seed="small", rate_per_minute=20, rate_per_hour=50) as emu:
        yield emu


def calls(client, n: int) -> list:
    """Outcome of n calls: "ok" or the errcode."""
    outcomes = []
    for _ in range(n):
        try:
            client.external_contact.get_follow_user_list()
            outcomes.append("ok")
        except WeChatClientException as exc:
            outcomes.append(exc.errcode)
    return outcomes


def test_past_the_minute_limit_the_api_is_blocked_for_60_seconds(limited):
    client = client_for(limited)
    assert calls(client, 20) == ["ok"] * 20
    with pytest.raises(APILimitedException) as info:
        client.external_contact.get_follow_user_list()
    assert info.value.errcode == 45009 and "api freq out of limit" in info.value.errmsg
    assert client.external_contact.get_corp_tag_list()["tag_group"]  # another API is not blocked
    limited.control.advance_clock(59)
    assert calls(client, 1) == [45009]  # still inside the 60 s block
    limited.control.advance_clock(2)
    assert calls(client, 1) == ["ok"]


def test_refused_calls_count_so_hammering_a_block_prolongs_it(limited):
    client = client_for(limited)
    assert calls(client, 21)[-1] == 45009
    limited.control.advance_clock(30)
    assert calls(client, 20) == [45009] * 20  # counted: the next minute window is already full
    limited.control.advance_clock(31)  # the block is over, but 20 calls lie within the last 60 s
    assert calls(client, 1) == [45009]
    limited.control.advance_clock(61)
    assert calls(client, 1) == ["ok"]


def test_past_the_hour_limit_the_api_is_blocked_for_60_minutes(limited):
    client = client_for(limited)
    outcomes = []
    for _ in range(3):  # 3 minutes of 18 calls: under the minute limit, 54 > 50 in the hour
        outcomes += calls(client, 18)
        limited.control.advance_clock(61)
    assert outcomes[:50] == ["ok"] * 50 and outcomes[50:] == [45009] * 4
    assert limited.control.get("rate_limits")["apis"][API]["blocked_for"] > 3000
    limited.control.advance_clock(59 * 60 - 3 * 61)
    assert calls(client, 1) == [45009]
    limited.control.advance_clock(3 * 61 + 60)
    assert calls(client, 1) == ["ok"]


def test_limits_can_be_turned_off_and_changed_at_runtime(limited):
    client = client_for(limited)
    limited.control.config(rate_limits=False)
    assert calls(client, 30) == ["ok"] * 30  # past 20, and not counted
    limited.control.config(rate_limits=True, rate_per_minute=10)
    assert calls(client, 11) == ["ok"] * 10 + [45009]
    with pytest.raises(Exception, match="rate_per_minute"):
        limited.control.config(rate_per_minute=0)


def test_real_limits_by_default(emulator):
    config = emulator.control.config()
    assert (config["rate_limits"], config["rate_per_minute"], config["rate_per_hour"]) == (True, 10_000, 150_000)


def test_an_unknown_api_answers_http_200_with_an_errcode(wecom):
    resp, body = wecom.post("externalcontact/no_such_api", {})
    assert resp.status_code == 200
    assert body["errcode"] == 48001 and "unknown api externalcontact/no_such_api" in body["errmsg"]
    assert resp.headers["error-code"] == "48001"
