"""Issue 13 item 7: input no column, no date arithmetic and no parser can hold gets a 4xx naming the field, never a
500; and concurrent retries of one order batch all succeed."""
import json
import threading

import pytest
from sqlalchemy import event, func, select

from app.core import tokens
from app.extensions import db
from app.rfm.models import CustomerEvent, Order
from app.segments.models import Segment
from tests.conftest import csrf_token

HUGE = "1" + "0" * 30
DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def shop(app):
    return {"Authorization": "Bearer " + tokens.issue("商城", "operator", created_by="test")[1]}


def _order(order_id="A001", **overrides):
    return {"order_id": order_id, "external_userid": "wmCUST1", "amount": "99.90", "paid_at": "2026-03-01T14:30:00",
            "status": "paid", **overrides}


def _event(**overrides):
    return {"type": "visit", "external_userid": "wmCUST1", "occurred_at": "2026-03-01T14:30:00", **overrides}


def _count(model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def _field_errors(response) -> dict:
    """The API's per-field errors of the first record: {field: [messages]} (marshmallow) or the record's message."""
    details = response.json["error"]["details"]
    return details["json"]["orders" if "orders" in details["json"] else "events"]["0"] if "json" in details \
        else details["0"]


@pytest.mark.parametrize("field,value", [("external_userid", "w" * 65), ("unionid", "u" * 65), ("mobile", "1" * 33),
                                         ("category", "c" * 65), ("order_id", "A" * 65)])
def test_an_order_field_longer_than_its_column_is_refused_by_name(client, shop, field, value):
    response = client.post("/api/v1/orders", json={"orders": [_order(**{field: value})]}, headers=shop)
    assert response.status_code == 422
    assert field in _field_errors(response)
    assert _count(Order) == 0


@pytest.mark.parametrize("field,value", [("event_id", "e" * 65), ("external_userid", "w" * 65), ("type", "t" * 33)])
def test_an_event_field_longer_than_its_column_is_refused_by_name(client, shop, field, value):
    response = client.post("/api/v1/events", json={"events": [_event(**{field: value})]}, headers=shop)
    assert response.status_code == 422
    assert field in _field_errors(response)
    assert _count(CustomerEvent) == 0


@pytest.mark.parametrize("url,body,path", [
    ("/api/v1/orders", {"orders": [_order(order_id="A\x00B")]}, "$.orders[0].order_id"),
    ("/api/v1/orders", {"orders": [_order(external_userid="wm\x00")]}, "$.orders[0].external_userid"),
    ("/api/v1/events", {"events": [_event(type="vi\x00sit")]}, "$.events[0].type"),
    ("/api/v1/events", {"events": [_event(external_userid="\x00")]}, "$.events[0].external_userid"),
])
def test_a_nul_byte_in_the_api_is_refused_by_its_path(client, shop, url, body, path):
    response = client.post(url, json=body, headers=shop)
    assert response.status_code == 400
    assert path in response.json["error"]["message"] and "NUL" in response.json["error"]["message"]
    assert _count(Order) + _count(CustomerEvent) == 0


def test_a_nul_byte_in_the_sign_in_username_is_refused_without_signing_in(client):
    response = client.post("/auth/login", data={"username": "admin\x00", "password": "x",
                                                "csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert "username" in response.get_data(as_text=True) and "NUL" in response.get_data(as_text=True)


@pytest.mark.parametrize("url,name", [("/contacts/?q=%E5%BC%A0%00", "q"), ("/contacts/groups?q=%00", "q"),
                                      ("/wecom/events?status=pending%00", "status"), ("/rfm/customers?segment=%00",
                                                                                     "segment")])
def test_a_nul_byte_in_a_search_box_or_filter_is_refused_by_name(client, signed_in_as, url, name):
    signed_in_as("admin")
    response = client.get(url)
    assert response.status_code == 400
    assert f"参数 {name} 含有 NUL 字符" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/contacts/wm%00x", "/contacts/groups/wr%00"])
def test_a_nul_byte_in_a_page_address_is_refused(client, signed_in_as, url):
    signed_in_as("admin")
    response = client.get(url)
    assert response.status_code == 400 and "网址中含有 NUL 字符" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [f"/api/v1/segments/{HUGE}/count", f"/api/v1/campaigns/{HUGE}",
                                 f"/api/v1/campaigns/2147483648/funnel"])
def test_a_huge_id_in_an_api_path_is_not_found(client, url):
    headers = {"Authorization": "Bearer " + tokens.issue("管理", "admin", created_by="test")[1]}
    assert client.get(url, headers=headers).status_code == 404


@pytest.mark.parametrize("url", [f"/segments/{HUGE}/members", f"/campaigns/{HUGE}", f"/contacts/sync/{HUGE}"])
def test_a_huge_id_in_a_page_path_is_not_found(client, signed_in_as, url):
    signed_in_as("admin")
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", [f"/contacts/?page={HUGE}", f"/wecom/events?page={HUGE}",
                                 f"/rfm/customers?page={HUGE}", f"/admin/audit?page={HUGE}"])
def test_a_huge_page_number_is_refused_by_name(client, signed_in_as, url):
    signed_in_as("admin")
    response = client.get(url)
    assert response.status_code == 400 and "参数 page 超出范围" in response.get_data(as_text=True)


def test_a_huge_after_id_in_the_api_is_refused_by_name(client):
    headers = {"Authorization": "Bearer " + tokens.issue("管理", "admin", created_by="test")[1]}
    response = client.get(f"/api/v1/audit-log?after_id={HUGE}", headers=headers)
    assert response.status_code == 422 and "after_id" in response.json["error"]["details"]["query"]


@pytest.mark.parametrize("amount", ["1e20", 1e20, "100000000000000000000000000000", "1000000000.01"])
def test_an_amount_beyond_any_order_is_refused_by_name(client, shop, amount):
    response = client.post("/api/v1/orders", json={"orders": [_order(amount=amount)]}, headers=shop)
    assert response.status_code == 422
    assert "金额超过上限 1000000000 元" in json.dumps(_field_errors(response), ensure_ascii=False)
    assert _count(Order) == 0


@pytest.mark.parametrize("paid_at", ["0001-01-01", "0001-01-01T00:00:00+08:00", "9999-12-31T23:00:00-08:00",
                                     "9999-12-31"])
def test_an_order_in_year_1_or_9999_is_refused_by_name(client, shop, paid_at):
    response = client.post("/api/v1/orders", json={"orders": [_order(paid_at=paid_at)]}, headers=shop)
    assert response.status_code == 422 and "支付时间需在 1990-01-01 到 2099-12-31 之间" in _field_errors(response)
    assert _count(Order) == 0


def test_an_event_in_year_1_is_refused_by_name(client, shop):
    response = client.post("/api/v1/events", json={"events": [_event(occurred_at="0001-01-01")]}, headers=shop)
    assert response.status_code == 422 and "发生时间需在" in _field_errors(response)


def _preview(client, rule):
    return client.post("/segments/preview", json={"rule": rule},
                       headers={"X-CSRFToken": csrf_token(client, "/segments/new")})


@pytest.mark.parametrize("condition,message", [
    ({"field": "added", "operator": "between", "value": {"from": "0001-01-01", "to": "0001-01-02"}}, "日期需在"),
    ({"field": "last_order", "operator": "before", "value": {"date": "9999-12-31"}}, "日期需在"),
    ({"field": "order_amount", "operator": "between", "value": {"days": 30, "min": 10**30}}, "下限和上限需为 0 到"),
    ({"field": "order_count", "operator": "between", "value": {"days": 30, "max": 10**30}}, "下限和上限需为 0 到"),
    ({"field": "tags", "operator": "any", "value": [f"et{i}" for i in range(100_000)]}, "最多选择 1000 项"),
    ({"field": "department", "operator": "in", "value": [10**30]}, "部门最多"),
])
def test_a_segment_rule_beyond_what_the_database_holds_is_refused_with_its_path(client, signed_in_as, condition,
                                                                                message):
    signed_in_as("operator")
    answer = _preview(client, {"op": "and", "rules": [condition]})
    assert answer.status_code == 200
    assert answer.json["ok"] is False
    assert answer.json["problems"][0]["path"] == "$.rules[0].value" and message in answer.json["problems"][0]["message"]
    saved = client.post("/segments/save", data={"csrf_token": csrf_token(client, "/segments/new"), "name": "大",
                                                "rule": json.dumps({"op": "and", "rules": [condition]})})
    assert saved.status_code == 422 and message in saved.get_data(as_text=True)
    assert _count(Segment) == 0


def test_json_nested_1000_levels_is_refused(client, shop, signed_in_as):
    body = json.dumps({"orders": [_order(items=[])]}).replace('"items": []', f'"items": {DEEP}')
    response = client.post("/api/v1/orders", data=body, content_type="application/json", headers=shop)
    assert response.status_code == 400 and "JSON 嵌套超过 32 层" in response.json["error"]["message"]
    signed_in_as("operator")
    token = csrf_token(client, "/segments/new")
    preview = client.post("/segments/preview", data='{"rule": {"op": "and", "rules": [' + DEEP + ']}}',
                          content_type="application/json", headers={"X-CSRFToken": token})
    assert preview.status_code == 400
    saved = client.post("/segments/save", data={"csrf_token": token, "name": "深", "rule": '{"op": "and", "rules": ['
                                                 + DEEP + "]}"})
    assert saved.status_code == 422
    assert _count(Order) + _count(Segment) == 0


def test_four_concurrent_retries_of_one_order_batch_all_succeed(app, shop):
    """A shop's four tries of one batch run at once: each is held just before it writes the orders until all four
    got there (no timing: a barrier), then all four write together; each is answered 200, the orders stored once."""
    batch = {"orders": [_order(f"A{i:03d}", amount=f"{i}.00") for i in range(1, 51)]}
    all_four = threading.Barrier(4, timeout=60)

    def hold_until_all_four_write(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO ORDERS"):
            all_four.wait()

    answers = []

    def retry():
        response = app.test_client().post("/api/v1/orders", json=batch, headers=shop)
        answers.append((response.status_code, response.json))

    event.listen(db.engine, "before_cursor_execute", hold_until_all_four_write)
    tries = [threading.Thread(target=retry, daemon=True) for _ in range(4)]
    try:
        for thread in tries:
            thread.start()
        for thread in tries:
            thread.join(120)
    finally:
        event.remove(db.engine, "before_cursor_execute", hold_until_all_four_write)
    assert not all_four.broken, "the four tries did not all reach their write together"
    assert [status for status, _ in answers] == [200] * 4, answers
    assert sorted(body["added"] for _, body in answers) == [0, 0, 0, 50]
    assert all(body["added"] + body["unchanged"] == 50 and body["updated"] == 0 for _, body in answers)
    assert _count(Order) == 50


@pytest.mark.parametrize("url", [f"/rfm/customers?r={HUGE}", f"/rfm/customers?f={HUGE}"])
def test_a_huge_score_filter_finds_nobody(client, signed_in_as, url):
    signed_in_as("admin")
    assert client.get(url).status_code == 200


def test_a_huge_welcome_template_id_is_refused_by_name(client, signed_in_as):
    signed_in_as("admin")
    page = client.post("/welcome/channels/new", data={"csrf_token": csrf_token(client, "/welcome/channels/new"),
                                                      "name": "直播间", "state": "live1", "userids": ["zhangsan"],
                                                      "template_id": HUGE})
    assert page.status_code == 200 and "欢迎语不存在" in page.get_data(as_text=True)  # the form again, the field named


@pytest.mark.parametrize("url,field", [("/contacts/tags", "add"), ("/welcome/channels/new", "tag_ids")])
def test_a_list_of_100000_tags_in_a_form_is_refused_by_name(client, signed_in_as, url, field):
    signed_in_as("admin")
    response = client.post(url, data={"csrf_token": csrf_token(client, "/contacts/"), "external_userid": ["wm1"],
                                      "name": "直播间", "state": "live1", "userids": ["zhangsan"],
                                      field: [f"et{i}" for i in range(100_000)]})
    assert response.status_code == 400
    assert f"参数 {field} 的值过多（100000 个，最多 10000 个）" in response.get_data(as_text=True)
