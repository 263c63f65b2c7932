"""A signed callback is taken only with a timestamp near now: a replay of an old signed event stores nothing."""
import time
from urllib.parse import urlencode

import pytest

from scripts.wecom_emulator import crypto
from tests.web.test_callbacks import AES, CORP, TOKEN, _add_event, _count, configured  # noqa: F401 (fixture)


def _signed_post(client, xml: str, timestamp: str):
    encrypted = crypto.encrypt(AES, xml, CORP)
    sig = crypto.signature(TOKEN, timestamp, "n0nce", encrypted)
    body = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    return client.post("/wecom/callback?" + urlencode({"msg_signature": sig, "timestamp": timestamp, "nonce": "n0nce"}),
                       data=body.encode())


@pytest.mark.parametrize("offset", [-3600, -400, 3600, 10 ** 9])
def test_a_signed_event_far_from_now_is_refused_and_not_stored(client, configured, offset):
    response = _signed_post(client, _add_event(), str(int(time.time()) + offset))
    assert response.status_code == 403
    assert _count() == 0


@pytest.mark.parametrize("timestamp", ["", "abc", "-5", "1" * 40])
def test_a_missing_or_garbled_timestamp_is_refused(client, configured, timestamp):
    assert _signed_post(client, _add_event(), timestamp).status_code == 403
    assert _count() == 0


@pytest.mark.parametrize("offset", [-120, 0, 120])
def test_wecoms_own_tries_within_minutes_are_taken(client, configured, offset):
    response = _signed_post(client, _add_event(), str(int(time.time()) + offset))
    assert response.status_code == 200
    assert _count() == 1
