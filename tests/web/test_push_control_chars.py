"""Push text with control characters is refused with a field error naming the character, in the form and the API."""
import pytest
from sqlalchemy import func, select

from app.campaigns.models import Campaign
from app.core import content, tokens
from app.extensions import db
from tests.web.test_campaign_pages import FORM, company, no_quiet_hours, post  # noqa: F401 (fixtures)

SPEC = {"name": "新品上市", "category": "promotion", "audience_rule": {"op": "and", "rules": []}}


def _campaigns() -> int:
    return db.session.scalar(select(func.count()).select_from(Campaign))


# NUL never reaches the editor: the central input check refuses it first (tests/web/test_unchecked_input.py).
@pytest.mark.parametrize("char", ["\x01", "\x07", "\x1b", "\x7f", "\x85"])
def test_the_editor_refuses_a_control_character_and_says_where(client, signed_in_as, company, char):
    signed_in_as("operator")
    response = post(client, "/campaigns/new", {**FORM, "text": f"本周新品{char}上市"})
    assert response.status_code == 422
    assert f"第 5 个字符是看不见的控制字符（U+{ord(char):04X}）" in response.get_data(as_text=True)
    assert _campaigns() == 0


def test_the_api_refuses_control_characters_in_text_and_attachments(client, app, company):
    headers = {"Authorization": f"Bearer {tokens.issue('shop', 'operator', created_by='test')[1]}"}
    response = client.post("/api/v1/campaigns", headers=headers, json={**SPEC, "content": {
        "text": "新品\u001b[31m上市", "attachments": [{"msgtype": "link", "link": {"title": "新\u0001品",
                                                                                  "url": "https://shop.example.com"}}]}})
    assert response.status_code == 422
    details = " ".join(response.get_json()["error"]["details"]["content"])
    assert "U+001B" in details and "「标题」含看不见的控制字符（U+0001）" in details
    assert _campaigns() == 0


def test_line_breaks_tabs_and_emoji_sequences_stay_allowed():
    parsed = content.parse("第一行\r\n第二行\r第三行\t制表\n👨‍👩‍👧 家庭装")
    assert parsed.text == "第一行\n第二行\n第三行\t制表\n👨‍👩‍👧 家庭装"
