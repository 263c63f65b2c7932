"""Media on the emulator (wecom-api.md §13) through the gateway and real wechatpy: upload limits, 3-day media_id,
uploadimg quota, and send_welcome_msg / add_msg_template refusing unknown or expired media_ids."""
import pytest

from app.wecom.errors import WeComMediaRejected, WeComRateLimited
from app.wecom.gateway import WeComGateway
from app.wecom.ratelimit import WindowLimiter

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
MP4 = b"\0\0\0\x18ftypmp42" + b"\0" * 64
MB = 1024 * 1024
DAY = 86400


def gateway(emulator) -> WeComGateway:
    return WeComGateway(emulator.corp_id, emulator.secret, api_base=emulator.api_base, timeout=(2, 5),
                        rate_limiter=WindowLimiter(per_minute=600_000, per_hour=10_000_000), max_attempts=1)


@pytest.fixture
def gw(emulator):
    return gateway(emulator)


def welcome_code(emulator, gw) -> str:
    return emulator.control.add_customer(userid=gw.get_follow_user_list()[0])["welcome_code"]


def test_upload_checks_type_and_size(gw):
    image = gw.upload_media("image", "a.png", PNG)
    assert image["type"] == "image" and image["media_id"] and int(image["created_at"]) > 0
    assert gw.upload_media("video", "a.mp4", MP4)["media_id"] != image["media_id"]
    assert gw.upload_media("file", "price.pdf", b"%PDF-1.4 anything")["type"] == "file"
    refused = {("image", "a.png", b"GIF89a" + b"\0" * 20): 40005,          # a GIF named .png
               ("image", "big.png", PNG + b"\0" * (10 * MB)): 40009,
               ("video", "a.mp4", PNG): 40005,
               ("file", "huge.zip", b"\0" * (20 * MB + 1)): 40006,
               ("voice", "a.amr", b"#!AMR\n" + b"\0" * (2 * MB)): 40006,
               ("file", "empty.txt", b""): 44001,
               ("sticker", "a.png", PNG): 40004}
    for (kind, name, data), errcode in refused.items():
        with pytest.raises(WeComMediaRejected) as err:
            gw.upload_media(kind, name, data)
        assert err.value.errcode == errcode, (kind, name)


def test_welcome_and_push_refuse_unknown_or_expired_media(emulator, gw):
    media_id = gw.upload_media("image", "a.png", PNG)["media_id"]
    image = [{"msgtype": "image", "image": {"media_id": media_id}}]
    with pytest.raises(WeComMediaRejected) as err:
        gw.send_welcome_msg(welcome_code(emulator, gw), "hi", [{"msgtype": "file", "file": {"media_id": "nope"}}])
    assert err.value.errcode == 40007
    gw.send_welcome_msg(welcome_code(emulator, gw), "hi", image)
    emulator.control.advance_clock(3 * DAY)  # the media_id's 3 days are over
    with pytest.raises(WeComMediaRejected):
        gw.send_welcome_msg(welcome_code(emulator, gw), "hi", image)
    with pytest.raises(WeComMediaRejected):
        gw.add_msg_template({"sender": gw.get_follow_user_list()[0], "text": {"content": "hi"}, "attachments": image})
    fresh = gw.upload_media("image", "a.png", PNG)["media_id"]
    gw.send_welcome_msg(welcome_code(emulator, gw), "hi", [{"msgtype": "image", "image": {"media_id": fresh}}])
    assert [w["errcode"] for w in emulator.control.get("welcomes")["welcomes"]] == [40007, 0, 40007, 0]


def test_uploadimg_gives_a_url_within_the_daily_quota(emulator, gw):
    assert gw.upload_image("cover.png", PNG).startswith("https://")
    emulator.emulator.company.uploadimg_times.extend([emulator.emulator.clock.now()] * 999)  # the day's 1,000
    with pytest.raises(WeComRateLimited):
        gw.upload_image("cover.png", PNG)
    emulator.control.advance_clock(DAY)
    gw = gateway(emulator)  # a new limiter: the old one holds back after the 45009 for a minute of real time
    assert gw.upload_image("cover.png", PNG).startswith("https://")
