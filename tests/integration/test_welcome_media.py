"""Welcome messages with media-library files, through real callbacks, the gateway and the emulator over HTTP:
the media_id WeCom receives is valid, renewed ahead of time, and replaced before a welcome when it has expired."""
from datetime import timedelta

import pytest

from app.core.db import utcnow
from app.extensions import db
from app.media import service as media
from app.media.limits import MediaInvalid
from app.media.models import MediaItem
from tests.conftest import csrf_token
from app.welcome import messages
from tests.integration.test_welcome_send import add, record, staff, template, welcomes, work  # noqa: F401 (fixture)

PNG = b"\x89PNG\r\n\x1a\n" + b"\1" * 300
DAY = 86400


@pytest.fixture
def poster(wired, staff):  # noqa: F811
    """An image in the library and the default welcome that attaches it."""
    item = media.add("image", "新人礼海报", "poster.png", PNG, "operator")
    welcome = template("默认", "default", "欢迎", attachments=[
        {"msgtype": "image", "image": {"library_id": item.id}}])
    return item, welcome


def uploads(emu) -> int:
    return emu.control.call_count("media/upload")


def later(monkeypatch, days: float):
    """The console's clock `days` ahead (the emulator's is moved with advance_clock)."""
    now = utcnow() + timedelta(days=days)
    monkeypatch.setattr(media, "utcnow", lambda: now)


def test_the_welcome_arrives_with_a_valid_media_id_renewed_ahead(wired, staff, poster):  # noqa: F811
    item, welcome = poster
    messages.refresh_media(welcome.id)  # what saving the template starts in the background
    db.session.refresh(item)
    assert item.media_id and uploads(wired) == 1
    added = add(wired, userid=staff[0])
    work()
    [sent] = welcomes(wired)
    assert (sent["errcode"], sent["external_userid"]) == (0, added["external_userid"])
    assert sent["attachments"] == [{"msgtype": "image", "image": {"media_id": item.media_id}}]
    assert uploads(wired) == 1  # the hot path only read the stored id


def test_a_media_id_older_than_3_days_is_replaced_before_the_welcome(wired, staff, poster, monkeypatch):  # noqa: F811
    item, welcome = poster
    messages.refresh_media(welcome.id)
    old = item.media_id
    wired.control.advance_clock(3 * DAY + 60)  # WeCom forgets the id
    later(monkeypatch, 3 + 60 / DAY)
    add(wired, userid=staff[0])
    work()
    [sent] = welcomes(wired)
    db.session.refresh(item)
    assert sent["errcode"] == 0 and item.media_id != old
    assert sent["attachments"] == [{"msgtype": "image", "image": {"media_id": item.media_id}}]
    assert uploads(wired) == 2


def test_the_periodic_job_renews_ids_expiring_within_a_day(wired, staff, poster, monkeypatch):  # noqa: F811
    item, welcome = poster
    assert media.refresh_in_use() == 1  # never uploaded yet
    assert media.refresh_in_use() == 0  # fresh: nothing to do
    first = item.media_id
    wired.control.advance_clock(2.5 * DAY)
    later(monkeypatch, 2.5)
    assert media.refresh_in_use() == 1
    db.session.refresh(item)
    assert item.media_id != first
    add(wired, userid=staff[0])
    work()
    assert [w["errcode"] for w in welcomes(wired)] == [0] and uploads(wired) == 2


def test_a_file_a_welcome_uses_cannot_be_deleted(wired, staff, poster):  # noqa: F811
    item, welcome = poster
    with pytest.raises(MediaInvalid) as refused:
        media.delete(item)
    assert refused.value.text() == "欢迎语「默认」等 1 处还在使用这个素材，请先把它从中移除"
    assert db.session.get(MediaItem, item.id) is not None


def test_an_id_wecom_forgot_early_is_uploaded_again_and_the_welcome_still_goes_out(wired, staff, poster):  # noqa: F811
    item, welcome = poster
    messages.refresh_media(welcome.id)
    wired.control.advance_clock(3 * DAY)  # WeCom's clock runs 3 days ahead of ours: it has forgotten the id
    added = add(wired, userid=staff[0])
    work()
    assert [w["errcode"] for w in welcomes(wired)] == [40007, 0]
    db.session.refresh(item)
    assert welcomes(wired)[1]["attachments"] == [{"msgtype": "image", "image": {"media_id": item.media_id}}]
    assert uploads(wired) == 2
    assert record(added["external_userid"]).errcode == 0


def test_an_image_gets_a_permanent_url_once_from_the_page(wired, client, signed_in_as):
    signed_in_as("operator")
    item = media.add("image", "封面", "cover.png", PNG, "operator")
    url = f"/media/{item.id}/url"
    page = client.post(url, data={"csrf_token": csrf_token(client, "/media/")}, follow_redirects=True)
    html = page.get_data(as_text=True)
    db.session.refresh(item)
    assert "「封面」的长期链接已生成" in html and item.image_url.startswith("https://")
    assert f'value="{item.image_url}"' in html
    assert media.permanent_url(item) == item.image_url and wired.control.call_count("media/uploadimg") == 1
