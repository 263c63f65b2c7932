"""Tag changes made in WeCom's own client reach the tags page by callback (and by the nightly reconcile)."""
import re
from collections import Counter

from sqlalchemy import select

from app.contacts.models import FollowRelation

from app.extensions import db
from app.tags.models import CorpTag
from app.wecom import connection
from tests.integration.test_sync_events import deliver
from tests.integration.test_sync_full import full_sync


def page(client) -> str:
    return client.get("/tags/").get_data(as_text=True)


def group_tags(html: str, group_name: str) -> list[str]:
    section = html.split(f'data-group="{group_name}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'data-tag="([^"]+)"', section)


def test_changes_in_the_wecom_client_show_on_the_page(wired, client, signed_in_as):
    full_sync()
    signed_in_as("operator")
    group = connection.gateway().get_corp_tag_list()[0]
    deliver(wired, "tag", change_type="create", group_id=group["group_id"], tag=[{"name": "直播间下单"}])
    assert "直播间下单" in group_tags(page(client), group["group_name"])

    tag_id = db.session.scalar(select(CorpTag.tag_id).where(CorpTag.name == "直播间下单"))
    deliver(wired, "tag", change_type="update", id=tag_id, name="直播下单")
    deliver(wired, "tag", change_type="update", id=group["group_id"], name="来源（企业微信改）")
    html = page(client)
    assert group_tags(html, "来源（企业微信改）")[-1] == "直播下单"

    names = group_tags(html, "来源（企业微信改）")
    deliver(wired, "tag", change_type="shuffle", group_id=group["group_id"])
    assert group_tags(page(client), "来源（企业微信改）") == list(reversed(names))

    deliver(wired, "tag", change_type="create", group_name="企微新建组", tag=[{"name": "甲"}, {"name": "乙"}])
    assert group_tags(page(client), "企微新建组") == ["甲", "乙"]

    deliver(wired, "tag", change_type="delete", id=tag_id)
    assert "直播下单" not in page(client)


def test_a_change_without_callback_arrives_with_the_reconcile(wired, client, signed_in_as, wecom):
    full_sync()
    signed_in_as("operator")
    wecom.post("externalcontact/add_corp_tag", {"group_name": "漏掉回调的组", "tag": [{"name": "补上"}]})
    assert "漏掉回调的组" not in page(client)
    full_sync()
    assert group_tags(page(client), "漏掉回调的组") == ["补上"]


def test_a_tag_deleted_in_the_wecom_client_leaves_its_customers_at_once(wired):
    full_sync()
    carried = Counter(t for tags in db.session.scalars(select(FollowRelation.tag_ids)) for t in tags or [])
    tag_id, customers = carried.most_common(1)[0]
    assert customers > 0
    deliver(wired, "tag", change_type="delete", id=tag_id)
    db.session.expire_all()
    assert db.session.scalar(select(CorpTag.deleted_at).where(CorpTag.tag_id == tag_id)) is not None
    assert not [tags for tags in db.session.scalars(select(FollowRelation.tag_ids)) if tag_id in (tags or [])]
