"""One order record, validated the same way whether it comes from CSV, Excel or the API."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

FIELDS = ("order_id", "external_userid", "unionid", "mobile", "amount", "paid_at", "status", "category")
STATUSES = ("paid", "refunded", "cancelled")
STATUS_ALIASES = {"已支付": "paid", "已付款": "paid", "已退款": "refunded", "已取消": "cancelled"}
MAX_ID = 64


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
    """Yuan with at most two decimals, not negative."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"金额 {value!r} 不是数字") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"金额 {value!r} 必须是不小于 0 的数字")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"金额 {value!r} 最多两位小数")
    return amount.quantize(Decimal("0.01"))


def parse_paid_at(value: Any, zone: tzinfo) -> datetime:
    """ISO 8601; a time without an offset is corp-local, a bare date means its start."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"支付时间 {value!r} 不是 ISO 8601 格式，例如 2026-03-01T14:30:00+08:00") from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def normalize(record: Mapping[str, Any], zone: tzinfo) -> OrderRecord:
    """The validated order, or ValueError naming every problem of this record (joined by ；)."""
    problems: list[str] = []
    order_id = _text(record, "order_id")
    if not order_id:
        problems.append("order_id 为空")
    elif len(order_id) > MAX_ID:
        problems.append(f"order_id 超过 {MAX_ID} 个字符")
    who = {key: _text(record, key) for key in ("external_userid", "unionid", "mobile")}
    if not any(who.values()):
        problems.append("external_userid、unionid、mobile 至少填一个，用来匹配客户")
    status = (_text(record, "status") or "").lower()
    status = STATUS_ALIASES.get(status, status)
    if status not in STATUSES:
        problems.append(f"状态 {record.get('status')!r} 无效，应为 paid、refunded 或 cancelled")
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


def normalize_all(items: Iterable[tuple[int, Mapping[str, Any]]], zone: tzinfo,
                  unit: str) -> tuple[list[OrderRecord], dict[int, str]]:
    """Every (position, record) validated; errors by position, an order_id given twice included.

    `unit` names a position in messages: 行 for a file's lines, 条 for the items of an API batch.
    """
    records: list[OrderRecord] = []
    errors: dict[int, str] = {}
    first: dict[str, int] = {}
    for position, item in items:
        try:
            record = normalize(item, zone)
        except ValueError as exc:
            errors[position] = str(exc)
            continue
        if record.order_id in first:
            errors[position] = f"order_id {record.order_id} 与第 {first[record.order_id]} {unit}重复"
            continue
        first[record.order_id] = position
        records.append(record)
    return records, errors
