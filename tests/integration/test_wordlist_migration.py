"""The upgrade moves the push settings' word list into the library; without one, the old built-in words are kept."""
import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from config import TestConfig

BEFORE = "8553385b54e2"  # the revision the word library follows


def _library_after_upgrade(url: str, stored: list[str] | None) -> tuple[dict, list]:
    app = create_app(type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    with app.app_context():
        upgrade(revision=BEFORE)
        if stored is not None:
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO campaign_policies (key, value, updated_by, updated_at) "
                                  "VALUES ('sensitive_words', :v, 'admin', CURRENT_TIMESTAMP)"), {"v": json.dumps(stored)})
        upgrade()
        with db.engine.connect() as conn:
            words = dict(conn.execute(text("SELECT w.word, c.name FROM sensitive_words w "
                                           "JOIN word_categories c ON c.id = w.category_id")).all())
            policy = conn.execute(text("SELECT key FROM campaign_policies WHERE key = 'sensitive_words'")).all()
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            restored = conn.execute(text("SELECT value FROM campaign_policies WHERE key = 'sensitive_words'")).scalar()
        db.engine.dispose()
    return words, [policy, restored]


def test_the_saved_word_list_becomes_the_custom_category(empty_database_url):
    words, (policy, restored) = _library_after_upgrade(empty_database_url, ["最便宜", "第一", "第一"])
    assert words == {"最便宜": "自定义", "第一": "自定义"}
    assert policy == []
    assert sorted(json.loads(restored) if isinstance(restored, str) else restored) == ["最便宜", "第一"]


def test_without_a_saved_list_the_old_built_in_words_still_block(empty_database_url):
    words, _ = _library_after_upgrade(empty_database_url, None)
    assert words["全网第一"] == "广告法极限词" and words["稳赚"] == "金融" and words["根治"] == "医疗"
    assert len(words) == 8
