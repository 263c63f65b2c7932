"""任务宝 poster background: the operator's upload is checked (clear Chinese errors, nothing changed), turned upright,
previewed with a sample nickname and QR, and every cached poster of the task is drawn again after a change."""
import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.db import transaction, utcnow
from app.extensions import db
from app.referral import links, poster, service
from app.referral.models import ReferralTask
from tests.conftest import csrf_token
from tests.web.test_referral_pages import staff  # noqa: F401 (fixture)


def picture(size, fmt="PNG", color="#2a6f97", exif_orientation=None) -> bytes:
    image = Image.new("RGB", size, color)
    image.paste(Image.new("RGB", (size[0] // 4, size[1] // 8), "#f4d35e"), (0, 0))  # a mark in the top-left corner
    out = io.BytesIO()
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        image.save(out, format=fmt, exif=exif)
    else:
        image.save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def task(app, staff):
    now = utcnow()
    return service.create(service.TaskInput("海报任务", now, now + timedelta(days=3), ["zhangsan"],
                                            [service.LevelInput(3, "礼盒", 10)]))


def upload(client, task_id, data: bytes, name="bg.png"):
    token = csrf_token(client, f"/referral/{task_id}/poster")
    return client.post(f"/referral/{task_id}/poster",
                       data={"csrf_token": token, "background": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def background_of(task_id):
    db.session.expire_all()
    return db.session.get(ReferralTask, task_id).poster_background


@pytest.mark.parametrize("data, message", [
    (b"", "请选择一张图片"),
    (b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024), "图片太大：5.0 MB，最大 5 MB"),
    ("name,phone\n张三,13800000000\n".encode(), "这不是图片文件：请上传 PNG 或 JPEG 图片"),
    (picture((750, 1334), "GIF"), "不支持 GIF 格式：请上传 PNG 或 JPEG 图片"),
    (picture((1000, 1000)), "图片比例不对：海报是 750×1334 的竖图（约 9:16），这张是 1000×1000"),
    (picture((1334, 750)), "这张是 1334×750"),
    (picture((375, 667)), "图片太小：宽至少 600 像素（建议 750×1334），这张宽 375 像素"),
])
def test_a_bad_upload_says_why_in_chinese_and_changes_nothing(client, signed_in_as, task, data, message):
    signed_in_as("operator")
    response = upload(client, task.id, data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert background_of(task.id) is None
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "referral.poster_changed")) == 0


def test_an_upload_is_used_previewed_and_redraws_every_cached_poster(client, signed_in_as, task):
    with transaction():
        inviter = service.join(task, "wmposter")
        inviter.nickname, inviter.qr_code = "阿花", "https://wework.qpic.cn/wwpic/abc/0"
    with client.application.test_request_context():
        token = links.token_for(inviter.id)
    poster.forget({inviter.id})  # the instance folder outlives a test run: an earlier run's inviter 1 is not ours
    before = client.get(f"/referral/p/{token}/poster.png")
    assert before.status_code == 200 and before.headers["ETag"]
    cache = list((poster._cache_dir()).glob(f"{inviter.id}-*.png"))
    assert len(cache) == 1
    unchanged = client.get(f"/referral/p/{token}/poster.png", headers={"If-None-Match": before.headers["ETag"]})
    assert unchanged.status_code == 304  # asked again, nothing changed: not sent again

    signed_in_as("operator")
    default_preview = client.get(f"/referral/{task.id}/poster/preview.png").data
    response = upload(client, task.id, picture((1080, 1920), "JPEG", color="#8e2c48"), "bg.jpg")
    assert response.status_code == 302
    stored = Image.open(io.BytesIO(background_of(task.id)))
    assert (stored.format, stored.size) == ("JPEG", poster.SIZE)
    assert not cache[0].exists()  # the old poster is gone from the cache
    after = client.get(f"/referral/p/{token}/poster.jpg", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert (before.mimetype, after.mimetype) == ("image/png", "image/jpeg")  # a photo background: a JPEG poster
    drawn = Image.open(io.BytesIO(after.data)).convert("RGB")
    assert drawn.size == poster.SIZE and drawn.getpixel((20, 1300)) == pytest.approx((142, 44, 72), abs=6)
    preview = client.get(f"/referral/{task.id}/poster/preview.jpg")
    assert preview.status_code == 200 and preview.data != default_preview
    page = client.get(f"/referral/{task.id}/poster").get_data(as_text=True)
    assert "当前：上传的背景" in page and "恢复默认背景" in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "referral.poster_changed"))
    assert entry.details["background"] == "custom"

    form_token = csrf_token(client, f"/referral/{task.id}/poster")
    reset = client.post(f"/referral/{task.id}/poster", data={"csrf_token": form_token, "action": "reset"})
    assert reset.status_code == 302 and background_of(task.id) is None
    assert client.get(f"/referral/p/{token}/poster.png").data == before.data  # the built-in background again


def test_the_poster_url_names_the_format_it_is_served_in_and_links_already_sent_keep_working(client, signed_in_as,
                                                                                           task):
    with transaction():
        inviter = service.join(task, "wmformat")
        inviter.nickname, inviter.qr_code = "阿花", "https://wework.qpic.cn/wwpic/abc/0"
    with client.application.test_request_context():
        token = links.token_for(inviter.id)
    base = f"/referral/p/{token}/poster"
    assert f'src="{base}.png"' in client.get(f"/referral/p/{token}").get_data(as_text=True)
    assert client.get(f"{base}.png").mimetype == "image/png"
    assert client.get(f"{base}.jpg").headers["Location"].endswith(f"{base}.png")

    signed_in_as("operator")
    assert upload(client, task.id, picture((750, 1334), "JPEG"), "bg.jpg").status_code == 302
    assert f'src="{base}.jpg"' in client.get(f"/referral/p/{token}").get_data(as_text=True)
    assert client.get(f"{base}.jpg").mimetype == "image/jpeg"
    sent_before = client.get(f"{base}.png")  # a link sent while the poster was a PNG
    assert sent_before.status_code == 302 and sent_before.headers["Location"].endswith(f"{base}.jpg")
    followed = client.get(f"{base}.png", follow_redirects=True)
    assert followed.mimetype == "image/jpeg" and followed.data[:3] == b"\xff\xd8\xff"
    page = client.get(f"/referral/{task.id}/poster").get_data(as_text=True)
    assert f"/referral/{task.id}/poster/preview.jpg?" in page
    assert client.get(f"/referral/{task.id}/poster/preview.jpg").mimetype == "image/jpeg"
    assert client.get(f"/referral/{task.id}/poster/preview.png").status_code == 302
    versioned = client.get(f"/referral/{task.id}/poster/preview.png?v=17")  # the page's cache-busting stamp stays
    assert versioned.headers["Location"].endswith(f"/referral/{task.id}/poster/preview.jpg?v=17")


def test_a_phone_photo_is_turned_upright_by_its_orientation_tag(client, signed_in_as, task):
    signed_in_as("operator")
    sideways = picture((1334, 750), "JPEG", exif_orientation=6)  # stored sideways, shown upright by phones
    assert upload(client, task.id, sideways, "photo.jpg").status_code == 302
    stored = Image.open(io.BytesIO(background_of(task.id))).convert("RGB")
    assert stored.size == poster.SIZE
    assert stored.getpixel((700, 20)) == pytest.approx((244, 211, 94), abs=12)  # the mark: now top-right


def test_viewers_cannot_change_the_poster_and_an_ended_task_keeps_its_own(client, signed_in_as, task):
    signed_in_as("viewer")
    assert client.get(f"/referral/{task.id}/poster").status_code == 403
    assert client.get(f"/referral/{task.id}/poster/preview.png").status_code == 403
    service.move(task, "schedule")
    service.move(task, "end")
    signed_in_as("operator")
    response = upload(client, task.id, picture((750, 1334)))
    assert response.status_code == 400 and "任务已结束，不能再更换海报" in response.get_data(as_text=True)
    assert background_of(task.id) is None
