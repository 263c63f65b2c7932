"""Order files (CSV, Excel): the one reader, row by row within caps on rows and unpacked size; columns mapped to fields."""
from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, BinaryIO, Iterator

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
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20
MAX_CELL = 100_000  # characters in one cell: far beyond any column, short of the csv module's own limit


@dataclass(frozen=True)
class Limits:
    """What one file may hold: data rows, and for .xlsx the unpacked size and the compression ratio of each part."""

    rows: int = 1_000_000
    unpacked_bytes: int = 1 << 30  # the sheet is streamed: this bounds the time to read it
    ratio: int = 100  # an export packs 7 to 20 times; a zip bomb hundreds or thousands
    shared_strings_bytes: int = 256 << 20  # the text table is held in memory whole (1M orders: about 30 MB)


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


def file_error(message: str, line: int = 1) -> OrderFileError:
    return OrderFileError([RowError(line, message)])


def missing_columns(fields: list[str]) -> OrderFileError:
    """The error of a file without a column for these fields."""
    return file_error("缺少列：" + "、".join(f"{FIELD_LABELS[f]}（{f}）" for f in fields))


def check_container(path: Path, limits: Limits) -> None:
    """Refuse, before anything is unpacked, an .xlsx that is no Excel file or would unpack beyond the limits (the
    declared sizes are what Python's zip reader holds each part to: a part that unpacks to more fails its CRC)."""
    if path.suffix.lower() != ".xlsx":
        return
    if not zipfile.is_zipfile(path):
        raise file_error("文件扩展名是 .xlsx，但内容不是 Excel 文件（可能是改了扩展名的 CSV）："
                         "请用 Excel 另存为 .xlsx，或把扩展名改为 .csv 后重新上传")
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise file_error("Excel 文件已损坏，无法打开：请重新导出后上传") from None
    unpacked = sum(p.file_size for p in parts)
    if unpacked > limits.unpacked_bytes:
        raise file_error(f"Excel 文件解压后约 {unpacked // 2**20:,} MB，超过上限 {limits.unpacked_bytes // 2**20:,} MB："
                         "请拆分后分批导入")
    strings = sum(p.file_size for p in parts if p.filename.lower().endswith("sharedstrings.xml"))
    if strings > limits.shared_strings_bytes:
        raise file_error(f"Excel 文件的文字表解压后约 {strings // 2**20:,} MB，超过上限 "
                         f"{limits.shared_strings_bytes // 2**20:,} MB：请拆分后分批导入")
    if any(p.file_size > limits.ratio * max(p.compress_size, 1) and p.file_size > _CHUNK for p in parts):
        raise file_error(f"Excel 文件的压缩比异常（超过 {limits.ratio} 倍），可能是恶意构造的压缩包，已拒绝")


def read_rows(path: Path, limits: Limits = Limits()) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(header, rows): a .csv (UTF-8 with or without BOM, or GBK / GB18030 as Excel saves it in China) or .xlsx read
    row by row, each row as (line number, cells as text), blank rows left out. Problems of the file as a whole
    (encoding, too many rows, a cell too long, a damaged file) raise OrderFileError while the rows are read."""
    check_container(path, limits)
    rows = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
    header = [h.strip() for h in next(rows, (1, []))[1]]
    if not any(header):
        raise file_error("文件的第一行是空的：第一行应是表头（订单号、客户、金额、支付时间等列名），请检查后重新上传")
    return header, _capped(rows, limits)


def _capped(rows: Iterator[tuple[int, list[str]]], limits: Limits) -> Iterator[tuple[int, list[str]]]:
    count = 0
    for line, cells in rows:
        if not any(cells):
            continue
        count += 1
        if count > limits.rows:
            raise file_error(f"文件超过 {limits.rows:,} 行数据的上限：请拆分后分批导入", line)
        if any(len(cell) > MAX_CELL for cell in cells):
            raise file_error(f"有单元格超过 {MAX_CELL:,} 个字符，文件可能已损坏", line)
        yield line, cells


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    encoding = csv_encoding(path)
    csv.field_size_limit(MAX_CELL + 1)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        line = 1
        try:
            for cells in reader:
                yield line, cells
                line = reader.line_num + 1
        except csv.Error:
            raise file_error("CSV 格式有误（单元格过长或引号不成对），文件可能已损坏", line) from None


def _line_chunks(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(number of the first line, bytes) in pieces of whole lines (no UTF-8 or GB18030 character spans a line feed)."""
    line = 1
    while chunk := fh.read(_CHUNK):
        chunk += fh.readline()
        yield line, chunk
        line += chunk.count(b"\n")


def csv_encoding(path: Path) -> str:
    """UTF-8 (a BOM says so for certain), else GB18030 (which GBK is part of), read piece by piece.

    A file that is mostly valid UTF-8 with a broken sequence somewhere is a damaged UTF-8 file, not a GBK one
    (Chinese GBK text almost never forms valid UTF-8): OrderFileError names the line of the first bad byte."""
    with path.open("rb") as fh:
        bom = fh.read(3) == _BOM
        fh.seek(3 if bom else 0)
        good = bad = 0
        first_bad = None
        for line, chunk in _line_chunks(fh):
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                first_bad = first_bad or line + chunk.count(b"\n", 0, exc.start)
                if bom:
                    break
            text = chunk.decode("utf-8", errors="replace")
            errors = text.count("\ufffd")
            good += len(text) - len(chunk.translate(None, bytes(range(128, 256)))) - errors
            bad += errors
        if first_bad is None:
            return "utf-8-sig" if bom else "utf-8"
        if bom or good > bad:
            raise file_error("有不是 UTF-8 编码的字符，文件可能已损坏：请重新导出为「CSV UTF-8」", first_bad)
        fh.seek(0)
        for line, chunk in _line_chunks(fh):
            try:
                chunk.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise file_error("文件编码无法识别：请另存为「CSV UTF-8」或 .xlsx 后再上传",
                                 line + chunk.count(b"\n", 0, exc.start)) from None
    return "gb18030"


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        raise file_error("Excel 文件已损坏或不是 .xlsx 格式，无法打开：请重新导出后上传") from None
    line = 1
    try:
        for line, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield line, [_cell_text(v) for v in values]
    except Exception:  # a damaged part: zlib, zip, XML and openpyxl's own errors alike
        raise file_error("Excel 文件已损坏，无法读完：请重新导出后上传", line + 1) from None
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    """A cell as the text the per-row rules read: an Excel date or time in ISO form, a whole number without .0."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


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


def mapped(header: list[str], rows: Iterator[tuple[int, list[str]]], mapping: dict[str, str],
           required: tuple[str, ...] = IMPORT_COLUMNS) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row as (line, cells by field) under `mapping`; OrderFileError at once if a required field has no column."""
    missing = [f for f in required if mapping.get(f) not in header]
    if missing:
        raise missing_columns(missing)
    index = {field: header.index(column) for field, column in mapping.items() if column in header}
    return ((line, {field: cells[i] if i < len(cells) else "" for field, i in index.items()}) for line, cells in rows)


def read_orders(path: Path, zone: tzinfo, required: tuple[str, ...] = SCORE_COLUMNS,
                limits: Limits = Limits()) -> list[OrderRecord]:
    """Every row of the file validated, its columns named as the fields (what `scrm rfm-score` scores when its
    fast reader does not cut a file); any problem raises OrderFileError naming every bad line."""
    header, rows = read_rows(path, limits)
    result, errors = normalize_all(mapped(header, rows, {f: f for f in required}, required), zone, "行")
    if errors:
        raise OrderFileError([RowError(line, message) for line, message in errors.items()])
    return result


def paid_orders(orders: list[OrderRecord], zone: tzinfo) -> list[PaidOrder]:
    """The paid ones, keyed by external_userid, each on its corp-local date."""
    return [PaidOrder(r.order_id, r.external_userid, r.amount, r.paid_at.astimezone(zone).date())
            for r in orders if r.status == "paid" and r.external_userid]
