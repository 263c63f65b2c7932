"""The emulator's gettoken as wecom-api.md §1 says: repeated bad credentials block the IP for an hour; a Secret reset."""
import requests

from scripts.wecom_emulator.ipblock import BLOCK_SECONDS, WINDOW, GettokenBlocks


def gettoken(emu, corpid=None, secret=None) -> int:
    params = {"corpid": corpid or emu.corp_id, "corpsecret": secret or emu.secret}
    return requests.get(emu.api_base + "gettoken", params=params, timeout=10).json()["errcode"]


def test_bad_secrets_past_the_threshold_block_the_ip_even_for_the_right_secret(emulator):
    emulator.control.config(gettoken_block_threshold=5)
    assert gettoken(emulator) == 0
    assert [gettoken(emulator, secret="wrong") for _ in range(4)] == [40001] * 4
    assert gettoken(emulator, corpid="ww-wrong") == 40013          # the fifth refusal reaches the threshold
    assert gettoken(emulator) == 45009                             # the right secret is refused too
    assert gettoken(emulator, secret="wrong") == 45009
    status = emulator.control.gettoken_blocks()
    assert status["refusals"]["127.0.0.1"] == 6
    assert 3500 < status["blocked"]["127.0.0.1"] <= BLOCK_SECONDS
    assert emulator.control.call_count("gettoken", 45009) == 2


def test_missing_parameters_do_not_count_and_the_block_can_be_lifted(emulator):
    emulator.control.config(gettoken_block_threshold=2)
    url = emulator.api_base + "gettoken"
    assert requests.get(url, params={"corpid": emulator.corp_id}, timeout=10).json()["errcode"] == 41004
    assert gettoken(emulator, secret="wrong") == 40001
    assert gettoken(emulator) == 0
    assert gettoken(emulator, secret="wrong") == 40001
    assert gettoken(emulator) == 45009
    assert emulator.control.lift_gettoken_blocks() == 1            # WeCom's 自助解封
    assert gettoken(emulator) == 0


def test_the_default_threshold_is_2000_an_hour_and_changeable_at_runtime(emulator):
    assert emulator.control.config()["gettoken_block_threshold"] == 2000
    assert [gettoken(emulator, secret="wrong") for _ in range(20)] == [40001] * 20
    assert gettoken(emulator) == 0


def test_the_block_counts_a_rolling_hour_and_retrying_during_it_prolongs_it():
    blocks, ip = GettokenBlocks(), "10.0.0.1"
    for t in (0, 1000, 2000):
        blocks.refused(ip, t, threshold=3)
    assert blocks.blocked(ip, 2000 + BLOCK_SECONDS - 1) and not blocks.blocked(ip, 2000 + BLOCK_SECONDS)
    assert not blocks.blocked("10.0.0.2", 2500)
    later = GettokenBlocks()
    for t in (0, 1000, WINDOW + 1):                                 # the first refusal left the hour
        later.refused(ip, t, threshold=3)
    assert not later.blocked(ip, WINDOW + 2)
    blocks.refused(ip, 3000, threshold=3)                           # a bad retry inside the block
    assert blocks.blocked(ip, 3000 + BLOCK_SECONDS - 1)


def test_a_secret_reset_revokes_old_tokens_and_refuses_the_old_secret(emulator, wecom):
    old = emulator.secret
    assert wecom.get("department/list")[1]["errcode"] == 0
    new = emulator.control.reset_secret()
    assert new != old and emulator.secret == new
    assert wecom.get("department/list")[1]["errcode"] == 40014
    assert gettoken(emulator, secret=old) == 40001
    assert gettoken(emulator, secret=new) == 0
    assert emulator.control.reset_secret("chosen-secret") == "chosen-secret" and gettoken(emulator) == 0
