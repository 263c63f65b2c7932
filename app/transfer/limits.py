"""WeCom's transfer rules checked before any call (pure: no Flask, no database), each refusal with its reason.

wecom-api.md §11: a customer can be transferred at most 2 times, and after a completed transfer not again for 90 days;
a customer waiting for a takeover cannot be handed over again; at most 300 groups a day from one owner; an on-job
group moves at most twice in 90 days. Where the document is silent we read it as the emulator does (the harder way):
every handover WeCom accepted counts to the 2 (on-job and resigned together, also one the customer refused), the day
is any 24 hours, and the 300 count every group the owner gave away whoever the new owner.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.permissions import N_

MAX_TRANSFERS = 2
PROTECTION = timedelta(days=90)
GROUPS_PER_DAY = 300
GROUP_WINDOW = timedelta(days=1)
PER_CALL = 100  # customers or groups per WeCom call

SAME_MEMBER = N_("接替成员就是原跟进成员")
NOT_THEIRS = N_("已不是该成员的客户（客户已删除或已被转接）")
IN_TRANSFER = N_("正在转接中（等待客户接替），不能重复转接")
TWICE = N_("该客户已被转接 %(count)s 次，企业微信规定每位客户最多转接 2 次")
PROTECTED = N_("该客户于 %(date)s 完成转接，90 天保护期内（%(until)s 之前）不能再次转接")
GROUP_DAILY = N_("超过每天 300 个群的上限：该群主 24 小时内已转出 %(before)s 个，本批只能再转 %(room)s 个")
GROUP_TWICE = N_("该群 90 天内已在职转接 2 次，不能再次转接")
GROUP_GONE = N_("客户群已解散")
OWNER_CHANGED = N_("该群的群主已不是原成员")


@dataclass(frozen=True)
class Refusal:
    message: str
    params: dict


@dataclass(frozen=True)
class CustomerHistory:
    """What we know of one customer: handovers WeCom accepted, the last completed one, one still open."""

    accepted: int = 0
    last_success: datetime | None = None
    open: bool = False
    follows: bool = True        # the handover member still has the customer


def customer_refusal(history: CustomerHistory, handover: str, takeover: str, now: datetime,
                     day=lambda at: at.date().isoformat()) -> Refusal | None:
    """Why WeCom would refuse handing this customer over now (None: it may be sent). `day` formats a date."""
    if handover == takeover:
        return Refusal(SAME_MEMBER, {})
    if not history.follows:
        return Refusal(NOT_THEIRS, {})
    if history.open:
        return Refusal(IN_TRANSFER, {})
    if history.accepted >= MAX_TRANSFERS:
        return Refusal(TWICE, {"count": history.accepted})
    if history.last_success is not None and now - history.last_success < PROTECTION:
        return Refusal(PROTECTED, {"date": day(history.last_success), "until": day(history.last_success + PROTECTION)})
    return None


@dataclass(frozen=True)
class GroupState:
    chat_id: str
    owner: str | None            # None: dismissed
    onjob_moves_90d: int = 0


def group_refusals(groups: list[GroupState], handover: str, takeover: str, moved_today: int,
                   onjob: bool) -> dict[str, Refusal | None]:
    """Per group (in the order given) why it cannot move now; the first 300 - `moved_today` that may, do."""
    room, out = GROUPS_PER_DAY - moved_today, {}
    for group in groups:
        if handover == takeover:
            out[group.chat_id] = Refusal(SAME_MEMBER, {})
        elif group.owner is None:
            out[group.chat_id] = Refusal(GROUP_GONE, {})
        elif group.owner != handover:
            out[group.chat_id] = Refusal(OWNER_CHANGED, {})
        elif onjob and group.onjob_moves_90d >= MAX_TRANSFERS:
            out[group.chat_id] = Refusal(GROUP_TWICE, {})
        elif room <= 0:
            out[group.chat_id] = Refusal(GROUP_DAILY, {"before": moved_today,
                                                       "room": max(0, GROUPS_PER_DAY - moved_today)})
        else:
            room -= 1
            out[group.chat_id] = None
    return out


def chunks(items: list, size: int = PER_CALL) -> list[list]:
    """`items` in calls of at most `size` (WeCom takes 100 customers or groups per call)."""
    return [items[i:i + size] for i in range(0, len(items), size)]


# What WeCom's answers mean, for the results table (errcodes per customer or group; wecom-api.md §11).
WECOM_REASONS = {
    40096: N_("企业微信不认识这个客户"),
    84061: N_("该客户已不是原成员的客户"),
    40128: N_("企业微信拒绝：客户转接过于频繁（最多 2 次，完成后 90 天内不能再转）"),
    40129: N_("企业微信拒绝：客户正在转接中"),
    40050: N_("客户群不存在或已解散"),
    90500: N_("群主尚未离职，请用在职继承"),
    90501: N_("不是客户群"),
    90502: N_("群主已离职，请用离职继承"),
    90503: N_("企业微信拒绝：超过每天 300 个群的上限"),
    90507: N_("企业微信拒绝：该群 90 天内已转接 2 次"),
}
OTHER_WECOM_ERROR = N_("企业微信拒绝（错误码 %(code)s）")
RESULT_REASONS = {
    3: N_("客户拒绝了转接"),
    4: N_("接替成员的客户数已达上限"),
    5: N_("企业微信没有这次转接的记录"),
}
FAIL_REASONS = {"customer_refused": RESULT_REASONS[3], "customer_limit_exceed": RESULT_REASONS[4]}


def wecom_reason(errcode: int) -> Refusal:
    if errcode in WECOM_REASONS:
        return Refusal(WECOM_REASONS[errcode], {})
    return Refusal(OTHER_WECOM_ERROR, {"code": errcode})
