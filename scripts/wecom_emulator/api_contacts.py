"""Customers: get_follow_user_list, list, get, batch/get_by_user, remark."""
import hashlib

from .apicore import ApiError, api, decode_cursor, encode_cursor, limit, page, require_user, str_list, text

FOLLOW_FIELDS = ("userid", "remark", "description", "createtime", "remark_corp_name",
                 "remark_mobiles", "oper_userid", "add_way", "state")
FOLLOW_PAGE = 500  # externalcontact/get pages follow_user beyond 500 with a cursor


def follow_view(follow: dict) -> dict:
    """Follow fields as WeCom shows them: empty remark_corp_name / state are left out."""
    view = {k: follow[k] for k in FOLLOW_FIELDS if k in follow}
    for optional in ("remark_corp_name", "state"):
        if not view.get(optional):
            view.pop(optional, None)
    return view


def tag_views(company, tag_ids: list) -> list:
    views = []
    for tag_id in tag_ids:
        found = company.find_tag(tag_id)
        if found:
            group, tag = found
            views.append({"group_name": group["group_name"], "tag_name": tag["name"],
                          "tag_id": tag_id, "type": 1})
    return views


def customer_of(company, userid: str, external_userid: str) -> dict:
    """The follow relation, or 84061 when the customer is not (any longer) the member's."""
    follow = company.relation(userid, external_userid)
    if follow is None:
        raise ApiError(84061, f"{external_userid} is not a customer of {userid}")
    return follow


@api("externalcontact/get_follow_user_list", "GET", empty={"follow_user": []})
def get_follow_user_list(call):
    return {"follow_user": list(call.company.follow_users)}


@api("externalcontact/list", "GET", empty={"external_userid": []})
def list_customers(call):
    userid = call.args.get("userid")
    require_user(call.company, userid)
    ids = list(call.company.relations.get(userid, {}))
    if not ids:
        raise ApiError(84061, f"{userid} has no customers")
    return {"external_userid": ids}


@api("externalcontact/get", "GET", empty={"follow_user": []})
def get_customer(call):
    ext = call.args.get("external_userid")
    company = call.company
    if not ext or ext not in company.customers:
        raise ApiError(40096, f"external_userid {ext!r}")
    followers = company.followers.get(ext, [])
    if not followers:
        raise ApiError(84061, f"{ext} has no follow user")
    chunk, next_cursor = page(followers, {"cursor": call.args.get("cursor")}, "get:" + ext, FOLLOW_PAGE)
    follow_user = []
    for userid in chunk:
        follow = company.relation(userid, ext)
        follow_user.append({**follow_view(follow), "tags": tag_views(company, follow["tag_id"])})
    answer = {"external_contact": dict(company.customers[ext]), "follow_user": follow_user}
    if next_cursor:
        answer["next_cursor"] = next_cursor
    return answer


@api("externalcontact/batch/get_by_user", empty={"external_contact_list": []})
def batch_get_by_user(call):
    company, body = call.company, call.body
    userids = str_list(body, "userid_list", max_items=100, code=40031)
    if not userids:
        raise ApiError(40031, "userid_list empty")
    for userid in userids:
        require_user(company, userid)
    size = limit(body, 50, 100, clamp=True)
    scope = "batch:" + hashlib.sha1(",".join(userids).encode()).hexdigest()[:16]
    user_pos, offset = decode_cursor(body.get("cursor"), scope, [0, 0])
    out = []
    while len(out) < size and user_pos < len(userids):
        userid = userids[user_pos]
        rels = list(company.relations.get(userid, {}).items())[offset:offset + size - len(out)]
        for ext, follow in rels:
            info = {**follow_view(follow), "tag_id": list(follow["tag_id"])}
            out.append({"external_contact": dict(company.customers[ext]), "follow_info": info})
        offset += len(rels)
        if offset >= len(company.relations.get(userid, {})):
            user_pos, offset = user_pos + 1, 0
    more = user_pos < len(userids) and any(company.relations.get(u) for u in userids[user_pos:])
    return {"external_contact_list": out,
            "next_cursor": encode_cursor(scope, [user_pos, offset]) if more else ""}


@api("externalcontact/remark", writes=True)
def remark(call):
    body, company = call.body, call.company
    userid = text(body, "userid", required=True, missing=41009)
    ext = text(body, "external_userid", required=True, missing=40096)
    require_user(company, userid)
    follow = customer_of(company, userid, ext)
    changes = {}
    for key, max_chars in (("remark", 20), ("description", 150), ("remark_company", 20)):
        if key in body:
            changes[key] = text(body, key, max_chars=max_chars)
    if "remark_mobiles" in body:
        changes["remark_mobiles"] = [m for m in str_list(body, "remark_mobiles") if m]
    if "remark_pic_mediaid" in body:
        changes["remark_pic_mediaid"] = text(body, "remark_pic_mediaid")
    if not any(body.get(k) for k in ("remark", "description", "remark_company", "remark_mobiles",
                                     "remark_pic_mediaid")):
        raise ApiError(40058, "remark, description, remark_company, remark_mobiles and "
                              "remark_pic_mediaid may not all be empty")
    for key in ("remark", "description", "remark_mobiles"):
        if key in changes:
            follow[key] = changes[key]
    if "remark_company" in changes and company.customers[ext]["type"] == 1:
        follow["remark_corp_name"] = changes["remark_company"]  # only for WeChat-user customers
    company.log("remarks", {"time": call.now, "userid": userid, "external_userid": ext, **changes})
    return {}
