"""WeCom's limits for uploaded media (wecom-api.md §13), checked before anything is stored. No Flask, no database."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.permissions import N_

MB = 1024 * 1024
MEDIA_LIFE_SECONDS = 3 * 86400   # a media_id from media/upload
KINDS = {"image": N_("图片"), "video": N_("视频"), "file": N_("文件")}
MAX_BYTES = {"image": 10 * MB, "video": 10 * MB, "file": 20 * MB}
FORMATS = {"image": N_("JPG 或 PNG"), "video": N_("MP4")}
MAX_URL_IMAGE_BYTES = 2 * MB     # media/uploadimg (wechatpy's docstring: 5 B-2 MB; UNCONFIRMED on the current page)


@dataclass(frozen=True)
class MediaInvalid(ValueError):
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, gettext=None) -> str:
        """The message with its params; with `gettext` translated (the kind and format names too)."""
        if gettext is None:
            return self.message % self.params if self.params else self.message
        params = {k: gettext(v) if k in ("kind", "formats", "label") else v for k, v in self.params.items()}
        return gettext(self.message, **params)


def content_type(kind: str, data: bytes) -> str | None:
    """The file's type read from its first bytes (names can lie); None when `kind` does not take it."""
    if kind == "image":
        if data.startswith(b"\xff\xd8\xff"):
            return "image/jpeg"
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image/png"
        return None
    if kind == "video":
        return "video/mp4" if data[4:8] == b"ftyp" else None
    return "application/octet-stream"


def check(kind: str, data: bytes) -> str:
    """The content type of a file WeCom will take as `kind`; MediaInvalid (a clear Chinese message) otherwise."""
    if kind not in KINDS:
        raise MediaInvalid(N_("请选择素材类型：图片、视频或文件"))
    if not data:
        raise MediaInvalid(N_("文件是空的，请重新选择"))
    if len(data) > MAX_BYTES[kind]:
        raise MediaInvalid(N_("%(kind)s最大 %(max)s MB，这个文件有 %(size).1f MB（企业微信的限制）"),
                           {"kind": KINDS[kind], "max": MAX_BYTES[kind] // MB, "size": len(data) / MB})
    found = content_type(kind, data)
    if found is None:
        raise MediaInvalid(N_("%(kind)s只支持 %(formats)s 格式（企业微信的限制），这个文件不是"),
                           {"kind": KINDS[kind], "formats": FORMATS[kind]})
    return found
