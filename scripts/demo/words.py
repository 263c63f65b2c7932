"""The demo's word library: 361 common words of the advertising law (广告法极限词), medical and financial claims."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.wordlist import importing
from app.wordlist.models import SensitiveWord

DEMO_WORDS = Path(__file__).with_name("words.csv")


def seed_demo_words() -> int:
    """Import the demo list once (through the same import operators use); the number of words added."""
    if (db.session.scalar(select(func.count()).select_from(SensitiveWord)) or 0) >= 100:
        return 0
    return importing.import_file(DEMO_WORDS.name, DEMO_WORDS.read_bytes(), "demo").added
