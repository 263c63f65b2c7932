"""Validation of message content shared by send_welcome_msg and add_msg_template (text + attachments)."""
from typing import Callable

from .apicore import ApiError

MAX_TEXT_BYTES = 4000
MAX_ATTACHMENTS = 9
LIMITS = {("link", "title"): 128, ("link", "desc"): 512, ("miniprogram", "title"): 64}
MEDIA_FIELDS = {"image": "media_id", "video": "media_id", "file": "media_id", "miniprogram": "pic_media_id"}
REQUIRED = {"image": (), "link": ("title", "url"), "miniprogram": ("title", "pic_media_id", "appid", "page"),
            "video": ("media_id",), "file": ("media_id",)}


def validate(body: dict, check_media: Callable[[str, str], None]) -> tuple[str, list]:
    """(text content, attachments) after WeCom's checks; both empty -> 44004, too long -> 45002;
    ``check_media(media_id, where)`` raises 40007 for an unknown or expired media_id (api_media.check_media_id)."""
    text_obj = body.get("text") or {}
    if not isinstance(text_obj, dict) or not isinstance(text_obj.get("content", ""), str):
        raise ApiError(40058, "text must be {\"content\": \"...\"}")
    content = text_obj.get("content", "")
    if len(content.encode()) > MAX_TEXT_BYTES:
        raise ApiError(45002, f"text.content over {MAX_TEXT_BYTES} bytes")
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list):
        raise ApiError(40058, "attachments must be a list")
    if len(attachments) > MAX_ATTACHMENTS:
        raise ApiError(40058, f"at most {MAX_ATTACHMENTS} attachments")
    for i, item in enumerate(attachments):
        kind = item.get("msgtype") if isinstance(item, dict) else None
        if kind not in REQUIRED or not isinstance(item.get(kind), dict):
            raise ApiError(40058, f"attachments[{i}]: msgtype must match its object")
        obj = item[kind]
        missing = [f for f in REQUIRED[kind] if not obj.get(f)]
        if kind == "image" and not (obj.get("media_id") or obj.get("pic_url")):
            missing.append("media_id or pic_url")
        if missing:
            raise ApiError(40058, f"attachments[{i}].{kind}: {missing[0]} required")
        for (lkind, field), max_bytes in LIMITS.items():
            if lkind == kind and len(str(obj.get(field, "")).encode()) > max_bytes:
                raise ApiError(45002, f"attachments[{i}].{kind}.{field} over {max_bytes} bytes")
        if obj.get(MEDIA_FIELDS.get(kind, "")):
            check_media(obj[MEDIA_FIELDS[kind]], f"attachments[{i}].{kind}")
    if not content and not attachments:
        raise ApiError(44004, "text and attachments may not both be empty")
    return content, attachments
