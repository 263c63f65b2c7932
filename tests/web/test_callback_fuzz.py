"""The callback parser against random input (issue 13, "keep it found"): random bytes, forged and garbage-encrypted
bodies, and signed plaintext that is no WeCom XML are refused with 403 and store nothing; nothing is ever a 500."""
import base64
import time
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.wecom.inbox import CallbackEvent
from scripts.wecom_emulator import crypto
from tests.web.test_callbacks import AES, CORP, TOKEN, configured  # noqa: F401 (fixture)

FUZZ = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _stored() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(CallbackEvent))


def _signed_post(client, encrypted: str, body: bytes | None = None):
    ts, nonce = str(int(time.time())), "fuzz"
    query = urlencode({"msg_signature": crypto.signature(TOKEN, ts, nonce, encrypted), "timestamp": ts,
                       "nonce": nonce})
    if body is None:
        body = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    return client.post(f"/wecom/callback?{query}", data=body, content_type="text/xml")


@FUZZ
@given(body=st.binary(max_size=2048), query=st.dictionaries(st.sampled_from(["msg_signature", "timestamp", "nonce"]),
                                                            st.text(max_size=40)))
def test_random_bytes_are_refused_and_store_nothing(client, configured, body, query):
    response = client.post("/wecom/callback?" + urlencode(query), data=body)
    assert response.status_code == 403
    assert _stored() == 0


@FUZZ
@given(encrypted=st.binary(min_size=1, max_size=512).map(lambda raw: base64.b64encode(raw).decode()))
def test_correctly_signed_garbage_ciphertext_is_refused_and_stores_nothing(client, configured, encrypted):
    assert _signed_post(client, encrypted).status_code == 403
    assert _stored() == 0


@FUZZ
@given(plaintext=st.one_of(st.text(max_size=300), st.text(max_size=200).map(lambda inner: f"<xml>{inner}</xml>"),
                           st.binary(max_size=300).map(lambda raw: raw.decode("latin-1"))))
def test_signed_plaintext_that_is_no_wecom_xml_is_never_a_500(client, configured, plaintext):
    before = _stored()
    response = _signed_post(client, crypto.encrypt(AES, plaintext, CORP))
    assert response.status_code in (200, 403)
    if response.status_code == 403:
        assert _stored() == before


def test_signed_xml_root_holding_only_text_is_refused(client, configured):
    assert _signed_post(client, crypto.encrypt(AES, "<xml>just text</xml>", CORP)).status_code == 403
    assert _stored() == 0
