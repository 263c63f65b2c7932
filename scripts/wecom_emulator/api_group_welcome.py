"""入群欢迎语素材: group_welcome_template/add, edit, get, del (wecom-api.md §13).

Facts: at most 100 templates per corp; text ≤3000 bytes, may hold %NICKNAME%; at most one attachment (image, link
with title ≤128 B and desc ≤512 B, mini-program with title ≤64 B, file or video) given as a top-level object;
`notify` 1 (the default) tells group owners a new template exists. Binding a template to a group by API:
**UNCONFIRMED, believed impossible** (owners choose it in the client), so there is no such API here. WeCom sends no
event when a group welcome is sent.

UNCONFIRMED, each chosen the harder way for a client:
- the 101st template, two attachments, or an unknown / missing template_id answer 40058 (one code for all: a client
  cannot tell "gone" from a bad request);
- edit replaces the whole content: what is left out is removed (send text and attachment every time);
- media_ids are checked as in send_welcome_msg (40007 unknown or older than 3 days).
"""
import secrets

from .api_media import media_checker
from .apicore import ApiError, api, integer, text
from .content import validate

MAX_TEMPLATES = 100
MAX_TEXT_BYTES = 3000
KINDS = ("image", "link", "miniprogram", "file", "video")


def _content(call) -> dict:
    """{"text"?, <one attachment kind>?} checked like a welcome message, with the template's own limits."""
    body = call.body
    kinds = [k for k in KINDS if body.get(k)]
    if len(kinds) > 1:
        raise ApiError(40058, "at most one attachment")
    text_obj = body.get("text") or {}
    content = text_obj.get("content", "") if isinstance(text_obj, dict) else None
    if not isinstance(content, str):
        raise ApiError(40058, "text must be {\"content\": \"...\"}")
    if len(content.encode()) > MAX_TEXT_BYTES:
        raise ApiError(45002, f"text.content over {MAX_TEXT_BYTES} bytes")
    attachments = [{"msgtype": kinds[0], kinds[0]: body[kinds[0]]}] if kinds else []
    validate({"text": {"content": content}, "attachments": attachments}, media_checker(call))
    found = {"text": {"content": content}} if content else {}
    if kinds:
        found[kinds[0]] = dict(body[kinds[0]])
    return found


def _template(company, body: dict) -> dict:
    template_id = text(body, "template_id", required=True)
    template = company.group_welcome_templates.get(template_id)
    if template is None:
        raise ApiError(40058, f"invalid template_id {template_id}")
    return template


@api("externalcontact/group_welcome_template/add", writes=True)
def add(call):
    company = call.company
    content = _content(call)
    notify = integer(call.body, "notify", 1)
    if notify not in (0, 1):
        raise ApiError(40058, "notify must be 0 or 1")
    if len(company.group_welcome_templates) >= MAX_TEMPLATES:
        raise ApiError(40058, f"at most {MAX_TEMPLATES} group welcome templates per corp")
    template_id = "msg" + secrets.token_urlsafe(18)
    company.group_welcome_templates[template_id] = {"template_id": template_id, "content": content,
                                                    "notify": notify, "create_time": int(call.now)}
    return {"template_id": template_id}


@api("externalcontact/group_welcome_template/edit", writes=True)
def edit(call):
    template = _template(call.company, call.body)
    template["content"] = _content(call)
    return {}


@api("externalcontact/group_welcome_template/get")
def get(call):
    return dict(_template(call.company, call.body)["content"])


@api("externalcontact/group_welcome_template/del", writes=True)
def delete(call):
    del call.company.group_welcome_templates[_template(call.company, call.body)["template_id"]]
    return {}
