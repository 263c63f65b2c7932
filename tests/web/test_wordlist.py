"""The sensitive-word library as operators use it: import from Excel, the check of pushes and welcome messages,
categories on and off, the editors' live check, and imports that change nothing when the file is wrong."""
import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.campaigns.models import Campaign
from app.core.audit import AuditEntry
from app.extensions import db
from app.welcome.models import WelcomeTemplate
from app.wordlist.models import SensitiveWord, WordCategory
from tests.conftest import csrf_token

CATEGORIES = ("广告法极限词", "医疗", "金融", "政治")
PUSH = {"name": "周末上新", "category": "content", "chat_type": "single", "audience": "rule",
        "audience_rule": '{"op": "and", "rules": []}', "schedule_kind": "now", "holdout_percent": "0",
        "attribution_days": "3", "split_a": "50"}


def xlsx(rows, header=("词", "分类")) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def five_thousand() -> list[tuple[str, str]]:
    return [(f"禁词{i:04d}", CATEGORIES[i % len(CATEGORIES)]) for i in range(4999)] + [("包治百病", "医疗")]


def upload(client, data: bytes, filename: str = "词库.xlsx"):
    return client.post("/wordlist/import", data={"csrf_token": csrf_token(client, "/wordlist/"),
                                                 "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def word_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SensitiveWord))


def post(client, url, data, page="/wordlist/"):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)})


def test_a_5000_word_excel_library_imports_with_its_categories(client, signed_in_as):
    signed_in_as("admin")
    response = upload(client, xlsx(five_thousand()))
    assert response.status_code == 302
    assert word_count() == 5000
    html = client.get("/wordlist/").get_data(as_text=True)
    assert "已导入 5000 个敏感词" in html
    for name in CATEGORIES:
        assert f'data-category="{name}"' in html
    assert 'data-category="医疗"' in html and "1,250" in html  # 1,249 + 包治百病
    found = client.get("/wordlist/?q=禁词0042").get_data(as_text=True)
    assert 'data-word="禁词0042"' in found and 'data-word="禁词0043"' not in found
    again = upload(client, xlsx(five_thousand()[:10] + [("新词", "")]))
    assert again.status_code == 302 and word_count() == 5001
    assert "已导入 1 个敏感词；10 个已在词库里" in client.get("/wordlist/").get_data(as_text=True)
    assert db.session.scalar(select(WordCategory.name).join(SensitiveWord).where(SensitiveWord.word == "新词")) == "自定义"
    exported = load_workbook(io.BytesIO(client.get("/wordlist/export").data), read_only=True)
    rows = list(exported.worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("词", "分类") and len(rows) == 5002 and ("包治百病", "医疗") in rows
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "wordlist.imported")).all()
    assert [a.details["added"] for a in audit] == [5000, 1]


def test_a_malformed_import_changes_nothing_and_names_every_bad_line(client, signed_in_as, word_library):
    signed_in_as("admin")
    before = word_count()
    rows = [("好词一", "医疗"), ("", "医疗"), ("好词二", "金融"), ("好词一", "金融"), ("x" * 33, "医疗")]
    response = upload(client, xlsx(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "没有导入：文件有 3 处问题" in html
    assert "第 3 行：敏感词不能为空" in html and "第 5 行：「好词一」与第 2 行重复" in html
    assert "第 6 行：敏感词最长 32 个字符" in html
    assert word_count() == before
    assert "缺少「词」列" in upload(client, xlsx([("好词",)], header=("名称",))).get_data(as_text=True)
    assert "内容不是 Excel 文件" in upload(client, b"not a workbook").get_data(as_text=True)  # the order reader's words
    assert "只支持 Excel" in upload(client, b"x", "words.txt").get_data(as_text=True)
    assert word_count() == before


def test_a_gbk_csv_from_excel_imports(client, signed_in_as):
    signed_in_as("admin")
    assert upload(client, "词,分类\r\n特效药,医疗\r\n零风险,金融\r\n".encode("gbk"), "词库.csv").status_code == 302
    assert dict(db.session.execute(select(SensitiveWord.word, WordCategory.name).join(WordCategory)).all()) == \
        {"特效药": "医疗", "零风险": "金融"}


def test_a_push_with_a_library_word_is_refused_naming_the_word(client, signed_in_as):
    signed_in_as("admin")
    upload(client, xlsx(five_thousand()))
    client.get("/auth/logout")
    signed_in_as("operator")
    response = client.post("/campaigns/new", data={**PUSH, "text": "本店禁词0777，欢迎选购",
                                                   "csrf_token": csrf_token(client, "/campaigns/")})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "含敏感词：禁词0777（医疗）" in html
    link = client.post("/campaigns/new", data={**PUSH, "text": "周末上新", "att-0-msgtype": "link",
                                               "att-0-link-title": "包治百病的好茶", "att-0-link-url": "https://shop.example/",
                                               "csrf_token": csrf_token(client, "/campaigns/")})
    assert link.status_code == 422 and "包治百病（医疗）" in link.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_welcome_with_a_library_word_is_refused_and_a_disabled_category_does_not_block(client, signed_in_as,
                                                                                          word_library):
    signed_in_as("admin")
    form = {"name": "默认", "scope": "default", "text": "您好！本店茶叶全网第一", "enabled": "1", "action": "save",
            "csrf_token": csrf_token(client, "/welcome/templates/new")}
    refused = client.post("/welcome/templates/new", data=form).get_data(as_text=True)
    assert "含敏感词：全网第一（广告法极限词）" in refused
    assert db.session.scalar(select(WelcomeTemplate)) is None
    category = db.session.scalar(select(WordCategory).where(WordCategory.name == "广告法极限词"))
    post(client, f"/wordlist/categories/{category.id}", {"enabled": "0"})
    assert "已停用" in client.get("/wordlist/").get_data(as_text=True)
    assert client.post("/welcome/templates/new", data=form).status_code == 302
    assert db.session.scalar(select(WelcomeTemplate.text)) == "您好！本店茶叶全网第一"
    still = client.post("/welcome/templates/new", data={**form, "name": "二", "scope": "channel", "text": "稳赚的茶"})
    assert "含敏感词：稳赚（金融）" in still.get_data(as_text=True)
    assert [a.action for a in db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("wordlist.%")))
            ][-1] == "wordlist.category_disabled"


def test_the_check_endpoint_gives_positions_for_highlighting(client, signed_in_as, word_library):
    signed_in_as("operator")
    token = csrf_token(client, "/campaigns/")
    answer = client.post("/wordlist/check", json={"text": "😀稳赚！全网第一，VIP"}, headers={"X-CSRFToken": token})
    assert answer.status_code == 200
    assert answer.json["hits"] == [{"word": "稳赚", "category": "金融", "start": 1, "end": 3},
                                   {"word": "全网第一", "category": "广告法极限词", "start": 4, "end": 8}]
    assert "全网第一（广告法极限词）、稳赚（金融）" in answer.json["message"]
    assert client.post("/wordlist/check", json={"text": "普通内容"}, headers={"X-CSRFToken": token}).json["hits"] == []
    assert client.post("/wordlist/check", json={"words": 1}, headers={"X-CSRFToken": token}).status_code == 400
    editor = client.get("/campaigns/new").get_data(as_text=True)
    assert 'data-word-check="/wordlist/check"' in editor and "wordcheck.js" in editor


def test_words_are_added_searched_deleted_by_admins_only(client, signed_in_as):
    signed_in_as("operator")
    assert client.get("/wordlist/").status_code == 403
    client.get("/auth/logout")
    signed_in_as("admin")
    post(client, "/wordlist/words", {"word": "  Top1 ", "category": "广告法极限词"})
    assert "已在词库里" in (post(client, "/wordlist/words", {"word": "TOP1", "category": ""}) and
                           client.get("/wordlist/").get_data(as_text=True))
    word = db.session.scalar(select(SensitiveWord))
    assert (word.word, word_count()) == ("Top1", 1)
    post(client, f"/wordlist/words/{word.id}/delete", {})
    assert word_count() == 0 and "已删除敏感词「Top1」" in client.get("/wordlist/").get_data(as_text=True)
