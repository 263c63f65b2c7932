"""The tags page changes corp tags in WeCom (the emulator, over HTTP) first, then the local copy; refusals change nothing."""
import re

import pytest
from sqlalchemy import func, select

from app.contacts import sync
from app.contacts.models import FollowRelation
from app.core.audit import AuditEntry
from app.extensions import db
from app.tags import catalog
from app.tags.models import CorpTag, CorpTagGroup
from app.wecom import connection
from tests.conftest import csrf_token


@pytest.fixture
def operator(client, signed_in_as, synced):
    signed_in_as("operator")
    return client


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/tags/"), **data}, follow_redirects=True)


def wecom_groups() -> list[dict]:
    return connection.gateway().get_corp_tag_list()


def wecom_group(name: str) -> dict | None:
    return next((g for g in wecom_groups() if g["group_name"] == name), None)


def local_names(group_id: str) -> list[str]:
    db.session.expire_all()
    return [t.name for t in db.session.scalars(select(CorpTag).where(
        CorpTag.group_id == group_id, CorpTag.deleted_at.is_(None)).order_by(CorpTag.order.desc(), CorpTag.id))]


def page_tags(html: str, group_name: str) -> list[str]:
    section = html.split(f'data-group="{group_name}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'data-tag="([^"]+)"', section)


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_create_group_with_tags_reaches_wecom_and_the_page(operator, synced):
    html = post(operator, "/tags/groups", name="购买意向", tags="高意向， 观望中, 已到店").get_data(as_text=True)
    assert "已在企业微信中创建标签组「购买意向」" in html
    group = wecom_group("购买意向")
    assert [t["name"] for t in group["tag"]] == ["高意向", "观望中", "已到店"]
    assert local_names(group["group_id"]) == ["高意向", "观望中", "已到店"]
    assert page_tags(html, "购买意向") == ["高意向", "观望中", "已到店"]
    assert html.index('data-group="购买意向"') < min(html.index(f'data-group="{g["group_name"]}"')
                                                  for g in wecom_groups() if g["group_name"] != "购买意向")
    added = post(operator, f"/tags/groups/{group['group_id']}/tags", tags="已成交").get_data(as_text=True)
    assert "已在企业微信中添加标签：已成交" in added
    assert [t["name"] for t in wecom_group("购买意向")["tag"]][-1] == "已成交"
    assert page_tags(added, "购买意向")[-1] == "已成交"
    assert audit_actions()[-2:] == ["tags.group_created", "tags.tags_added"]


def test_rename_tag_and_group_in_wecom_and_locally(operator, synced):
    group = wecom_groups()[0]
    tag = group["tag"][0]
    post(operator, f"/tags/items/{tag['id']}/rename", name="重要客户")
    html = post(operator, f"/tags/items/{group['group_id']}/rename", name="客户等级（新）").get_data(as_text=True)
    assert "已改名为「客户等级（新）」" in html
    after = next(g for g in wecom_groups() if g["group_id"] == group["group_id"])
    assert after["group_name"] == "客户等级（新）" and after["tag"][0]["name"] == "重要客户"
    db.session.expire_all()
    assert db.session.scalar(select(CorpTagGroup.name).where(CorpTagGroup.group_id == group["group_id"])) == "客户等级（新）"
    assert page_tags(html, "客户等级（新）")[0] == "重要客户"
    assert audit_actions()[-2:] == ["tags.renamed", "tags.renamed"]


def test_delete_tag_asks_first_with_the_customer_count_then_deletes_everywhere(operator, synced):
    counts = catalog.customer_counts()
    tag_id, carried = max(counts.items(), key=lambda kv: kv[1])
    name = db.session.scalar(select(CorpTag.name).where(CorpTag.tag_id == tag_id))
    confirm = operator.get(f"/tags/items/{tag_id}/delete").get_data(as_text=True)
    assert f"目前有 {carried:,} 位客户带有它" in confirm
    assert any(t["id"] == tag_id for g in wecom_groups() for t in g["tag"])  # asking deleted nothing
    html = post(operator, f"/tags/items/{tag_id}/delete").get_data(as_text=True)
    assert f"已在企业微信中删除「{name}」，{carried} 位客户不再带有它" in html
    assert not any(t["id"] == tag_id for g in wecom_groups() for t in g["tag"])
    db.session.expire_all()
    assert db.session.scalar(select(CorpTag.deleted_at).where(CorpTag.tag_id == tag_id)) is not None
    assert not any(tag_id in (r.tag_ids or []) for r in db.session.scalars(select(FollowRelation)))
    assert f'data-tag="{name}"' not in html
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "tags.deleted")).one()
    assert entry.details["customers"] == carried


def test_delete_group_deletes_its_tags(operator, synced):
    group = wecom_groups()[-1]
    confirm = operator.get(f"/tags/items/{group['group_id']}/delete").get_data(as_text=True)
    assert f"{len(group['tag'])} 个标签" in confirm
    post(operator, f"/tags/items/{group['group_id']}/delete")
    assert wecom_group(group["group_name"]) is None
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CorpTag).where(
        CorpTag.group_id == group["group_id"], CorpTag.deleted_at.is_(None))) == 0
    assert db.session.scalar(select(CorpTagGroup.deleted_at).where(CorpTagGroup.group_id == group["group_id"]))


def test_reorder_moves_a_tag_in_wecom_and_on_the_page(operator, synced):
    group = wecom_groups()[0]
    names = [t["name"] for t in group["tag"]]
    post(operator, f"/tags/items/{group['tag'][0]['id']}/move", direction="down")
    expected = [names[1], names[0], *names[2:]]
    assert [t["name"] for t in wecom_group(group["group_name"])["tag"]] == expected
    assert local_names(group["group_id"]) == expected
    html = operator.get("/tags/").get_data(as_text=True)
    assert page_tags(html, group["group_name"]) == expected
    # a tie (both order 0) still moves: the group is renumbered
    added = catalog.add_tags(group["group_id"], ["甲", "乙"])
    post(operator, f"/tags/items/{db.session.scalar(select(CorpTag.tag_id).where(CorpTag.name == added[1]))}/move",
         direction="up")
    assert [t["name"] for t in wecom_group(group["group_name"])["tag"]][-2:] == ["乙", "甲"]
    assert local_names(group["group_id"])[-2:] == ["乙", "甲"]


def test_wecom_refusal_is_explained_and_changes_nothing(operator, synced, wecom):
    group = wecom_groups()[0]
    # Someone added 「黑名单」 in WeCom and the console has not heard of it yet: WeCom refuses the duplicate.
    wecom.post("externalcontact/add_corp_tag", {"group_id": group["group_id"], "tag": [{"name": "黑名单"}]})
    before = local_names(group["group_id"])
    html = post(operator, f"/tags/groups/{group['group_id']}/tags", tags="黑名单").get_data(as_text=True)
    assert "企业微信拒绝了这次修改：名称已存在" in html and "40071" in html
    assert local_names(group["group_id"]) == before
    synced.control.fault(api="externalcontact/edit_corp_tag", fail_next=1, fail_code=60020)
    html = post(operator, f"/tags/items/{group['tag'][0]['id']}/rename", name="新名字").get_data(as_text=True)
    assert "企业微信拒绝了这次修改" in html and "60020" in html
    assert local_names(group["group_id"]) == before
    assert "tags.renamed" not in audit_actions()


def test_limits_are_enforced_before_calling_wecom(operator, synced):
    group = wecom_groups()[0]
    calls = synced.control.call_count("externalcontact/add_corp_tag")
    html = post(operator, f"/tags/groups/{group['group_id']}/tags", tags="一" * 31).get_data(as_text=True)
    assert "有 31 个字，企业微信最多允许 30 个" in html
    html = post(operator, "/tags/groups", name=group["group_name"], tags="新").get_data(as_text=True)
    assert f"已有名为「{group['group_name']}」的标签组" in html
    html = post(operator, "/tags/groups", name="空组", tags=" ").get_data(as_text=True)
    assert "请至少填写一个标签" in html
    html = post(operator, f"/tags/groups/{group['group_id']}/tags", tags=group["tag"][0]["name"]).get_data(as_text=True)
    assert f"已有标签「{group['tag'][0]['name']}」" in html
    total = db.session.scalar(select(func.count()).select_from(CorpTag).where(CorpTag.deleted_at.is_(None)))
    db.session.add_all(CorpTag(tag_id=f"etfill{i}", group_id=group["group_id"], name=f"填充{i}")
                       for i in range(2999 - total))
    db.session.commit()
    html = post(operator, f"/tags/groups/{group['group_id']}/tags", tags="甲, 乙").get_data(as_text=True)
    assert "企业微信最多允许 3000 个企业标签：已有 2999 个，还能添加 1 个" in html
    assert synced.control.call_count("externalcontact/add_corp_tag") == calls


def test_rfm_groups_are_read_only(operator, synced, wecom):
    wecom.post("externalcontact/add_corp_tag", {"group_name": "RFM分层", "tag": [{"name": "冠军客户"}]})
    sync.execute(sync.begin("test").id)
    group = wecom_group("RFM分层")
    html = operator.get("/tags/").get_data(as_text=True)
    section = html.split('data-group="RFM分层"', 1)[1].split("</section>", 1)[0]
    assert "由 RFM 重算任务维护，只读" in section and "/rename" not in section and "/delete" not in section
    html = post(operator, f"/tags/items/{group['tag'][0]['id']}/rename", name="冠军").get_data(as_text=True)
    assert "由 RFM 重算任务维护，不能在这里修改" in html
    assert wecom_group("RFM分层")["tag"][0]["name"] == "冠军客户"
    html = post(operator, "/tags/groups", name="RFM八类", tags="x").get_data(as_text=True)
    assert "系统自动维护的标签组名称" in html
