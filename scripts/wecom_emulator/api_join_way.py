"""Group join codes (「加入群聊」, 群活码): groupchat/add_join_way, get_join_way, update_join_way, del_join_way (§13).

**No API creates a customer group or adds a customer to one** (wecom-api.md §13; `appchat/create` makes internal
groups only). Customers join through a join code, an invite link or a staff member in the client; here that is the
simulated scan `POST /_emulator/simulate/group_join_by_code` (join_actions.py). A group opened because the code's
groups are full is opened by WeCom on that scan, never by an API call.

Facts: `scene` 1 mini-program button / 2 QR code; `chat_id_list` at most 5 groups; `auto_create_room` (default 1)
opens a new group named `room_base_name` (≤40 characters) + a number counted from `room_base_id` when every group is
full; `state` ≤30 characters, carried by the members who join (groupchat/get member_list[].state); the configs
share the corp's 500,000 quota with 联系我 (41045); API-made configs do not show in the admin console.

UNCONFIRMED, each chosen the harder way for a client:
- with `auto_create_room` 1, `room_base_name` and `room_base_id` are both required (40058 without them);
- `remark` at most 30 characters (as 联系我's);
- an unknown config_id answers 41044 and a missing one 41043 (联系我's codes); a chat_id that is not a customer
  group 40050; `chat_id_list` empty or over 5 entries 40058;
- a group opened automatically is appended to the config's `chat_id_list` as get_join_way shows it (the list read
  back can then hold more than 5 groups: a client must not send it back unchecked);
- update_join_way replaces the whole config: fields left out go back to their defaults (send every field).
"""
import secrets

from .apicore import ApiError, api, integer, str_list, text

MAX_CHATS = 5
MAX_STATE = 30
MAX_REMARK = 30
MAX_BASE_NAME = 40
FIELDS = ("config_id", "scene", "remark", "auto_create_room", "room_base_name", "room_base_id", "chat_id_list",
          "qr_code", "state")


def join_way(company, body: dict) -> dict:
    config_id = text(body, "config_id", required=True, missing=41043)
    way = company.join_ways.get(config_id)
    if way is None:
        raise ApiError(41044, f"config_id {config_id}")
    return way


def _config(company, body: dict) -> dict:
    """The validated editable fields of a request (all of them: defaults where left out)."""
    scene = integer(body, "scene", required=True)
    if scene not in (1, 2):
        raise ApiError(40058, "scene must be 1 or 2")
    chats = str_list(body, "chat_id_list")
    if not chats or len(chats) > MAX_CHATS:
        raise ApiError(40058, f"chat_id_list must hold 1..{MAX_CHATS} groups")
    if len(set(chats)) != len(chats):
        raise ApiError(40058, "chat_id_list holds a group twice")
    for chat_id in chats:
        if chat_id not in company.groups:
            raise ApiError(40050, f"chat_id {chat_id}")
    auto = integer(body, "auto_create_room", 1)
    if auto not in (0, 1):
        raise ApiError(40058, "auto_create_room must be 0 or 1")
    base_name = text(body, "room_base_name", max_chars=MAX_BASE_NAME)
    base_id = integer(body, "room_base_id")
    if auto and (not base_name or base_id is None or base_id < 0):
        raise ApiError(40058, "auto_create_room 1 needs room_base_name and room_base_id")
    return {"scene": scene, "remark": text(body, "remark", max_chars=MAX_REMARK), "auto_create_room": auto,
            "room_base_name": base_name, "room_base_id": base_id or 0, "chat_id_list": list(chats),
            "state": text(body, "state", max_chars=MAX_STATE)}


@api("externalcontact/groupchat/add_join_way", writes=True)
def add_join_way(call):
    company = call.company
    config = _config(company, call.body)
    if company.configs_in_quota() >= call.settings.contact_way_quota:
        raise ApiError(41045, f"join ways share the {call.settings.contact_way_quota} quota of contact ways")
    config_id = secrets.token_hex(16)
    company.join_ways[config_id] = {"config_id": config_id, **config, "opened": 0, "create_time": int(call.now),
                                    "qr_code": f"https://wework.qpic.cn/wwpic/join/{config_id}/0"}
    return {"config_id": config_id}


@api("externalcontact/groupchat/get_join_way")
def get_join_way(call):
    way = join_way(call.company, call.body)
    view = {k: way[k] for k in FIELDS}
    if way["scene"] != 2:
        view.pop("qr_code")
    return {"join_way": view}


@api("externalcontact/groupchat/update_join_way", writes=True)
def update_join_way(call):
    way = join_way(call.company, call.body)
    way.update(_config(call.company, call.body))
    return {}


@api("externalcontact/groupchat/del_join_way", writes=True)
def del_join_way(call):
    del call.company.join_ways[join_way(call.company, call.body)["config_id"]]
    return {}
