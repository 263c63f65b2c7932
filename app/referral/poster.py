"""The inviter's poster, rendered here: the task's background (or the shipped one, its Chinese text baked in), the
inviter's nickname and a QR code of their contact way; cached on disk by everything it is drawn from.

Fonts: the nickname needs a font with Chinese glyphs. REFERRAL_POSTER_FONT (a .ttf/.otf/.ttc path) wins, then the
usual system CJK fonts (Noto Sans CJK, WenQuanYi, Droid Sans Fallback). Without any, the shipped background still
shows its Chinese text and the nickname is drawn only when the built-in font has all its characters (else left
out, and `cjk_font()` is None so the task page can say so)."""
from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
from pathlib import Path

import segno
from flask import current_app
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger("scrm.referral.poster")
SIZE = (750, 1334)
QR_BOX = (135, 470, 615, 950)  # the white card of the shipped background
NAME_Y = 150
DEFAULT_BACKGROUND = Path(__file__).resolve().parents[1] / "static" / "referral" / "poster-background.png"
SYSTEM_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
                "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
                "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
                "/System/Library/Fonts/PingFang.ttc")
VERSION = "3"  # part of every cache key: a change of layout draws every poster again


@functools.cache
def _font_path(configured: str | None) -> str | None:
    for path in ((configured,) if configured else ()) + SYSTEM_FONTS:
        if path and os.path.isfile(path):
            return path
    return None


def cjk_font() -> str | None:
    """The font file posters draw nicknames with, None when the server has no Chinese font."""
    return _font_path(current_app.config.get("REFERRAL_POSTER_FONT"))


@functools.cache
def _font(path: str | None, size: int):
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=8)
def _background(data_hash: str, data: bytes | None) -> Image.Image:
    """The background scaled to the poster's size (cached: decoding is the slow part)."""
    image = Image.open(io.BytesIO(data) if data else DEFAULT_BACKGROUND).convert("RGB")
    return image if image.size == SIZE else image.resize(SIZE, Image.LANCZOS)


def _drawable(font_path: str | None, text: str) -> bool:
    """Whether `text` can be drawn: any text with a CJK font, only printable ASCII with the built-in one."""
    return font_path is not None or all(32 <= ord(ch) < 127 for ch in text)


def render(nickname: str, qr_payload: str, background: bytes | None) -> bytes:
    """The poster as image bytes: PNG on the built-in background (flat colours: small and quick), JPEG on an
    uploaded one (a photo as PNG is several times larger and slower to encode; no chroma subsampling keeps the QR
    code's edges sharp)."""
    bg_hash = hashlib.sha1(background).hexdigest() if background else "default"
    image = _background(bg_hash, background).copy()
    draw = ImageDraw.Draw(image)
    font_path = cjk_font()
    line = f"{nickname[:12]} 邀请你" if nickname else "好友邀请你"
    if not _drawable(font_path, line):
        line = nickname[:12] if nickname and _drawable(font_path, nickname[:12]) else ""
    if background:  # an uploaded one: a white card keeps the code scannable, an outline keeps the name legible
        draw.rounded_rectangle(QR_BOX, radius=24, fill="#ffffff")
    if line:
        draw.text((SIZE[0] / 2, NAME_Y), line, font=_font(font_path, 44), fill="#ffffff", anchor="mm",
                  stroke_width=3 if background else 0, stroke_fill="#333333")
    left, top, right, bottom = QR_BOX
    qr = segno.make(qr_payload, error="m")
    side = right - left - 40
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=max(1, side // qr.symbol_size(border=2)[0]), border=2)
    code = Image.open(buffer).convert("RGB")
    code = code.resize((side, side), Image.NEAREST)
    image.paste(code, (left + 20, top + 20))
    out = io.BytesIO()
    if background:
        image.save(out, format="JPEG", quality=92, subsampling=0)
    else:
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def extension(background: bytes | None) -> str:
    """The poster's file extension as `render` draws it: jpg on an uploaded background, png on the built-in one."""
    return "jpg" if background else "png"


def mimetype(data: bytes) -> str:
    """The content type of a rendered poster."""
    return "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"


def _cache_dir() -> Path:
    path = Path(current_app.instance_path) / "referral-posters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def poster(participant_id: int, nickname: str, qr_payload: str, background: bytes | None) -> bytes:
    """The participant's poster, from the disk cache when nothing it is drawn from has changed."""
    bg_hash = hashlib.sha1(background).hexdigest() if background else "default"
    key = hashlib.sha1("|".join((VERSION, str(participant_id), nickname, qr_payload, bg_hash,
                                 str(cjk_font()))).encode()).hexdigest()
    path = _cache_dir() / f"{participant_id}-{key[:16]}.{extension(background)}"
    if path.exists():
        return path.read_bytes()
    data = render(nickname, qr_payload, background)
    temp = path.with_suffix(".tmp")
    temp.write_bytes(data)
    temp.replace(path)
    return data


def forget(participant_ids: set[int]) -> int:
    """Drop the cached posters of these participants (their task's background changed); how many files."""
    gone = 0
    for path in _cache_dir().iterdir():
        owner = path.name.split("-", 1)[0]
        if path.suffix in (".png", ".jpg") and owner.isdigit() and int(owner) in participant_ids:
            path.unlink(missing_ok=True)
            gone += 1
    return gone
