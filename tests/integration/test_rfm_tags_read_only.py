"""RFM tags are rewritten by the nightly job: no picker offers them and no tagging path (bulk, customer page,
channel tags) accepts them; nothing reaches WeCom."""
import pytest
from sqlalchemy import select

from app.contacts.models import FollowRelation

from app.extensions import db
from app.tags.models import CorpTag, CorpTagGroup
from app.wecom import connection
from tests.conftest import csrf_token

RFM_TAG = "tag-rfm-champions"
REFUSAL = "「RFM分层 / 冠军客户」是 RFM 标签：每晚由 RFM 计算按消费数据自动改写"


@pytest.fixture
def rfm_tag(app):
    db.session.add(CorpTagGroup(group_id="grp-rfm-segment", name="RFM分层", order=1))
    db.session.add(CorpTag(tag_id=RFM_TAG, group_id="grp-rfm-segment", name="冠军客户"))
    db.session.commit()
    return RFM_TAG


def test_bulk_tagging_and_the_customer_page_neither_offer_nor_accept_rfm_tags(client, signed_in_as, synced, rfm_tag):
    rel = db.session.scalars(select(FollowRelation).where(FollowRelation.ended_at.is_(None))).first()
    signed_in_as("operator")
    listing = client.get("/contacts/").get_data(as_text=True)
    assert listing.count(f'value="{rfm_tag}"') == 1  # the filter still finds customers by it; the bulk pickers not
    assert "不能手动添加或移除" in listing
    page = f"/contacts/{rel.external_userid}"
    assert f'value="{rfm_tag}"' not in client.get(page).get_data(as_text=True)

    bulk = client.post("/contacts/tags", data={"csrf_token": csrf_token(client, "/contacts/"), "add": rfm_tag,
                                               "external_userid": rel.external_userid}, follow_redirects=True)
    assert REFUSAL in bulk.get_data(as_text=True)
    one = client.post(page + "/tags", data={"csrf_token": csrf_token(client, page), "remove": rfm_tag},
                      follow_redirects=True)
    assert REFUSAL in one.get_data(as_text=True)
    assert synced.control.get("tag_marks")["tag_marks"] == []


def test_a_channel_cannot_tag_its_customers_with_an_rfm_tag(client, signed_in_as, synced, rfm_tag):
    userid = sorted(connection.gateway().get_follow_user_list())[0]
    signed_in_as("operator")
    assert f'value="{rfm_tag}"' not in client.get("/welcome/channels/new").get_data(as_text=True)
    before = synced.control.call_count("externalcontact/add_contact_way")
    page = client.post("/welcome/channels/new", data={
        "csrf_token": csrf_token(client, "/welcome/channels/new"), "name": "直播间", "state": "live-rfm",
        "userids": userid, "tag_ids": rfm_tag}, follow_redirects=True).get_data(as_text=True)
    assert "没有保存" in page and REFUSAL in page
    assert synced.control.call_count("externalcontact/add_contact_way") == before
