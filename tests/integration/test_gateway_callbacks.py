"""CallbackCipher on callbacks the emulator encrypts and POSTs (its crypto is independent of wechatpy)."""
import pytest

from app.wecom.errors import CallbackSignatureError, WelcomeAlreadySent
from app.wecom.gateway import CallbackCipher, WeComGateway


@pytest.fixture
def cipher(emulator):
    return CallbackCipher(emulator.token, emulator.aes_key, emulator.corp_id)


def first_event(emulator, receiver, cipher):
    """The (query, body, decrypted fields) of the first callback the emulator POSTed."""
    emulator.control.wait_deliveries(1)
    post = receiver.posts()[0]
    query, body = post["query"], post["body"].encode()
    return query, body, cipher.decrypt_event(body, query["msg_signature"], query["timestamp"], query["nonce"])


def test_add_contact_event_decrypts_and_its_welcome_code_works_once(emulator, receiver, cipher):
    gw = WeComGateway(emulator.corp_id, emulator.secret, api_base=emulator.api_base, retry_base_delay=0.001)
    userid = gw.get_follow_user_list()[0]
    emulator.control.add_customer(userid=userid, state="gw_cb")
    _, _, event = first_event(emulator, receiver, cipher)
    assert event["Event"] == "change_external_contact" and event["ChangeType"] == "add_external_contact"
    assert event["UserID"] == userid and event["State"] == "gw_cb" and event["ToUserName"] == emulator.corp_id
    assert event["ExternalUserID"] in gw.list_external_contacts(userid)

    gw.send_welcome_msg(event["WelcomeCode"], text="欢迎光临！")
    with pytest.raises(WelcomeAlreadySent):
        gw.send_welcome_msg(event["WelcomeCode"], text="再次欢迎")


def test_forged_signature_is_rejected(emulator, receiver, cipher):
    gw = WeComGateway(emulator.corp_id, emulator.secret, api_base=emulator.api_base)
    emulator.control.add_customer(userid=gw.get_follow_user_list()[0])
    query, body, _ = first_event(emulator, receiver, cipher)
    forged = ("0" if query["msg_signature"][0] != "0" else "1") + query["msg_signature"][1:]
    with pytest.raises(CallbackSignatureError):
        cipher.decrypt_event(body, forged, query["timestamp"], query["nonce"])
    with pytest.raises(CallbackSignatureError):
        CallbackCipher("not-the-token", emulator.aes_key, emulator.corp_id).decrypt_event(
            body, query["msg_signature"], query["timestamp"], query["nonce"])


def test_url_verification(emulator, cipher):
    echo = emulator.control.verify_url_request()  # what WeCom sends when the admin saves the callback URL
    assert cipher.verify_url(echo["msg_signature"], echo["timestamp"], echo["nonce"], echo["echostr"]) == echo["plain"]
    with pytest.raises(CallbackSignatureError):
        cipher.verify_url(echo["msg_signature"], echo["timestamp"], "other-nonce", echo["echostr"])
