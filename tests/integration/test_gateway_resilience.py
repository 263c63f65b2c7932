"""Recovery and limits as a gateway user notices them: retries, token refresh, timeouts, rate limit, logging."""
import logging
import time

import pytest

from app.wecom.errors import (RateBudgetExhausted, WeComAuthError, WeComBusy, WeComNetworkError, WeComRateLimited,
                              WeComTimeout)
from app.wecom.gateway import WeComGateway
from app.wecom.ratelimit import WindowLimiter
from scripts.wecom_emulator.testing import RunningEmulator

API = "externalcontact/get_follow_user_list"


def calls(emulator, api):
    return emulator.control.call_count(api)


def make_gateway(emulator, **options):
    options = {"timeout": (1, 2), "rate_limiter": WindowLimiter(per_minute=600_000, per_hour=10_000_000),
               "max_attempts": 3, "retry_base_delay": 0.001, **options}
    return WeComGateway(emulator.corp_id, emulator.secret, api_base=emulator.api_base, **options)


def test_45009_is_not_retried_and_the_api_rests_until_the_block_ends(emulator):
    gw = make_gateway(emulator, max_attempts=4)
    gw.get_access_token()
    before = calls(emulator, API)
    emulator.control.fault(api=API, fail_next=1, fail_code=45009)
    with pytest.raises(WeComRateLimited) as info:
        gw.get_follow_user_list()
    assert info.value.errcode == 45009 and info.value.retry_after == pytest.approx(60)
    with pytest.raises(WeComRateLimited) as again:  # other callers do not burn a call during the block
        gw.get_follow_user_list()
    assert again.value.errcode is None and again.value.retry_after <= 60 and "45009" in again.value.message
    assert calls(emulator, API) - before == 1
    assert gw.list_departments()  # other APIs are not blocked


def test_busy_and_concurrency_limits_are_retried(emulator):
    gw = make_gateway(emulator, max_attempts=3)
    for code in (-1, 45033):
        emulator.control.fault(api=API, fail_next=2, fail_code=code)
        assert gw.get_follow_user_list()


def test_a_lasting_system_error_gives_up_after_three_retries(emulator):
    gw = make_gateway(emulator, max_attempts=4)
    gw.get_access_token()
    before = calls(emulator, API)
    emulator.control.fault(api=API, error_rate=1, errcodes=[-1])
    with pytest.raises(WeComBusy) as info:
        gw.get_follow_user_list()
    assert info.value.errcode == -1 and info.value.api == API
    assert calls(emulator, API) - before == 4


def test_a_revoked_token_is_refreshed_exactly_once(emulator):
    gw = make_gateway(emulator)
    gw.get_follow_user_list()
    emulator.control.invalidate_tokens()
    tokens_before, api_before = calls(emulator, "gettoken"), calls(emulator, API)
    assert gw.get_follow_user_list()
    assert calls(emulator, "gettoken") - tokens_before == 1
    assert calls(emulator, API) - api_before == 2
    gw.get_follow_user_list()  # the new token is cached
    assert calls(emulator, "gettoken") - tokens_before == 1


def test_a_token_that_keeps_being_rejected_raises_after_one_refresh(emulator):
    gw = make_gateway(emulator)
    gw.get_access_token()
    tokens_before, api_before = calls(emulator, "gettoken"), calls(emulator, API)
    emulator.control.fault(api=API, error_rate=1, errcodes=[40014])
    with pytest.raises(WeComAuthError) as info:
        gw.get_follow_user_list()
    assert info.value.errcode == 40014
    assert calls(emulator, "gettoken") - tokens_before == 1
    assert calls(emulator, API) - api_before == 2


def test_a_wrong_secret_is_an_auth_error_without_retries(emulator):
    gw = WeComGateway(emulator.corp_id, "wrong-secret", api_base=emulator.api_base, retry_base_delay=0.001)
    before = calls(emulator, "gettoken")
    with pytest.raises(WeComAuthError) as info:
        gw.get_follow_user_list()
    assert info.value.errcode == 40001 and "Secret" in info.value.message
    assert calls(emulator, "gettoken") - before == 1


def test_latency_beyond_the_read_timeout_raises_a_timeout_after_bounded_retries(emulator):
    gw = make_gateway(emulator, timeout=(1, 0.1), max_attempts=3)
    gw.get_access_token()
    before = calls(emulator, API)
    emulator.control.fault(api=API, latency_ms=300)
    with pytest.raises(WeComTimeout):
        gw.get_follow_user_list()
    time.sleep(0.5)  # every request was sent before the error; each is logged 300 ms after it arrived
    assert calls(emulator, API) - before == 3


def test_a_send_is_not_repeated_after_a_read_timeout(emulator):
    gw = make_gateway(emulator, timeout=(1, 0.1), max_attempts=3)
    gw.get_access_token()
    api = "externalcontact/send_welcome_msg"
    before = calls(emulator, api)
    emulator.control.fault(api=api, latency_ms=300)
    with pytest.raises(WeComTimeout):
        gw.send_welcome_msg("any-code", text="hi")
    time.sleep(0.5)  # every request was sent before the error; each is logged 300 ms after it arrived
    assert calls(emulator, api) - before == 1


def test_an_unreachable_server_is_a_network_error():
    gw = WeComGateway("wwnobody", "secret", api_base="http://127.0.0.1:9/cgi-bin/", timeout=(0.5, 0.5),
                      max_attempts=2, retry_base_delay=0.001)
    with pytest.raises(WeComNetworkError):
        gw.get_follow_user_list()


class SharedClock:
    """The limiter's clock; its sleeps move the emulator's clock as much: minutes pass without real waiting."""

    def __init__(self, emulator):
        self.emulator, self.now = emulator, 1_000_000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.emulator.control.advance_clock(seconds)


@pytest.fixture
def limited():
    """WeCom allowing 20 calls of an API a minute and 50 an hour."""
    with RunningEmulator(seed="small", rate_per_minute=20, rate_per_hour=50) as emu:
        yield emu


def test_the_budget_keeps_the_gateway_under_both_windows(limited):
    clock = SharedClock(limited)
    limiter = WindowLimiter(per_minute=18, per_hour=45, clock=clock, sleep=clock.sleep)
    gw = make_gateway(limited, rate_limiter=limiter)
    done = 0
    with pytest.raises(RateBudgetExhausted) as info:
        while True:
            gw.get_follow_user_list()  # sleeps through full minutes
            done += 1
    assert done == 45 and info.value.window == "hour" and info.value.retry_after > 60
    assert calls(limited, API) == 45 and limited.control.call_count(API, 45009) == 0
    assert clock.now - 1_000_000 >= 120  # two full minutes were waited for, on the shared clock
    clock.sleep(info.value.retry_after)
    gw.get_follow_user_list()  # the hour went by
    assert limited.control.call_count(API, 45009) == 0


def test_a_45009_after_a_minute_block_rests_the_api_for_the_hour(limited):
    clock = SharedClock(limited)
    limiter = WindowLimiter(per_minute=100, per_hour=1000, clock=clock, sleep=clock.sleep)  # as if a second app
    gw = make_gateway(limited, rate_limiter=limiter)                                      # used the same API
    limited.control.config(rate_per_minute=5)
    for _ in range(5):
        gw.get_follow_user_list()
    with pytest.raises(WeComRateLimited) as info:
        gw.get_follow_user_list()
    assert info.value.errcode == 45009 and info.value.retry_after == 60
    clock.sleep(61)
    limited.control.config(rate_per_hour=6)  # 6 calls this hour: WeCom refuses the next for 60 minutes
    with pytest.raises(WeComRateLimited) as info:  # 45009 again just after a minute block: the hour is the cause
        gw.get_follow_user_list()
    assert info.value.errcode == 45009 and info.value.retry_after == 3600
    clock.sleep(61)
    with pytest.raises(RateBudgetExhausted) as info:  # resting: nothing is sent
        gw.get_follow_user_list()
    assert info.value.window == "block" and 3400 < info.value.retry_after < 3600
    assert calls(limited, API) == 7


def test_calls_are_logged_and_observed_without_secrets(emulator, caplog):
    seen = []
    gw = make_gateway(emulator, observers=[lambda *a: seen.append(a)])
    gw.add_observer(lambda *a: 1 / 0)  # a broken observer must not break the call
    old_token = gw.get_access_token()
    emulator.control.invalidate_tokens()
    seen.clear()
    with caplog.at_level(logging.DEBUG, logger="scrm.wecom"):
        gw.get_follow_user_list()
    token = gw.get_access_token()
    assert [(api, errcode) for api, errcode, _ in seen] == [(API, 40014), ("gettoken", 0), (API, 0)]
    assert all(ms >= 0 for *_, ms in seen)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == "scrm.wecom")
    assert API in ours and "errcode=0" in ours and "ms=" in ours
    assert emulator.secret not in ours and token not in ours and old_token not in ours
