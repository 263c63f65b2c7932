"""Import a word list from Excel (.xlsx) or CSV with columns 词 / 分类: every row checked, then all added or none."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from app.core import audit
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.rfm.order_files import Limits, OrderFileError, read_rows
from app.wordlist import service
from app.wordlist.models import SensitiveWord

WORD_COLUMNS = ("词", "敏感词", "word")
CATEGORY_COLUMNS = ("分类", "类别", "category")
MAX_ROWS = 200_000
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class RowProblem:
    line: int  # the header is line 1
    message: str  # msgid with %(name)s params
    params: dict = field(default_factory=dict)


class ImportInvalid(service.WordlistError):
    """The file was refused and nothing changed; `problems` names every bad row (or the file's fault)."""

    def __init__(self, problems: list[RowProblem]):
        self.problems = problems
        super().__init__(N_("没有导入：文件有 %(n)s 处问题"), n=len(problems))


@dataclass(frozen=True)
class ImportReport:
    added: int
    existing: int  # already in the library: left as they are
    by_category: dict[str, int]


@dataclass(frozen=True)
class _Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line, cells by column name)


def _table(filename: str, data: bytes) -> _Table:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ImportInvalid([RowProblem(0, N_("只支持 Excel（.xlsx）或 CSV 文件"))])
    if len(data) > MAX_BYTES:
        raise ImportInvalid([RowProblem(0, N_("文件超过 %(mb)s MB"), {"mb": MAX_BYTES // 1024 // 1024})])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"words{suffix}"
        path.write_bytes(data)
        try:
            header, rows = read_rows(path, Limits(rows=MAX_ROWS))  # the one reader of uploaded tables
            return _Table(header, [(line, dict(zip(header, cells))) for line, cells in rows])
        except OrderFileError as exc:
            raise ImportInvalid([RowProblem(e.line, e.message) for e in exc.errors]) from None  # already in words
        except Exception:  # openpyxl raises several kinds for a file that is not a workbook
            raise ImportInvalid([RowProblem(0, N_("文件无法读取：请确认是 Excel（.xlsx）或 CSV 文件"))]) from None


def _column(header: list[str], names: tuple[str, ...]) -> str | None:
    by_name = {h.strip().lower(): h for h in header}
    return next((by_name[n] for n in names if n in by_name), None)


def parse(filename: str, data: bytes) -> list[tuple[int, str, str]]:
    """(line, word, category) of every row; ImportInvalid with every problem when any row is bad."""
    table = _table(filename, data)
    word_col, category_col = _column(table.header, WORD_COLUMNS), _column(table.header, CATEGORY_COLUMNS)
    if word_col is None:
        raise ImportInvalid([RowProblem(1, N_("缺少「词」列：第一行要有列名「词」（可选「分类」）"))])
    if len(table.rows) > MAX_ROWS:
        raise ImportInvalid([RowProblem(0, N_("一次最多导入 %(n)s 行"), {"n": MAX_ROWS})])
    rows, problems, first_line = [], [], {}
    for line, cells in table.rows:
        word = str(cells.get(word_col) or "").strip()
        category = str(cells.get(category_col) or "").strip() if category_col else ""
        category = category or service.CUSTOM
        if problem := service.word_problem(word) or service.category_problem(category):
            problems.append(RowProblem(line, problem))
        elif word.lower() in first_line:
            problems.append(RowProblem(line, N_("「%(word)s」与第 %(first)s 行重复"),
                                       {"word": word, "first": first_line[word.lower()]}))
        else:
            first_line[word.lower()] = line
            rows.append((line, word, category))
    if problems:
        raise ImportInvalid(problems)
    if not rows:
        raise ImportInvalid([RowProblem(0, N_("文件里没有敏感词"))])
    return rows


def import_file(filename: str, data: bytes, actor: str) -> ImportReport:
    """Add the file's new words in one transaction; words already in the library are counted and left alone."""
    rows = parse(filename, data)
    known = set(db.session.scalars(select(SensitiveWord.lowered)))
    new = [(word, category) for _line, word, category in rows if word.lower() not in known]
    by_category: dict[str, int] = {}
    with transaction():
        categories = {name: service.get_category(name) for name in sorted({c for _w, c in new})}
        now = utcnow()
        db.session.add_all(SensitiveWord(word=word, lowered=word.lower(), category_id=categories[category].id,
                                         added_by=actor, added_at=now) for word, category in new)
        for word, category in new:
            by_category[category] = by_category.get(category, 0) + 1
        for category in categories.values():
            service.touch(category)
        report = ImportReport(len(new), len(rows) - len(new), by_category)
        audit.record("wordlist.imported", target=filename[:128],
                     details={"added": report.added, "existing": report.existing, "by_category": by_category})
    return report
