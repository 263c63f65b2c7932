"""WeCom's limits on corp tags, checked before any call, and the arithmetic of reordering (no database).

Sources: shared/wecom-api.md §3. Names are at most 30 characters; a corp holds at most 3000 corp tags (rule-group
tags included); `order` lies in [0, 2^32) and a larger value sorts first. WeCom documents no limit on tags per
group: UNCONFIRMED, so we enforce only the corp-wide 3000 (which bounds every group too) and refuse nothing WeCom
is known to accept.
"""
from __future__ import annotations

from app.core.errors import UserError
from app.core.permissions import N_

MAX_NAME_CHARS = 30
MAX_CORP_TAGS = 3000
MAX_ORDER = 2**32 - 1


class TagLimitError(UserError):
    """A request WeCom would refuse (or would turn into something else than asked); nothing was sent."""


def clean_name(raw: str, group: bool = False) -> str:
    """The name without surrounding spaces; refused when empty or longer than WeCom allows."""
    name = (raw or "").strip()
    if not name:
        raise TagLimitError(N_("请填写标签组名称") if group else N_("请填写标签名称"))
    if len(name) > MAX_NAME_CHARS:
        raise TagLimitError(N_("名称「%(name)s」有 %(n)s 个字，企业微信最多允许 %(max)s 个"),
                            name=name, n=len(name), max=MAX_NAME_CHARS)
    return name


def split_names(text: str) -> list[str]:
    """Tag names typed one per line (or separated by commas, full-width or not)."""
    parts = (p.strip() for p in (text or "").replace("，", "\n").replace(",", "\n").splitlines())
    return [p for p in parts if p]


def new_tag_names(raw: list[str], taken: set[str], group_name: str, corp_total: int) -> list[str]:
    """Names for new tags in one group: valid, distinct, not yet in the group, within the corp's 3000."""
    names = [clean_name(n) for n in raw]
    if not names:
        raise TagLimitError(N_("请至少填写一个标签（企业微信不允许空的标签组）"))
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise TagLimitError(N_("标签「%(name)s」填写了两次"), name=name)
        seen.add(name)
        if name in taken:
            raise TagLimitError(N_("标签组「%(group)s」中已有标签「%(name)s」"), group=group_name, name=name)
    if corp_total + len(names) > MAX_CORP_TAGS:
        raise TagLimitError(N_("企业微信最多允许 %(max)s 个企业标签：已有 %(have)s 个，还能添加 %(left)s 个"),
                            max=MAX_CORP_TAGS, have=corp_total, left=max(MAX_CORP_TAGS - corp_total, 0))
    return names


def renumbered(current: list[int], index: int, step: int) -> list[int] | None:
    """New `order` values after moving item `index` by `step` (-1 up, +1 down) in a list shown in display order
    (larger first); None when it cannot move. When all values differ the two neighbours swap theirs; otherwise
    (ties sort by age, which we cannot steer) the whole list gets distinct values n..1."""
    other = index + step
    if not 0 <= other < len(current):
        return None
    orders = list(current)
    if len(set(orders)) == len(orders):
        orders[index], orders[other] = orders[other], orders[index]
        return orders
    positions = list(range(len(orders)))
    positions[index], positions[other] = positions[other], positions[index]
    result = [0] * len(orders)
    for rank, item in enumerate(positions):
        result[item] = len(orders) - rank
    return result
