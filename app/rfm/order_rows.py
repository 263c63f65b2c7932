"""One order record, validated the same way whether it comes from CSV, Excel or the API."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Iterator, Mapping

from app.core.permissions import N_

FIELDS = ("order_id", "external_userid", "unionid", "mobile", "amount", "paid_at", "status", "category")
# What an operator calls each field (the import page's column labels, the error messages).
FIELD_LABELS = {"order_id": N_("订单号"), "external_userid": N_("客户 ID"), "unionid": N_("UnionID"),
                "mobile": N_("手机号"), "amount": N_("金额（元）"), "paid_at": N_("支付时间"), "status": N_("订单状态"),
                "category": N_("品类")}
STATUSES = ("paid", "refunded", "cancelled")
# The words shops and spreadsheets use. An unpaid order (待付款) is none of these and is refused: it is no purchase.
STATUS_ALIASES = {
    **dict.fromkeys(("已支付", "已付款", "支付成功", "付款成功", "交易成功", "已完成", "待发货", "已发货", "待收货",
                     "已收货"), "paid"),
    **dict.fromkeys(("已退款", "退款成功", "全额退款"), "refunded"),
    **dict.fromkeys(("已取消", "交易关闭", "已关闭", "交易取消"), "cancelled"),
}
MAX_ID = 64
TIME_EXAMPLES = "2026-12-04 10:00、2026/12/4 10:00 或 2026年12月4日 10:00"
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_LOCAL_TIME = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?"
                         r"(?:\s*T?\s*(\d{1,2})\s*[:：]\s*(\d{1,2})(?:\s*[:：]\s*(\d{1,2}))?)?")


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    external_userid: str | None
    unionid: str | None
    mobile: str | None
    amount: Decimal          # yuan, two decimals
    paid_at: datetime        # timezone-aware
    status: str
    category: str | None
    items: Any

    @property
    def amount_fen(self) -> int:
        return int(self.amount * 100)


def parse_amount(value: Any) -> Decimal:
    """Yuan with at most two decimals, not negative; a leading ¥ / ￥, a trailing 元 and thousands commas
    (1,280.00) are allowed."""
    text = str(value).strip()
    text = text.lstrip("¥￥").removesuffix("元").strip()
    if "," in text and _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"金额无法识别：「{value}」") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"金额不能为负数：「{value}」" if amount.is_finite() else f"金额无法识别：「{value}」")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"金额最多两位小数：「{value}」")
    return amount.quantize(Decimal("0.01"))


def parse_paid_at(value: Any, zone: tzinfo) -> datetime:
    """A time as shops and spreadsheets write it; without an offset it is corp-local, a bare date means its start.

    ISO 8601 first (2026-03-01T14:30:00+08:00, 2026-03-01 14:30), then 2026/3/1 14:30, 2026-3-1 and
    2026年3月1日 (each with an optional time)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):  # an Excel cell holding a date
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = _local_time(text)
            if parsed is None:
                raise ValueError(f"支付时间无法识别：「{value}」（可写 {TIME_EXAMPLES}）") from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def _local_time(text: str) -> datetime | None:
    """2026/12/4 10:00, 2026-12-4, 2026年12月4日 10:00:30 and the like, or None."""
    match = _LOCAL_TIME.fullmatch(text)
    if match is None:
        return None
    try:
        return datetime(*(int(part) for part in match.groups() if part is not None))
    except ValueError:  # 2026/2/30, 25:00
        return None


def duplicate_message(order_id: str, first: int, unit: str) -> str:
    """The error of an order_id given again (the file reader and the vectorised scorer say it alike)."""
    return f"订单号 {order_id} 与第 {first} {unit}重复"


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def normalize(record: Mapping[str, Any], zone: tzinfo) -> OrderRecord:
    """The validated order, or ValueError naming every problem of this record (joined by ；)."""
    problems = [f"{FIELD_LABELS[key]}含有 NUL 字符" for key in FIELDS
                if isinstance(record.get(key), str) and "\x00" in record[key]]
    order_id = _text(record, "order_id")
    if not order_id:
        problems.append("订单号为空")
    elif len(order_id) > MAX_ID:
        problems.append(f"订单号超过 {MAX_ID} 个字符")
    who = {key: _text(record, key) for key in ("external_userid", "unionid", "mobile")}
    if not any(who.values()):
        problems.append("客户 ID、UnionID、手机号至少填一个，用来匹配客户")
    status = (_text(record, "status") or "").lower()
    status = STATUS_ALIASES.get(status, status)
    if status not in STATUSES:
        problems.append(f"订单状态无法识别：「{_text(record, 'status') or ''}」（可写 已支付、已退款、已取消，"
                        "或 paid、refunded、cancelled）")
    amount = paid_at = None
    try:
        amount = parse_amount(record.get("amount", ""))
    except ValueError as exc:
        problems.append(str(exc))
    try:
        paid_at = parse_paid_at(record.get("paid_at", ""), zone)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise ValueError("；".join(problems))
    return OrderRecord(order_id, who["external_userid"], who["unionid"], who["mobile"], amount, paid_at,
                       status, _text(record, "category"), record.get("items"))


Check = Callable[[Mapping[str, Any], tzinfo], OrderRecord]


def validated(items: Iterable[tuple[int, Mapping[str, Any]]], zone: tzinfo, unit: str,
              check: Check = normalize) -> Iterator[tuple[int, OrderRecord | None, str | None]]:
    """(position, record, None) for each valid record, (position, None, problem) for the others, an order_id given
    again included; one record at a time. `unit` names a position in messages: 行 for a file's lines, 条 for the
    items of an API batch. `check` is `normalize` or a stricter rule built on it."""
    first: dict[str, int] = {}
    for position, item in items:
        try:
            record = check(item, zone)
        except ValueError as exc:
            yield position, None, str(exc)
            continue
        if record.order_id in first:
            yield position, None, duplicate_message(record.order_id, first[record.order_id], unit)
            continue
        first[record.order_id] = position
        yield position, record, None


def normalize_all(items: Iterable[tuple[int, Mapping[str, Any]]], zone: tzinfo, unit: str,
                  check: Check = normalize) -> tuple[list[OrderRecord], dict[int, str]]:
    """Every (position, record) validated (see `validated`): the valid records, and the errors by position."""
    records: list[OrderRecord] = []
    errors: dict[int, str] = {}
    for position, record, problem in validated(items, zone, unit, check):
        if problem is None:
            records.append(record)
        else:
            errors[position] = problem
    return records, errors
