"""Pure checks of a push's content against WeCom's limits (text bytes, attachments and their shapes)."""
from __future__ import annotations

from typing import Any

from app.campaigns.sendrules import render_text

MAX_TEXT_BYTES = 4000  # add_msg_template text.content
MAX_ATTACHMENTS = 9
ATTACHMENT_LABELS = {"image": "图片", "link": "链接", "miniprogram": "小程序"}
REQUIRED = {  # fields the console asks for, per attachment type (WeCom's shapes, wecom-api.md §5)
    "image": (("pic_url", "图片地址"),),
    "link": (("title", "链接标题"), ("url", "链接地址")),
    "miniprogram": (("title", "小程序标题"), ("appid", "小程序 AppID"), ("page", "小程序页面路径"),
                    ("pic_media_id", "封面 media_id")),
}
LIMITS = {("link", "title"): 128, ("link", "url"): 2048, ("link", "desc"): 512, ("miniprogram", "title"): 64,
          ("image", "pic_url"): 2048, ("miniprogram", "page"): 512}


def problems(content: dict[str, Any], label: str = "") -> list[str]:
    """What is wrong with a content ({"text", "attachments"}), in Chinese; empty when WeCom will take it."""
    text = (content.get("text") or "").strip()
    attachments = content.get("attachments") or []
    found = []
    if not text and not attachments:
        found.append(f"{label}文字和附件不能都为空")
    if len(text.encode()) > MAX_TEXT_BYTES:
        found.append(f"{label}文字最多 {MAX_TEXT_BYTES} 字节（约 {MAX_TEXT_BYTES // 3} 个汉字），现在 {len(text.encode())} 字节")
    if len(attachments) > MAX_ATTACHMENTS:
        found.append(f"{label}附件最多 {MAX_ATTACHMENTS} 个，现在 {len(attachments)} 个")
    for number, item in enumerate(attachments, 1):
        kind = item.get("msgtype")
        if kind not in REQUIRED:
            found.append(f"{label}附件 {number}：类型只能是图片、链接或小程序")
            continue
        body = item.get(kind) or {}
        for field, name in REQUIRED[kind]:
            if not str(body.get(field) or "").strip():
                found.append(f"{label}附件 {number}（{ATTACHMENT_LABELS[kind]}）：请填写{name}")
        for (limit_kind, field), limit in LIMITS.items():
            if limit_kind == kind and len(str(body.get(field) or "")) > limit:
                found.append(f"{label}附件 {number}（{ATTACHMENT_LABELS[kind]}）：{field} 最长 {limit} 个字符")
        if kind in ("link", "image") and any(str(body.get(f) or "").strip() and not str(body[f]).startswith(
                ("http://", "https://")) for f in ("url", "pic_url")):
            found.append(f"{label}附件 {number}（{ATTACHMENT_LABELS[kind]}）：地址须以 http:// 或 https:// 开头")
    return found


def attachment(kind: str, fields: dict[str, str]) -> dict[str, Any]:
    """One attachment in WeCom's shape from the editor's fields (blank fields left out)."""
    return {"msgtype": kind, kind: {k: v.strip() for k, v in fields.items() if v and v.strip()}}


def preview(content: dict[str, Any], staff_name: str) -> str:
    """The text a customer will see from `staff_name` (see sendrules.render_text for the variables)."""
    return render_text(content.get("text") or "", staff_name)
