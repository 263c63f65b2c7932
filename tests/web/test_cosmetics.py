"""What an operator sees every day: tag pickers as chips, one success message, no red zeros, English actions."""
from datetime import timedelta

from app.contacts.models import Customer, FollowRelation, Staff
from app.core.db import utcnow
from app.extensions import db
from tests.conftest import csrf_token


def test_multi_select_pickers_become_chips_with_search(client, signed_in_as):
    db.session.add_all([Staff(userid="alice", name="Alice", status=1), Customer(external_userid="wm1", name="王芳"),
                        FollowRelation(userid="alice", external_userid="wm1", added_at=utcnow())])
    db.session.commit()
    signed_in_as("admin")
    for url, select_id in (("/contacts/", "bulk-add"), ("/contacts/", "bulk-remove"),
                           ("/welcome/templates/new", "userids"),
                           ("/campaigns/new", "sender_userids")):
        html = client.get(url).get_data(as_text=True)
        assert f'id="{select_id}"' in html, url
        tag = html[html.index(f'id="{select_id}"') - 200:html.index(f'id="{select_id}"') + 200]
        assert "data-chips" in tag, url
        assert "/static/chips.js" in html and 'data-chips-search="搜索并添加…"' in html
        assert "按住 Ctrl" not in html


def test_the_tags_page_shows_its_message_once(client, signed_in_as):
    signed_in_as("admin")
    for at in ("rules", "new-group", None, "group-gone"):
        with client.session_transaction() as session:
            session["_flashes"] = [("success", "规则「高价值客户」已保存，下次执行时生效")]
        html = client.get("/tags/" + (f"?at={at}" if at else "")).get_data(as_text=True)
        assert html.count("规则「高价值客户」已保存") == 1, at


def test_zero_counts_are_not_red(client, signed_in_as):
    db.session.add_all([Staff(userid="alice", name="Alice", status=1, is_follow_user=True),
                        Staff(userid="bob", name="Bob", status=1, is_follow_user=True),
                        Customer(external_userid="wm1", name="王芳"),
                        FollowRelation(userid="bob", external_userid="wm1", added_at=utcnow() - timedelta(days=40),
                                       ended_at=utcnow() - timedelta(days=2), ended_by="customer")])
    db.session.commit()
    signed_in_as("admin")
    html = client.get("/contacts/staff").get_data(as_text=True)
    alice = html[html.index("Alice"):html.index("</tr>", html.index("Alice"))]
    bob = html[html.index("Bob"):html.index("</tr>", html.index("Bob"))]
    assert "text-danger" not in alice and "text-success" not in alice
    assert "text-danger" in bob


def test_actions_say_disable_and_states_say_disabled_in_english(client, signed_in_as, word_library):
    signed_in_as("admin")
    client.post("/auth/language/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    html = client.get("/wordlist/").get_data(as_text=True)
    assert '<button class="btn btn-outline-secondary btn-sm py-0" type="submit">Disable</button>' in html
    assert ">Disabled<" not in html
