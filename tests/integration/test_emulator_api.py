"""Raw WeCom behaviour of the emulator's /cgi-bin API over HTTP: tokens, errors, methods, directory, customers."""
import time

import requests


def test_gettoken_errors_are_http_200_with_error_code_header(emulator):
    url = emulator.api_base + "gettoken"
    cases = [({}, 41002), ({"corpid": emulator.corp_id}, 41004),
             ({"corpid": "wwother", "corpsecret": emulator.secret}, 40013),
             ({"corpid": emulator.corp_id, "corpsecret": "wrong"}, 40001)]
    for params, code in cases:
        resp = requests.get(url, params=params, timeout=5)
        assert resp.status_code == 200
        assert resp.json()["errcode"] == code and "access_token" not in resp.json()
        assert resp.headers["error-code"] == str(code)
    ok = requests.get(url, params={"corpid": emulator.corp_id, "corpsecret": emulator.secret}, timeout=5).json()
    assert ok["errcode"] == 0 and ok["expires_in"] == 7200 and 0 < len(ok["access_token"]) <= 512


def test_token_only_in_query_string_and_expiry(emulator, wecom):
    url = emulator.api_base + "externalcontact/get_follow_user_list"
    assert requests.get(url, timeout=5).json()["errcode"] == 41001
    assert requests.get(url, headers={"access_token": wecom.token}, timeout=5).json()["errcode"] == 41001
    assert requests.post(emulator.api_base + "externalcontact/get_corp_tag_list",
                         data=f'{{"access_token":"{wecom.token}"}}', timeout=5).json()["errcode"] == 41001
    assert requests.get(url, params={"access_token": "forged"}, timeout=5).json()["errcode"] == 40014
    emulator.control.config(token_ttl=1)
    short = emulator.access_token()
    assert requests.get(url, params={"access_token": short}, timeout=5).json()["errcode"] == 0
    time.sleep(1.1)
    assert requests.get(url, params={"access_token": short}, timeout=5).json()["errcode"] == 42001
    emulator.control.invalidate_tokens()
    assert requests.get(url, params={"access_token": wecom.token}, timeout=5).json()["errcode"] == 40014


def test_post_api_called_with_get_is_40058_with_empty_list_fields(wecom):
    resp, body = wecom.get("externalcontact/batch/get_by_user")
    assert resp.status_code == 200 and body["errcode"] == 40058
    assert body["external_contact_list"] == [] and resp.headers["error-code"] == "40058"
    assert wecom.get("externalcontact/groupchat/get")[1]["errcode"] == 40058


def test_post_body_parsed_without_content_type(emulator, wecom):
    resp = requests.post(emulator.api_base + "externalcontact/get_corp_tag_list",
                         params={"access_token": wecom.token}, data='{"tag_id": []}'.encode(), timeout=5)
    assert "Content-Type" not in resp.request.headers
    assert resp.json()["errcode"] == 0 and resp.json()["tag_group"]
    bad = requests.post(emulator.api_base + "externalcontact/get_corp_tag_list",
                        params={"access_token": wecom.token}, data=b"{not json", timeout=5)
    assert bad.status_code == 200 and bad.json()["errcode"] == 47001


def test_directory_lists_each_departments_own_members_and_ignores_fetch_child(wecom):
    depts = wecom.get("department/list")[1]["department"]
    assert {d["id"] for d in depts} >= {1} and len(depts) == 4
    nested = next(d for d in depts if d["parentid"] not in (0, 1))  # the small seed has one department two deep
    assert all(d["department_leader"] for d in depts if d["id"] != 1)
    parent = nested["parentid"]
    assert [d["id"] for d in wecom.get("department/list", id=parent)[1]["department"]] == [parent, nested["id"]]
    assert wecom.get("department/list", id=999)[1]["errcode"] == 60123
    assert wecom.get("department/simplelist", id=parent)[1]["department_id"] == [
        {"id": d["id"], "parentid": d["parentid"], "order": d["order"]} for d in depts if d["id"] in (parent, nested["id"])]
    assert wecom.get("department/get", id=nested["id"])[1]["department"]["name"] == nested["name"]
    # fetch_child is gone from the current pages: the root's own members only, and the root has none.
    assert wecom.get("user/list", department_id=1, fetch_child=1)[1]["userlist"] == []
    assert wecom.get("user/simplelist", department_id=1, fetch_child=1)[1]["userlist"] == []
    in_parent = {u["userid"] for u in wecom.get("user/list", department_id=parent, fetch_child=1)[1]["userlist"]}
    in_nested = {u["userid"] for u in wecom.get("user/list", department_id=nested["id"])[1]["userlist"]}
    assert in_parent and in_nested and not in_parent & in_nested
    everyone = wecom.all_users()
    assert len(everyone) == 6
    simple = wecom.get("user/simplelist", department_id=nested["id"])[1]["userlist"]
    assert simple and all(nested["id"] in u["department"] for u in simple)
    assert set(simple[0]) == {"userid", "name", "department", "open_userid"}
    assert "mobile" not in everyone[0] and "avatar" not in everyone[0]  # withheld since 2022-06-20
    one = wecom.get("user/get", userid=everyone[0]["userid"])[1]
    assert (one["errcode"], one["name"]) == (0, everyone[0]["name"])
    assert wecom.get("user/get", userid="nobody")[1]["errcode"] == 60111


def test_user_list_id_pages_member_department_pairs(emulator, wecom):
    control = emulator.control
    control.post("users", count=3, department_id=2)
    users = control.users()
    first = wecom.post("user/list_id", {"limit": 4})[1]
    second = wecom.post("user/list_id", {"limit": 4, "cursor": first["next_cursor"]})[1]
    third = wecom.post("user/list_id", {"limit": 4, "cursor": second["next_cursor"]})[1]
    assert third["next_cursor"] == "" and len(first["dept_user"]) == len(second["dept_user"]) == 4
    pairs = [(p["userid"], p["department"]) for page in (first, second, third) for p in page["dept_user"]]
    assert sorted(pairs) == sorted((u["userid"], d) for u in users for d in u["department"])
    assert wecom.post("user/list_id", {"limit": 10001})[1]["errcode"] == 40058


def test_members_outside_the_visible_range_are_follow_users_the_directory_does_not_show(emulator, wecom):
    follow = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]
    emulator.control.post(f"users/{follow[0]}/range", outside=True)
    assert follow[0] not in {u["userid"] for u in wecom.all_users()}
    assert follow[0] in wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]
    assert wecom.get("user/get", userid=follow[0])[1]["errcode"] == 60011
    page = wecom.post("externalcontact/batch/get_by_user", {"userid_list": [follow[0]], "limit": 5})[1]
    assert page["errcode"] == 0 and page["external_contact_list"]


def test_group_list_without_owner_filter_answers_81017_past_1000_people(emulator, wecom):
    assert wecom.post("externalcontact/groupchat/list", {"limit": 10})[1]["errcode"] == 0
    emulator.control.post("users", count=995, department_id=2, follow_user=False)  # 6 + 995 = 1,001 people
    refused = wecom.post("externalcontact/groupchat/list", {"limit": 10})[1]
    assert refused["errcode"] == 81017 and refused["group_chat_list"] == []
    owners = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]
    filtered = wecom.post("externalcontact/groupchat/list", {"limit": 10, "owner_filter": {"userid_list": owners}})[1]
    assert filtered["errcode"] == 0 and filtered["group_chat_list"]
    too_many = {"limit": 10, "owner_filter": {"userid_list": [f"u{i}" for i in range(101)]}}
    assert wecom.post("externalcontact/groupchat/list", too_many)[1]["errcode"] == 40031


def test_customer_list_get_and_84061(wecom):
    follow = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]
    everyone = [u["userid"] for u in wecom.all_users()]
    outsider = next(u for u in everyone if u not in follow)
    _, none = wecom.get("externalcontact/list", userid=outsider)
    assert none["errcode"] == 84061 and none["external_userid"] == []
    assert wecom.get("externalcontact/list", userid="nobody")[1]["errcode"] == 60111
    ids = wecom.get("externalcontact/list", userid=follow[0])[1]["external_userid"]
    assert len(ids) == len(set(ids)) > 10
    detail = wecom.get("externalcontact/get", external_userid=ids[0])[1]
    assert detail["external_contact"]["external_userid"] == ids[0]
    mine = next(f for f in detail["follow_user"] if f["userid"] == follow[0])
    assert {"remark", "description", "createtime", "tags", "add_way", "oper_userid"} <= set(mine)
    assert all(t["type"] == 1 and t["tag_id"].startswith("et") for t in mine["tags"])
    assert wecom.get("externalcontact/get", external_userid="wmnope")[1]["errcode"] == 40096


def test_batch_get_by_user_paging_and_limits(wecom):
    follow = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"]
    expected = {(u, e) for u in follow[:2] for e in wecom.get("externalcontact/list", userid=u)[1]["external_userid"]}
    seen, cursor, pages = [], "", 0
    while True:
        _, body = wecom.post("externalcontact/batch/get_by_user",
                             {"userid_list": follow[:2], "cursor": cursor, "limit": 1000})
        assert body["errcode"] == 0 and len(body["external_contact_list"]) <= 100  # clamped to 100
        seen += [(i["follow_info"]["userid"], i["external_contact"]["external_userid"])
                 for i in body["external_contact_list"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(expected) and set(seen) == expected and pages == -(-len(expected) // 100)
    info = wecom.post("externalcontact/batch/get_by_user", {"userid_list": follow[:1]})[1]
    assert len(info["external_contact_list"]) == 50  # default limit
    follow_info = info["external_contact_list"][0]["follow_info"]
    assert "tag_id" in follow_info and "tags" not in follow_info
    too_many = wecom.post("externalcontact/batch/get_by_user", {"userid_list": [f"u{i}" for i in range(101)]})[1]
    assert too_many["errcode"] == 40031 and too_many["external_contact_list"] == []
    assert wecom.post("externalcontact/batch/get_by_user",
                      {"userid_list": follow[:1], "cursor": "garbage"})[1]["errcode"] == 40058


def test_remark_limits_and_effect(emulator, wecom):
    userid = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][0]
    ext = wecom.get("externalcontact/list", userid=userid)[1]["external_userid"][0]
    base = {"userid": userid, "external_userid": ext}
    assert wecom.post("externalcontact/remark", {**base, "remark": "x" * 21})[1]["errcode"] == 40058
    assert wecom.post("externalcontact/remark", {**base, "description": "x" * 151})[1]["errcode"] == 40058
    assert wecom.post("externalcontact/remark", base)[1]["errcode"] == 40058
    other = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][1]
    stranger = next(e for e in wecom.get("externalcontact/list", userid=other)[1]["external_userid"]
                    if e not in wecom.get("externalcontact/list", userid=userid)[1]["external_userid"])
    assert wecom.post("externalcontact/remark", {**base, "external_userid": stranger,
                                                 "remark": "x"})[1]["errcode"] == 84061
    ok = wecom.post("externalcontact/remark", {**base, "remark": "王姐" * 10, "description": "大客户",
                                               "remark_mobiles": ["13800000000"]})[1]
    assert ok["errcode"] == 0
    follow = next(f for f in wecom.get("externalcontact/get", external_userid=ext)[1]["follow_user"]
                  if f["userid"] == userid)
    assert (follow["remark"], follow["description"], follow["remark_mobiles"]) == ("王姐" * 10, "大客户", ["13800000000"])
    wecom.post("externalcontact/remark", {**base, "remark_mobiles": [""]})
    assert [f for f in wecom.get("externalcontact/get", external_userid=ext)[1]["follow_user"]
            if f["userid"] == userid][0]["remark_mobiles"] == []
    remarks = emulator.control.get("remarks")["remarks"]
    assert [r["external_userid"] for r in remarks] == [ext, ext]


def test_behavior_data_ranges(wecom):
    userid = wecom.get("externalcontact/get_follow_user_list")[1]["follow_user"][0]
    now = int(time.time())
    ok = wecom.post("externalcontact/get_user_behavior_data",
                    {"userid": [userid], "start_time": now - 6 * 86400, "end_time": now})[1]
    assert ok["errcode"] == 0 and len(ok["behavior_data"]) == 7
    for start, end in [(now - 31 * 86400, now), (now - 200 * 86400, now - 190 * 86400), (now * 1000, now * 1000)]:
        bad = wecom.post("externalcontact/get_user_behavior_data",
                         {"userid": [userid], "start_time": start, "end_time": end})[1]
        assert bad["errcode"] == 600018 and bad["behavior_data"] == []
    assert wecom.post("externalcontact/get_user_behavior_data",
                      {"start_time": now, "end_time": now})[1]["errcode"] == 40058
