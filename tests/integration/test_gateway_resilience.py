"""Recovery and limits as a gateway user notices them: retries, token refresh, timeouts, rate limit, logging."""
import logging
import time

import pytest

from app.wecom.errors import WeComAuthError, WeComNetworkError, WeComRateLimited, WeComTimeout
from app.wecom.gateway import WeComGateway
from app.wecom.ratelimit import TokenBucket

API = "externalcontact/get_follow_user_list"


def calls(emulator, api):
    return emulator.control.call_count(api)


def make_gateway(emulator, **options):
    options = {"timeout": (1, 2), "rate_limiter": TokenBucket(per_minute=600_000), "max_attempts": 3,
               "retry_base_delay": 0.001, **options}
    return WeComGateway(emulator.corp_id, emulator.secret, api_base=emulator.api_base, **options)


def test_a_burst_of_45009_is_retried_and_recovers(emulator):
    gw = make_gateway(emulator, max_attempts=4)
    expected = gw.get_follow_user_list()
    before = calls(emulator, API)
    emulator.control.fault(api=API, fail_next=3, fail_code=45009)
    assert gw.get_follow_user_list() == expected
    assert calls(emulator, API) - before == 4


def test_busy_and_concurrency_limits_are_retried_too(emulator):
    gw = make_gateway(emulator, max_attempts=3)
    for code in (-1, 45033):
        emulator.control.fault(api=API, fail_next=2, fail_code=code)
        assert gw.get_follow_user_list()


def test_permanent_45009_gives_up_after_the_configured_attempts(emulator):
    gw = make_gateway(emulator, max_attempts=3)
    gw.get_access_token()
    before = calls(emulator, API)
    emulator.control.fault(api=API, error_rate=1, errcodes=[45009])
    with pytest.raises(WeComRateLimited) as info:
        gw.get_follow_user_list()
    assert info.value.errcode == 45009 and info.value.api == API
    assert calls(emulator, API) - before == 3


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


def test_the_rate_limiter_spaces_calls_per_api(emulator):
    gw = make_gateway(emulator, rate_limiter=TokenBucket(per_minute=1200, burst=1))  # 20 calls/s per API
    gw.get_access_token()
    started = time.monotonic()
    for _ in range(4):
        gw.get_follow_user_list()
    assert time.monotonic() - started >= 0.14  # 3 waits of 50 ms after the first call


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
