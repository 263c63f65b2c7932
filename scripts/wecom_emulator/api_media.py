"""media/upload (temporary media, 3-day media_id) and media/uploadimg (permanent image URL, quota) — wecom-api.md §13.

Facts from the document: types image|voice|video|file in the multipart field `media`; image ≤10 MB JPG/PNG, video
≤10 MB MP4, file ≤20 MB, voice ≤2 MB AMR; the media_id is valid 3 days; uploadimg at most 3,000 a month and 1,000 a
day per corp. Ages and quotas run on the emulator's clock (POST /_emulator/clock), so tests age a media_id at once.

UNCONFIRMED, each chosen the harder way for a client:
- the type is checked by the file's content (JPEG/PNG/MP4/AMR signatures), not by its name: a renamed file fails;
- errcodes: 40004 unknown `type`, 40005 wrong file type, 40006 file too large (image 40009, video 40011 — the
  codes WeCom's global list gives for image/video sizes), 44001 empty file, 41006 media_id missing, 40007 unknown
  or expired media_id (the same code for both: a client cannot tell "expired" from "never existed");
- a media_id expires exactly 3 × 24 h after upload (no grace);
- uploadimg takes JPG/PNG of at most 2 MB (wechatpy's docstring: 5 B–2 MB); over the quota it answers 45009
  (WeCom's code for "接口调用超过限制"); days and months count in China time (as the mass-message quota, quota.py).
"""
import hashlib
from datetime import datetime

from flask import request

from .apicore import ApiError, api
from .quota import CHINA

MB = 1024 * 1024
MEDIA_LIFE = 3 * 86400
LIMITS = {"image": 10 * MB, "video": 10 * MB, "file": 20 * MB, "voice": 2 * MB}
SIZE_ERRCODES = {"image": 40009, "video": 40011}   # else 40006
UPLOADIMG_MAX, UPLOADIMG_PER_DAY, UPLOADIMG_PER_MONTH = 2 * MB, 1000, 3000
SIGNATURES = {"image": ("JPG/PNG", lambda b: b.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))),
              "video": ("MP4", lambda b: b[4:8] == b"ftyp"),
              "voice": ("AMR", lambda b: b.startswith(b"#!AMR"))}


def _file(kind: str, max_bytes: int) -> tuple[str, bytes]:
    upload = request.files.get("media")
    if upload is None:
        raise ApiError(40058, "multipart field media missing")
    data = upload.read(max_bytes + 1)
    if not data:
        raise ApiError(44001, "empty media data")
    if len(data) > max_bytes:
        raise ApiError(SIZE_ERRCODES.get(kind, 40006), f"{kind} larger than {max_bytes // MB} MB")
    if kind in SIGNATURES:
        label, ok = SIGNATURES[kind]
        if not ok(data):
            raise ApiError(40005, f"{kind} must be {label}")
    return upload.filename or "", data


@api("media/upload", writes=True, body="multipart")
def upload(call):
    kind = call.args.get("type")
    if kind not in LIMITS:
        raise ApiError(40004, "type must be image, voice, video or file")
    name, data = _file(kind, LIMITS[kind])
    now = call.emu.clock.now()
    media_id = "3" + hashlib.sha256(f"{now}:{len(call.company.media)}:{name}".encode() + data).hexdigest()[:40]
    call.company.media[media_id] = {"type": kind, "created_at": int(now), "name": name, "size": len(data)}
    return {"type": kind, "media_id": media_id, "created_at": str(int(now))}


@api("media/uploadimg", writes=True, body="multipart")
def uploadimg(call):
    now = call.emu.clock.now()
    local = datetime.fromtimestamp(now, CHINA)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    times = call.company.uploadimg_times
    if sum(1 for t in times if t >= day.timestamp()) >= UPLOADIMG_PER_DAY:
        raise ApiError(45009, f"uploadimg: {UPLOADIMG_PER_DAY} images a day")
    if sum(1 for t in times if t >= month.timestamp()) >= UPLOADIMG_PER_MONTH:
        raise ApiError(45009, f"uploadimg: {UPLOADIMG_PER_MONTH} images a month")
    name, data = _file("image", UPLOADIMG_MAX)
    times[:] = [t for t in times if t >= month.timestamp()] + [now]
    digest = hashlib.sha256(data).hexdigest()
    return {"url": f"https://wework.qpic.cn/wwpic/{digest[:24]}/0"}


def media_checker(call):
    """``check(media_id, where)`` for content.validate: 40007 unless uploaded and younger than 3 days (emulator
    clock)."""
    def check(media_id: str, where: str) -> None:
        item = call.company.media.get(media_id)
        if item is None or call.emu.clock.now() >= item["created_at"] + MEDIA_LIFE:
            raise ApiError(40007, f"{where}: media_id unknown or expired")
    return check
