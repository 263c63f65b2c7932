"""Pure rules of sending a push through WeCom: chunks, the message per task, result statuses, polling and reminders."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator, Sequence

from app.core import content

MAX_SINGLE_RECIPIENTS = 10_000  # add_msg_template: external_userid per call
MAX_GROUP_RECIPIENTS = 2_000    # add_msg_template: chat_id_list per call
MAX_REMINDS_PER_DAY = 3         # remind_groupmsg_send: per mass message per 24 h
REMIND_SPACING = timedelta(hours=24) / MAX_REMINDS_PER_DAY  # reminders this far apart never exceed the cap

# A mass message is one text per task, and a task belongs to one sender: {员工姓名} is the sender's name,
# {客户昵称} cannot be personalised (WeCom sends the same text to every recipient of the task): the editor does not
# offer it and a push that names it is refused (campaigns.editing); one saved before that still sends 「您」.
CUSTOMER_FALLBACK = "您"
PER_CUSTOMER = "客户昵称"
VARIABLES = {name: hint for name, hint in content.VARIABLES.items() if name != PER_CUSTOMER}

# get_groupmsg_send_result status -> (delivery status, fail_reason)
SEND_STATUS = {1: ("sent", None), 2: ("failed", "not_friend"), 3: ("failed", "over_quota")}
# get_groupmsg_task status: 0 未发送, 1 已确认 (confirmed, sending under way), 2 已发送. Whether WeCom still
# answers 1 is UNCONFIRMED (wecom-api.md §12): a member at 1 has confirmed all the same, so is never reminded
# or cancelled, and the task is not over before 2.
TASK_CONFIRMED = 1
TASK_SENT = 2


def task_confirmed(task_status) -> bool:
    """Whether the member has confirmed the task (已确认 or 已发送)."""
    return task_status in (TASK_CONFIRMED, TASK_SENT)


def chunk_size(chat_type: str) -> int:
    return MAX_GROUP_RECIPIENTS if chat_type == "group" else MAX_SINGLE_RECIPIENTS


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    """Consecutive slices of at most `size` items."""
    if size < 1:
        raise ValueError("chunk size must be positive")
    for start in range(0, len(items), size):
        yield items[start:start + size]


def render_text(text: str, staff_name: str) -> str:
    """The text of one task (content variables, app.core.content): {员工姓名} is the sender, {客户昵称} 「您」."""
    values = {"员工姓名": staff_name, "客户昵称": CUSTOMER_FALLBACK}
    return content.render(content.Content(text or ""), values)[0]


PERSONAL_FIELDS = {"link": ("title", "desc", "url")}  # attachment fields a personal value may stand in


def personalise(text: str, attachments: Sequence[dict], staff_name: str, personal: dict | None) -> dict:
    """A task's message: the text rendered for the sender, every `{name}` of the personal values replaced in the
    text (before the content variables, its braces escaped) and in a link's title, description and url."""
    personal = personal or {}
    for name, value in personal.items():
        text = text.replace("{%s}" % name, str(value).replace("{", "{{").replace("}", "}}"))
    out = []
    for attachment in attachments:
        kind = attachment.get("msgtype")
        fields = PERSONAL_FIELDS.get(kind, ())
        if personal and fields and isinstance(attachment.get(kind), dict):
            obj = dict(attachment[kind])
            for key in fields:
                if isinstance(obj.get(key), str):
                    for name, value in personal.items():
                        obj[key] = obj[key].replace("{%s}" % name, str(value))
            attachment = {**attachment, kind: obj}
        out.append(attachment)
    return {"text": render_text(text, staff_name), "attachments": out}


def message(chat_type: str, sender: str, targets: Sequence[str], text: str, attachments: Sequence[dict]) -> dict:
    """The add_msg_template body for one task (one sender, one chunk of customers or groups)."""
    body: dict = {"chat_type": chat_type, "sender": sender}
    body["chat_id_list" if chat_type == "group" else "external_userid"] = list(targets)
    if text:
        body["text"] = {"content": text}
    if attachments:
        body["attachments"] = list(attachments)
    return body


def outcome(send_status: int) -> tuple[str, str | None] | None:
    """Delivery (status, fail_reason) for a send result status, or None while it is still unsent (0)."""
    return SEND_STATUS.get(send_status)


def next_poll_delay(age: timedelta) -> timedelta:
    """Back off with the task's age: every minute in the first hour, then 5 minutes, then 30 after a day."""
    if age < timedelta(hours=1):
        return timedelta(minutes=1)
    if age < timedelta(hours=24):
        return timedelta(minutes=5)
    return timedelta(minutes=30)


def remind_due(submitted_at: datetime, last_reminded_at: datetime | None, remind_count: int, now: datetime,
               remind_after: timedelta, max_reminds: int) -> bool:
    """Whether a task still unconfirmed should get a reminder now.

    The first comes `remind_after` after submission, the next ones at least 8 hours apart, so no
    24-hour window ever holds more than WeCom's 3; at most `max_reminds` in all."""
    if remind_count >= max_reminds or now < submitted_at + remind_after:
        return False
    return last_reminded_at is None or now >= last_reminded_at + REMIND_SPACING
