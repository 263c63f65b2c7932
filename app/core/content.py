"""Message content (text with variables + attachments) within WeCom's limits: parse, validate, render. No Flask, no DB.

One model for every message the console sends, so operators write variables the same way everywhere:
welcome templates, pushes (campaigns; see sending.sendrules for what the variables become in a mass
message) and later referral tasks and wake-ups.

    content = parse(text, attachments)          # raises ContentInvalid(errors) with every problem found
    text, attachments = render(content, {"客户昵称": "王芳", "员工姓名": "李雷"})
    gateway.send_welcome_msg(code, text, attachments)   # the same shapes go into add_msg_template

Variables are written `{客户昵称}` / `{员工姓名}`; `{{` and `}}` are literal braces. An unknown variable or a
stray brace is an error. Error messages are Chinese msgids with %(name)s parameters (translate where shown).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from app.core.permissions import N_

MAX_TEXT_BYTES = 4000      # send_welcome_msg / add_msg_template text.content
MAX_ATTACHMENTS = 9
VARIABLES = {"客户昵称": N_("客户在微信里的昵称"), "员工姓名": N_("发送消息的员工姓名")}
SAMPLE_VALUES = {"客户昵称": "王芳", "员工姓名": "李雷"}
KINDS = {"image": N_("图片"), "link": N_("链接"), "miniprogram": N_("小程序")}
# (field, label, required, max bytes or None); image needs media_id or pic_url (media_id wins).
FIELDS: dict[str, tuple[tuple[str, str, bool, int | None], ...]] = {
    "image": (("media_id", N_("图片素材 media_id"), False, 128), ("pic_url", N_("图片链接"), False, 2048)),
    "link": (("title", N_("标题"), True, 128), ("url", N_("链接地址"), True, 2048),
             ("picurl", N_("封面图片链接"), False, 2048), ("desc", N_("描述"), False, 512)),
    "miniprogram": (("title", N_("标题"), True, 64), ("appid", N_("小程序 appid"), True, 64),
                    ("page", N_("页面路径"), True, 256), ("pic_media_id", N_("封面素材 media_id"), True, 128)),
}
# A file from the media library (app/media), where a feature allows them (`parse(..., library=True)`): kept as
# {"msgtype": kind, kind: {"library_id": id}} and turned into a fresh media_id just before sending.
LIBRARY_KINDS = ("image", "video", "file")
LIBRARY_ID = "library_id"
# A cover from the library, where a feature allows them: the field it stands for and the key that names the image
# ({"miniprogram": {..., "pic_library_id": 7}}); turned into a media_id (mini program) or a permanent image URL
# (link) just before sending.
COVERS = {"miniprogram": ("pic_media_id", "pic_library_id"), "link": ("picurl", "picurl_library_id")}
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
# Control characters (C0, DEL, C1) but the line break and the tab: invisible in the editor, garbled or refused in
# WeCom's clients, and a NUL is refused by PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ContentError:
    """One problem: where (`text`, `attachments[2].title`, ...), a msgid with %(name)s params."""

    where: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, gettext=None) -> str:
        """The message with its params; with `gettext` translated, the field label (a msgid too) included."""
        if gettext is None:
            return self.message % self.params if self.params else self.message
        params = {k: gettext(v) if k == "label" else v for k, v in self.params.items()}
        return gettext(self.message, **params)


class ContentInvalid(ValueError):
    def __init__(self, errors: list[ContentError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.where}: {e.text()}" for e in errors))


@dataclass(frozen=True)
class Content:
    text: str = ""
    attachments: tuple[dict[str, Any], ...] = ()

    @property
    def variables(self) -> set[str]:
        return {m.group(1) for m in _TOKEN.finditer(self.text) if m.group(1) is not None}

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "attachments": [dict(a) for a in self.attachments]}


def _control_char(value: str) -> dict[str, Any] | None:
    """Where the first control character is (1-based) and its code point, or None."""
    match = _CONTROL.search(value)
    return {"pos": match.start() + 1, "code": "U+%04X" % ord(match.group())} if match else None


def _text_errors(text: str, offered: Mapping[str, str]) -> list[ContentError]:
    errors = []
    if control := _control_char(text):
        errors.append(ContentError("text", N_("第 %(pos)s 个字符是看不见的控制字符（%(code)s），请删除后再保存"), control))
    for match in _TOKEN.finditer(text):
        token, name = match.group(0), match.group(1)
        if token in ("{{", "}}"):
            continue
        if name is None:
            errors.append(ContentError("text", N_("第 %(pos)s 个字符是单独的花括号：变量写作 {客户昵称}，花括号本身写作 {{ 或 }}"),
                                       {"pos": match.start() + 1}))
        elif name not in VARIABLES:
            errors.append(ContentError("text", N_("未知变量 {%(name)s}：可用的变量有 %(known)s"),
                                       {"name": name, "known": "、".join("{%s}" % v for v in offered)}))
    longest = _fill(text, {name: "" for name in VARIABLES})
    if len(longest.encode()) > MAX_TEXT_BYTES:
        errors.append(ContentError("text", N_("文字最多 %(max)s 字节（约 %(chars)s 个汉字），现在 %(n)s 字节"),
                                   {"max": MAX_TEXT_BYTES, "chars": MAX_TEXT_BYTES // 3, "n": len(longest.encode())}))
    return errors


def library_id(attachment: Any) -> int | None:
    """The media-library item an attachment names, or None."""
    kind = attachment.get("msgtype") if isinstance(attachment, dict) else None
    obj = attachment.get(kind) if kind in LIBRARY_KINDS else None
    value = obj.get(LIBRARY_ID) if isinstance(obj, dict) else None
    return int(value) if str(value or "").isdigit() else None


def cover_id(attachment: Any) -> int | None:
    """The media-library image a link's or mini program's cover names, or None."""
    kind = attachment.get("msgtype") if isinstance(attachment, dict) else None
    obj = attachment.get(kind) if kind in COVERS else None
    value = obj.get(COVERS[kind][1]) if isinstance(obj, dict) else None
    return int(value) if str(value or "").isdigit() else None


def library_ids(attachments: list[Any]) -> list[int]:
    """Every media-library item the attachments name: files and covers."""
    return [i for a in attachments for i in (library_id(a), cover_id(a)) if i is not None]


def _attachment(index: int, raw: Any, library: bool) -> tuple[dict[str, Any] | None, list[ContentError]]:
    where = f"attachments[{index}]"
    kind = raw.get("msgtype") if isinstance(raw, dict) else None
    if library and (item := library_id(raw)) is not None:
        return {"msgtype": kind, kind: {LIBRARY_ID: item}}, []
    if kind not in FIELDS:
        return None, [ContentError(where, N_("第 %(n)s 个附件的类型不支持（可用：图片、链接、小程序）"), {"n": index + 1})]
    values = raw.get(kind) if isinstance(raw.get(kind), dict) else raw
    obj, errors = {}, []
    cover = cover_id({"msgtype": kind, kind: values}) if library else None
    if cover is not None:
        obj[COVERS[kind][1]] = cover
    for name, label, required, max_bytes in FIELDS[kind]:
        value = str(values.get(name) or "").strip()
        if cover is not None and name == COVERS[kind][0]:
            continue  # the library's image stands for it
        if required and not value:
            errors.append(ContentError(f"{where}.{name}", N_("第 %(n)s 个附件缺少「%(label)s」"),
                                       {"n": index + 1, "label": label}))
        elif max_bytes and len(value.encode()) > max_bytes:
            errors.append(ContentError(f"{where}.{name}", N_("第 %(n)s 个附件的「%(label)s」最多 %(max)s 字节"),
                                       {"n": index + 1, "label": label, "max": max_bytes}))
        if control := _control_char(value):
            errors.append(ContentError(f"{where}.{name}", N_("第 %(n)s 个附件的「%(label)s」含看不见的控制字符（%(code)s）"),
                                       {"n": index + 1, "label": label, "code": control["code"]}))
        if name in ("url", "pic_url", "picurl") and value and not value.startswith(("http://", "https://")):
            errors.append(ContentError(f"{where}.{name}", N_("第 %(n)s 个附件的「%(label)s」要以 http:// 或 https:// 开头"),
                                       {"n": index + 1, "label": label}))
        if value:
            obj[name] = value
    if kind == "image" and not (obj.get("media_id") or obj.get("pic_url")):
        errors.append(ContentError(f"{where}.media_id", N_("第 %(n)s 个附件（图片）需要图片素材 media_id 或图片链接"),
                                   {"n": index + 1}))
    return {"msgtype": kind, kind: obj}, errors


def parse(text: str | None, attachments: list[Any] | None = None, offered: Mapping[str, str] = VARIABLES,
          library: bool = False) -> Content:
    """Content from raw text and attachments ({"msgtype", kind: {...}} or flat {"msgtype", fields...}).
    `offered`: the variables the caller's editor offers, listed when the text names an unknown one; `library`:
    media-library attachments are allowed (the caller checks that the items exist)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    raw = list(attachments or [])
    errors = _text_errors(text, offered)
    if len(raw) > MAX_ATTACHMENTS:
        errors.append(ContentError("attachments", N_("最多 %(max)s 个附件，现在 %(n)s 个"),
                                   {"max": MAX_ATTACHMENTS, "n": len(raw)}))
    parsed = []
    for index, item in enumerate(raw):
        obj, problems = _attachment(index, item, library)
        errors += problems
        if obj:
            parsed.append(obj)
    if not text and not raw:
        errors.append(ContentError("text", N_("文字和附件不能都为空")))
    if errors:
        raise ContentInvalid(errors)
    return Content(text, tuple(parsed))


def _fill(text: str, values: Mapping[str, str]) -> str:
    def one(match: re.Match) -> str:
        token, name = match.group(0), match.group(1)
        if token in ("{{", "}}"):
            return token[0]
        return str(values.get(name) or "") if name is not None else token

    return _TOKEN.sub(one, text)


def render(content: Content, values: Mapping[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """(text, attachments) as WeCom takes them; a variable without a value becomes empty, and so does
    the separator before it when it would dangle (「你好，{客户昵称}！」 without a name: 「你好！」)."""
    blanks = {name: values.get(name) or "" for name in VARIABLES}
    text = content.text
    for name, value in blanks.items():
        if not value:
            text = re.sub(r"[，,、 ]*\{" + re.escape(name) + r"\}", "{%s}" % name, text)
    return _fill(text, blanks).strip(), [dict(a) for a in content.attachments]


def library_from_form(values: list[str]) -> list[dict[str, Any]]:
    """Attachments of the library files a form picked (values "kind-id", app/templates/_media_library.html)."""
    picked = []
    for value in values:
        kind, _sep, item_id = value.partition("-")
        if kind in LIBRARY_KINDS and item_id.isdigit():
            picked.append({"msgtype": kind, kind: {LIBRARY_ID: int(item_id)}})
    return picked


def from_form(form: Mapping[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """(text, attachments) from the content editor's fields (`text`, `att-N-msgtype`, `att-N-<kind>-<field>`);
    rows without a type are blank and left out. Pass the result to `parse`."""
    rows = sorted({int(key.split("-")[1]) for key in form if key.startswith("att-") and key.split("-")[1].isdigit()})
    attachments = []
    for n in rows:
        kind = (form.get(f"att-{n}-msgtype") or "").strip()
        if kind:
            names = [name for name, *_ in FIELDS.get(kind, ())]
            names += [key for key in COVERS.get(kind, ())[1:] if f"att-{n}-{kind}-{key}" in form]  # a library cover
            values = {name: form.get(f"att-{n}-{kind}-{name}") or "" for name in names}
            attachments.append({"msgtype": kind, kind: values})
    return form.get("text") or "", attachments
