"""Customer groups: groupchat/list and groupchat/get (groupchat/statistic lives in api_stats)."""
from .api_directory import visible_users
from .apicore import ApiError, api, integer, limit, page, str_list, text

OWNER_FILTER_THRESHOLD = 1000  # §8: without owner_filter, a visible range of more than 1000 people gets 81017

MEMBER_FIELDS = ("userid", "type", "unionid", "join_time", "join_scene", "invitor", "group_nickname",
                 "state")


def owner_filter(body: dict) -> list:
    """owner_filter.userid_list (at most 100 userids), [] when absent."""
    flt = body.get("owner_filter") or {}
    if not isinstance(flt, dict):
        raise ApiError(40058, "owner_filter must be an object")
    return str_list(flt, "userid_list", max_items=100, code=40031)


@api("externalcontact/groupchat/list", empty={"group_chat_list": []})
def groupchat_list(call):
    body = call.body
    size = limit(body, 0, 1000, required=True)  # limit is required, 1..1000
    status = integer(body, "status_filter", 0)
    if status not in (0, 1, 2, 3):
        raise ApiError(40058, "status_filter must be 0..3")
    owners = set(owner_filter(body))
    if not owners and len(visible_users(call.company)) > OWNER_FILTER_THRESHOLD:
        raise ApiError(81017, f"visible range has more than {OWNER_FILTER_THRESHOLD} people: use owner_filter")
    chats = [g for g in call.company.groups.values()
             if (not owners or g["owner"] in owners) and (status == 0 or g["status"] == status)]
    scope = f"chats:{status}:{','.join(sorted(owners))}"
    chunk, next_cursor = page([g["chat_id"] for g in chats], body, scope, size)
    groups = call.company.groups
    return {"group_chat_list": [{"chat_id": c, "status": groups[c]["status"]} for c in chunk],
            "next_cursor": next_cursor}


@api("externalcontact/groupchat/get")
def groupchat_get(call):
    chat_id = text(call.body, "chat_id", required=True, missing=40050)
    group = call.company.group_details(chat_id, call.now)  # old details for a while after a change
    if group is None:
        raise ApiError(40050, f"chat_id {chat_id}")
    need_name = integer(call.body, "need_name", 0) == 1
    members = []
    for member in group["member_list"]:
        view = {k: member[k] for k in MEMBER_FIELDS if member.get(k) not in (None, "") or k == "group_nickname"}
        if need_name:
            view["name"] = member["name"]
        members.append(view)
    return {"group_chat": {"chat_id": chat_id, "name": group["name"], "owner": group["owner"],
                           "create_time": group["create_time"], "notice": group["notice"],
                           "member_list": members, "admin_list": [dict(a) for a in group["admin_list"]],
                           "member_version": group["member_version"]}}
