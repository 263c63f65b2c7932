"""Order files (CSV, Excel): read as a table, columns mapped to fields, every row validated, all or nothing."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, TextIO

from app.rfm.order_rows import FIELD_LABELS, FIELDS, OrderRecord, normalize_all
from app.rfm.scoring import PaidOrder

SCORE_COLUMNS = ("order_id", "external_userid", "amount", "paid_at", "status")
IMPORT_COLUMNS = ("order_id", "amount", "paid_at", "status")  # plus one of external_userid / unionid / mobile
# Column names operators already use, recognised when a file is mapped automatically.
ALIASES = {
    "order_id": ("订单号", "订单编号", "订单id"),
    "external_userid": ("客户id", "外部联系人id", "externaluserid"),
    "unionid": ("union_id",),
    "mobile": ("手机号", "手机", "电话", "phone", "手机号码", "买家手机号", "收货人手机号", "联系手机"),
    "amount": ("金额", "实付金额", "支付金额", "订单金额", "实付款", "订单实付金额", "买家实际支付金额"),
    "paid_at": ("支付时间", "付款时间", "下单时间", "订单付款时间"),
    "status": ("状态", "订单状态", "交易状态"),
    "category": ("品类", "类目", "商品类目"),
}


@dataclass(frozen=True)
class RowError:
    line: int  # line number in the file, the header being line 1
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.message}"


class OrderFileError(ValueError):
    """The file cannot be used; `errors` names every bad line (or the missing columns)."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def missing_columns(fields: list[str]) -> OrderFileError:
    """The error of a file without a column for these fields."""
    return OrderFileError([RowError(1, "缺少列：" + "、".join(f"{FIELD_LABELS[f]}（{f}）" for f in fields))])


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, dict[str, Any]]]  # (line number, cells by column name), blank lines left out


def read_table(path: Path) -> Table:
    """A .csv (UTF-8 with or without BOM, or GBK / GB18030 as Excel saves it in China) or .xlsx file as a table."""
    if path.suffix.lower() == ".xlsx":
        return _xlsx_table(path)
    return csv_table(io.StringIO(decode_csv(path.read_bytes()), newline=""))


def decode_csv(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (a BOM says so for certain), else GB18030 (which GBK is part of).

    A file that is mostly valid UTF-8 with a broken sequence somewhere is a damaged UTF-8 file, not a GBK one
    (Chinese GBK text almost never forms valid UTF-8): OrderFileError names the line of the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _utf8(data[3:])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return _utf8(data)
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise OrderFileError([RowError(line, "文件编码无法识别：请另存为「CSV UTF-8」或 .xlsx 后再上传")]) from None


def _utf8(data: bytes) -> str:
    """UTF-8 text, or OrderFileError naming the line of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise OrderFileError([RowError(line, "有不是 UTF-8 编码的字符，文件可能已损坏：请重新导出为「CSV UTF-8」")]) \
            from None


def _mostly_utf8(data: bytes) -> bool:
    """More non-ASCII characters decode as UTF-8 than fail to."""
    text = data.decode("utf-8", errors="replace")
    errors = text.count("\ufffd")
    ascii_bytes = len(data.translate(None, bytes(range(128, 256))))
    return len(text) - ascii_bytes - errors > errors


def csv_table(stream: TextIO) -> Table:
    reader = csv.reader(stream)
    header = [h.strip() for h in next(reader, [])]
    rows = [(line, dict(zip(header, cells))) for line, cells in enumerate(reader, start=2) if any(cells)]
    return Table(header, rows)


def _xlsx_table(path: Path) -> Table:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        cells = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(cells, ())]
        rows = [(line, dict(zip(header, ("" if v is None else v for v in values))))
                for line, values in enumerate(cells, start=2) if any(v not in (None, "") for v in values)]
    finally:
        book.close()
    return Table(header, rows)


def auto_mapping(header: list[str]) -> dict[str, str]:
    """Field -> column, for the columns whose name is the field's or one of its usual Chinese names."""
    by_name = {h.strip().lower(): h for h in header}
    mapping = {}
    for field in FIELDS:
        for name in (field, *ALIASES.get(field, ())):
            if name in by_name:
                mapping[field] = by_name[name]
                break
    return mapping


def records(table: Table, zone: tzinfo, mapping: dict[str, str] | None = None,
            required: tuple[str, ...] = IMPORT_COLUMNS) -> list[OrderRecord]:
    """Every row validated under `mapping` (default: automatic); any problem raises OrderFileError with all."""
    mapping = auto_mapping(table.header) if mapping is None else mapping
    missing = [f for f in required if mapping.get(f) not in table.header]
    if missing:
        raise missing_columns(missing)
    rows = ((line, {field: row.get(column, "") for field, column in mapping.items()}) for line, row in table.rows)
    result, errors = normalize_all(rows, zone, "行")
    if errors:
        raise OrderFileError([RowError(line, message) for line, message in errors.items()])
    return result


def paid_orders(orders: list[OrderRecord], zone: tzinfo) -> list[PaidOrder]:
    """The paid ones, keyed by external_userid, each on its corp-local date."""
    return [PaidOrder(r.order_id, r.external_userid, r.amount, r.paid_at.astimezone(zone).date())
            for r in orders if r.status == "paid" and r.external_userid]

