"""CallbackCipher against wechatpy's own encryption (the emulator's independent one is in integration tests)."""
import pytest
import xmltodict
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import to_text

from app.wecom.errors import CallbackDecryptError, CallbackSignatureError
from app.wecom.gateway import CallbackCipher

TOKEN, CORP = "tok", "wwcorp0001"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
EVENT = ("<xml><ToUserName><![CDATA[wwcorp0001]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
         "<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>"
         "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>"
         "<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[woAJ01]]></ExternalUserID>"
         "<State><![CDATA[]]></State><WelcomeCode><![CDATA[WELCOME1]]></WelcomeCode></xml>")


def post(plaintext, key=KEY, corp=CORP):
    """The (body, signature, timestamp, nonce) WeCom would POST for `plaintext`."""
    reply = xmltodict.parse(WeChatCrypto(TOKEN, key, corp).encrypt_message(plaintext, "nonce1", "1700000000"))["xml"]
    body = f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{reply['Encrypt']}]]></Encrypt></xml>"
    return body.encode(), reply["MsgSignature"], "1700000000", "nonce1"


def test_decrypts_an_add_contact_event_into_flat_fields():
    body, sig, ts, nonce = post(EVENT)
    event = CallbackCipher(TOKEN, KEY, CORP).decrypt_event(body, sig, ts, nonce)
    assert event["Event"] == "change_external_contact"
    assert event["ChangeType"] == "add_external_contact"
    assert event["WelcomeCode"] == "WELCOME1"
    assert event["CreateTime"] == "1403610513"
    assert event["State"] == ""


def test_member_change_items_become_a_list():
    body, sig, ts, nonce = post("<xml><Event>change_external_chat</Event>"
                                "<MemChangeList><Item>Jack</Item><Item>Rose</Item></MemChangeList></xml>")
    assert CallbackCipher(TOKEN, KEY, CORP).decrypt_event(body, sig, ts, nonce)["MemChangeList"] == ["Jack", "Rose"]


def test_forged_signature_is_rejected():
    body, sig, ts, nonce = post(EVENT)
    with pytest.raises(CallbackSignatureError):
        CallbackCipher(TOKEN, KEY, CORP).decrypt_event(body, "0" * 40, ts, nonce)
    with pytest.raises(CallbackSignatureError):
        CallbackCipher("other-token", KEY, CORP).decrypt_event(body, sig, ts, nonce)


def test_wrong_corp_id_or_key_is_a_decrypt_error():
    body, sig, ts, nonce = post(EVENT)
    with pytest.raises(CallbackDecryptError):
        CallbackCipher(TOKEN, KEY, "wwsomeoneelse").decrypt_event(body, sig, ts, nonce)
    with pytest.raises(CallbackDecryptError):
        CallbackCipher(TOKEN, "Z" * 43, CORP).decrypt_event(body, sig, ts, nonce)


def test_malformed_body_is_a_decrypt_error():
    with pytest.raises(CallbackDecryptError):
        CallbackCipher(TOKEN, KEY, CORP).decrypt_event(b"not xml", "sig", "1", "n")


def test_url_verification_returns_the_plain_echostr():
    echostr = to_text(PrpCrypto(WeChatCrypto(TOKEN, KEY, CORP).key).encrypt("1234567890", CORP))
    sig = _get_signature(TOKEN, "1700000000", "n", echostr)
    cipher = CallbackCipher(TOKEN, KEY, CORP)
    assert cipher.verify_url(sig, "1700000000", "n", echostr) == "1234567890"
    with pytest.raises(CallbackSignatureError):
        cipher.verify_url(sig, "1700000001", "n", echostr)


def test_a_mistyped_aes_key_fails_at_construction():
    with pytest.raises(ValueError, match="43"):
        CallbackCipher(TOKEN, KEY[:-1], CORP)
