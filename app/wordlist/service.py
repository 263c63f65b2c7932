"""The word library's use cases: categories on/off, add, delete, search, and the cached check of outgoing texts."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import func, select

from app.core import audit
from app.core.db import transaction, utcnow
from app.core.errors import UserError
from app.core.permissions import N_
from app.extensions import db
from app.wordlist.matcher import Hit, Matcher
from app.wordlist.models import SensitiveWord, WordCategory

CUSTOM = "自定义"
MAX_WORD = 32
MAX_CATEGORY = 32
PAGE_SIZE = 50
REFUSED = N_("含敏感词：%(words)s，请修改后再保存")
# Attachment fields a customer reads (captions and titles), checked like the text.
READ_FIELDS = {"link": ("title", "desc"), "miniprogram": ("title",)}
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class WordlistError(UserError):
    """A change to the library was refused; the message says why."""


def word_problem(word: str) -> str | None:
    """Why `word` (stripped) cannot be a library word, as a msgid, or None."""
    if not word:
        return N_("敏感词不能为空")
    if len(word) > MAX_WORD:
        return N_("敏感词最长 32 个字符")
    if _INVISIBLE.search(word):
        return N_("敏感词不能含换行或看不见的控制字符")
    return None


def category_problem(name: str) -> str | None:
    if len(name) > MAX_CATEGORY or _INVISIBLE.search(name):
        return N_("分类名最长 32 个字符，不能含控制字符")
    return None


def get_category(name: str) -> WordCategory:
    """The category of this name, created (enabled) in the caller's transaction when new."""
    found = db.session.scalar(select(WordCategory).where(WordCategory.name == name))
    if found is None:
        found = WordCategory(name=name, enabled=True, revision=1, updated_at=utcnow())
        db.session.add(found)
        db.session.flush()
    return found


def touch(category: WordCategory) -> None:
    """Mark the category changed: every process rebuilds its matcher at its next check."""
    category.revision += 1
    category.updated_at = utcnow()


@dataclass(frozen=True)
class CategoryRow:
    category: WordCategory
    words: int


def categories() -> list[CategoryRow]:
    counts = dict(db.session.execute(select(SensitiveWord.category_id, func.count())
                                     .group_by(SensitiveWord.category_id)).all())
    return [CategoryRow(c, counts.get(c.id, 0))
            for c in db.session.scalars(select(WordCategory).order_by(WordCategory.id))]


def search(query: str = "", category_id: int | None = None, page: int = 1):
    """Words newest first, by part of the word and category, a page at a time."""
    stmt = select(SensitiveWord).order_by(SensitiveWord.added_at.desc(), SensitiveWord.id.desc())
    if category_id:
        stmt = stmt.where(SensitiveWord.category_id == category_id)
    if query.strip():
        stmt = stmt.where(SensitiveWord.lowered.contains(query.strip().lower(), autoescape=True))
    return db.paginate(stmt, page=page, per_page=PAGE_SIZE, error_out=False)


def add(word: str, category_name: str, actor: str) -> SensitiveWord:
    word, category_name = (word or "").strip(), (category_name or "").strip() or CUSTOM
    if problem := word_problem(word) or category_problem(category_name):
        raise WordlistError(problem)
    if db.session.scalar(select(SensitiveWord.id).where(SensitiveWord.lowered == word.lower())):
        raise WordlistError(N_("「%(word)s」已在词库里"), word=word)
    with transaction():
        category = get_category(category_name)
        row = SensitiveWord(word=word, lowered=word.lower(), category_id=category.id, added_by=actor,
                            added_at=utcnow())
        db.session.add(row)
        touch(category)
        audit.record("wordlist.word_added", target=word, details={"category": category.name})
    return row


def delete(word_id: int) -> str:
    row = db.session.get(SensitiveWord, word_id)
    if row is None:
        raise WordlistError(N_("这个敏感词已不在词库里"))
    word = row.word
    with transaction():
        touch(db.session.get(WordCategory, row.category_id))
        db.session.delete(row)
        audit.record("wordlist.word_deleted", target=word)
    return word


def set_enabled(category_id: int, enabled: bool) -> WordCategory:
    category = db.session.get(WordCategory, category_id)
    if category is None:
        raise WordlistError(N_("没有这个分类"))
    with transaction():
        category.enabled = enabled
        touch(category)
        audit.record("wordlist.category_enabled" if enabled else "wordlist.category_disabled", target=category.name)
    return category


def export_rows() -> Iterable[tuple[str, str]]:
    return db.session.execute(select(SensitiveWord.word, WordCategory.name).join(WordCategory)
                              .order_by(WordCategory.id, SensitiveWord.lowered)).all()


# --- the check -------------------------------------------------------------------------------------------------

_cache: tuple[tuple, Matcher] | None = None


def _stamp() -> tuple:
    """What the matcher depends on: each category's revision, state and time of change (the time too, so that a
    database restored or emptied and refilled never passes for the one the cache was built from)."""
    return tuple(db.session.execute(select(WordCategory.id, WordCategory.revision, WordCategory.enabled,
                                           WordCategory.updated_at).order_by(WordCategory.id)).all())


def matcher() -> Matcher:
    """The matcher of the enabled categories' words, rebuilt only when a category's revision has moved."""
    global _cache
    stamp = _stamp()
    if _cache is None or _cache[0] != stamp:
        rows = db.session.execute(select(SensitiveWord.word, WordCategory.name).join(WordCategory)
                                  .where(WordCategory.enabled.is_(True))).all()
        _cache = (stamp, Matcher(rows))
    return _cache[1]


def find(text: str) -> list[Hit]:
    """The library words in `text` (enabled categories only), by position."""
    return matcher().find(text)


def content_hits(text: str, attachments: Iterable[Mapping[str, Any]] = ()) -> dict[str, list[Hit]]:
    """Hits per field of a message as the customer reads it: `text` and the attachments' titles and captions
    (`attachments[i].title`); fields without a hit are left out."""
    found = {"text": find(text)}
    for index, attachment in enumerate(attachments):
        kind = attachment.get("msgtype") if isinstance(attachment, Mapping) else None
        values = attachment.get(kind) if isinstance(attachment.get(kind), Mapping) else {}
        for name in READ_FIELDS.get(kind, ()):
            found[f"attachments[{index}].{name}"] = find(str(values.get(name) or ""))
    return {where: hits for where, hits in found.items() if hits}


def named(hits: Iterable[Hit]) -> str:
    """The words hit, each once, with its category: 「全网第一（广告法极限词）、稳赚（金融）」."""
    return "、".join(sorted({f"{h.word}（{h.category}）" for h in hits}))
