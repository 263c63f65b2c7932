"""Interoperability with the real wechatpy 1.8.18 client (API_BASE_URL redirected, gettoken overridden)."""
import pytest
from wechatpy.enterprise.client import WeChatClient
from wechatpy.exceptions import APILimitedException, WeChatClientException


def client_for(emu):
    class EmulatorClient(WeChatClient):
        API_BASE_URL = emu.api_base

        def fetch_access_token(self):  # wechatpy hard-codes qyapi.weixin.qq.com for gettoken
            return self._fetch_access_token(url=emu.api_base + "gettoken",
                                            params={"corpid": self.corp_id, "corpsecret": self.secret})

    return EmulatorClient(emu.corp_id, emu.secret)


def test_wechatpy_calls_get_and_post_apis(emulator):
    client = client_for(emulator)
    follow = client.external_contact.get_follow_user_list()["follow_user"]
    assert follow
    ids = client.external_contact.list(follow[0])["external_userid"]
    assert ids
    assert client.external_contact.get(ids[0])["external_contact"]["external_userid"] == ids[0]
    assert [d["id"] for d in client.department.get()][0] == 1
    child = client.department.get()[1]["id"]
    assert client.user.list(child) and client.user.list(1, fetch_child=True) == []  # fetch_child is ignored
    page = client.post("externalcontact/batch/get_by_user", data={"userid_list": follow[:1], "limit": 5})
    assert len(page["external_contact_list"]) == 5 and page["next_cursor"]
    tags = client.external_contact.get_corp_tag_list()
    assert tags["tag_group"]


def test_wechatpy_refreshes_revoked_token_and_sees_errors(emulator):
    client = client_for(emulator)
    client.external_contact.get_follow_user_list()
    emulator.control.invalidate_tokens()
    assert client.external_contact.get_follow_user_list()["follow_user"]  # 40014 -> refetch -> retry
    assert emulator.control.call_count("gettoken") == 2
    emulator.control.fault(api="externalcontact/get_follow_user_list", fail_next=1, fail_code=45009)
    with pytest.raises(APILimitedException):
        client.external_contact.get_follow_user_list()
    with pytest.raises(WeChatClientException) as err:
        client.post("externalcontact/mark_tag", data={"userid": "nobody", "external_userid": "x",
                                                      "add_tag": ["et1"], "remove_tag": []})
    assert err.value.errcode == 60111
