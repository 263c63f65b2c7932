"""The task's poster background as the operator uploads it: checked (size, format, dimensions, aspect; clear
Chinese errors), turned upright and scaled to the poster once, stored on the task; every cached poster of the
task is dropped when it changes."""
from __future__ import annotations

import io

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from sqlalchemy import select

from app.core.audit import record
from app.core.db import transaction, utcnow
from app.referral import poster
from app.extensions import db
from app.referral.models import ReferralParticipant, ReferralTask

MAX_BYTES = 5 * 1024 * 1024
FORMATS = {"PNG": "PNG", "JPEG": "JPEG"}
MIN_WIDTH = 600
MAX_PIXELS = 40_000_000  # a larger header is refused before any decoding (a decompression bomb)
ASPECT = poster.SIZE[0] / poster.SIZE[1]
ASPECT_TOLERANCE = 0.03  # ±3 % around 750:1334


class BackgroundInvalid(ValueError):
    """A background that cannot be used; the message is shown as it is (translated)."""


def checked(data: bytes) -> bytes:
    """The upload turned upright, scaled to the poster's size and stored as JPEG (the poster is opaque: transparency
    goes onto white; metadata is dropped); BackgroundInvalid says why it cannot be used."""
    if not data:
        raise BackgroundInvalid(_("请选择一张图片"))
    if len(data) > MAX_BYTES:
        raise BackgroundInvalid(_("图片太大：%(size).1f MB，最大 %(max)s MB", size=len(data) / 1024 / 1024,
                                  max=MAX_BYTES // 1024 // 1024))
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError):
        raise BackgroundInvalid(_("这不是图片文件：请上传 PNG 或 JPEG 图片")) from None
    if image.format not in FORMATS:
        raise BackgroundInvalid(_("不支持 %(format)s 格式：请上传 PNG 或 JPEG 图片", format=image.format or "?"))
    if image.width * image.height > MAX_PIXELS:
        raise BackgroundInvalid(_("图片像素过多（%(w)s×%(h)s）：请缩小后再上传", w=image.width, h=image.height))
    try:
        image = ImageOps.exif_transpose(image)  # a phone photo's orientation tag, applied
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        raise BackgroundInvalid(_("图片文件已损坏，无法读取")) from None
    width, height = image.size
    if abs(width / height - ASPECT) / ASPECT > ASPECT_TOLERANCE:
        raise BackgroundInvalid(_("图片比例不对：海报是 %(w)s×%(h)s 的竖图（约 9:16），这张是 %(iw)s×%(ih)s",
                                  w=poster.SIZE[0], h=poster.SIZE[1], iw=width, ih=height))
    if width < MIN_WIDTH:
        raise BackgroundInvalid(_("图片太小：宽至少 %(min)s 像素（建议 %(w)s×%(h)s），这张宽 %(iw)s 像素",
                                  min=MIN_WIDTH, w=poster.SIZE[0], h=poster.SIZE[1], iw=width))
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, "#ffffff")
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    image = image.convert("RGB").resize(poster.SIZE, Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def change(task: ReferralTask, data: bytes | None) -> None:
    """Use `data` (already checked) as the task's background, or the built-in one for None; the task's cached
    posters are dropped."""
    with transaction():
        task.poster_background, task.updated_at = data, utcnow()
        record("referral.poster_changed", target=f"{task.name}#{task.id}",
               details={"background": "custom" if data else "default", "bytes": len(data or b"")})
    poster.forget(set(db.session.scalars(select(ReferralParticipant.id).where(ReferralParticipant.task_id == task.id))))
