"""Corp tags: get_corp_tag_list, add_corp_tag, edit_corp_tag, del_corp_tag, mark_tag."""
import secrets

from .api_contacts import customer_of
from .apicore import ApiError, api, integer, require_user, str_list, text

MAX_CORP_TAGS = 3000       # per corp, rule-group tags included
MAX_TAGS_ON_CUSTOMER = 3000
NAME_CHARS = 30


def new_tag_id() -> str:
    return "et" + secrets.token_urlsafe(15)[:20]


def _order(value, field: str) -> int:
    order = integer({field: value}, field, 0)
    if not 0 <= order < 2**32:
        raise ApiError(40058, f"{field} must be in [0, 2^32)")
    return order


def _sorted(items: list) -> list:
    return sorted(items, key=lambda item: -item["order"])  # a larger order sorts first (stable)


def group_view(group: dict, tags: list | None = None, with_deleted: bool = False) -> dict:
    view = {k: group[k] for k in ("group_id", "group_name", "create_time", "order")}
    view["tag"] = [{k: t[k] for k in ("id", "name", "create_time", "order")} for t in
                   _sorted(group["tag"] if tags is None else tags)]
    if with_deleted:  # `deleted` only appears when filtering by id; we keep no deleted records
        view["deleted"] = False
        for tag in view["tag"]:
            tag["deleted"] = False
    return view


@api("externalcontact/get_corp_tag_list", empty={"tag_group": []})
def get_corp_tag_list(call):
    company, body = call.company, call.body
    tag_ids, group_ids = str_list(body, "tag_id"), str_list(body, "group_id")
    groups = _sorted(list(company.tag_groups.values()))
    if group_ids:  # with both given, tag_id is ignored
        return {"tag_group": [group_view(g, with_deleted=True) for g in groups if g["group_id"] in group_ids]}
    if tag_ids:
        wanted = set(tag_ids)
        picked = [(g, [t for t in g["tag"] if t["id"] in wanted]) for g in groups]
        return {"tag_group": [group_view(g, tags, with_deleted=True) for g, tags in picked if tags]}
    return {"tag_group": [group_view(g) for g in groups]}


def _check_name(name, field: str = "name") -> str:
    return text({field: name}, field, required=True, max_chars=NAME_CHARS)


@api("externalcontact/add_corp_tag", writes=True, empty={"tag_group": {}})
def add_corp_tag(call):
    company, body = call.company, call.body
    raw_tags = body.get("tag")
    if not isinstance(raw_tags, list) or not raw_tags or not all(isinstance(t, dict) for t in raw_tags):
        raise ApiError(40058, "tag must be a non-empty list (empty groups are not allowed)")
    wanted: dict[str, int] = {}  # duplicate names in one request collapse into one tag
    for tag in raw_tags:
        wanted.setdefault(_check_name(tag.get("name")), _order(tag.get("order"), "order"))
    if body.get("group_id"):
        group = company.tag_groups.get(body["group_id"])
        if group is None:
            raise ApiError(40068, f"group_id {body['group_id']} not found")
    else:
        group_name = _check_name(body.get("group_name"), "group_name")
        group = next((g for g in company.tag_groups.values() if g["group_name"] == group_name), None)
        if group is None:
            group = {"group_id": new_tag_id(), "group_name": group_name, "create_time": int(call.now),
                     "order": _order(body.get("order"), "order"), "tag": []}
    taken = {t["name"] for t in group["tag"]}
    clash = [name for name in wanted if name in taken]
    if clash:
        raise ApiError(40071, f"tag {clash[0]} already exists in {group['group_name']}")
    if company.tag_count() + len(wanted) > MAX_CORP_TAGS:
        # UNCONFIRMED code: the doc names the 3000 cap but no errcode; 40058 stops the client.
        raise ApiError(40058, f"a corp may hold at most {MAX_CORP_TAGS} tags")
    created = [{"id": new_tag_id(), "name": name, "create_time": int(call.now), "order": order}
               for name, order in wanted.items()]
    group["tag"].extend(created)
    company.tag_groups[group["group_id"]] = group
    for tag in created:
        company.tag_index[tag["id"]] = group["group_id"]
    return {"tag_group": group_view(group, created)}


@api("externalcontact/edit_corp_tag", writes=True)
def edit_corp_tag(call):
    company, body = call.company, call.body
    item_id = text(body, "id", required=True, missing=40068)
    if "name" not in body and "order" not in body:
        raise ApiError(40058, "name or order required")
    group = company.tag_groups.get(item_id)
    found = None if group else company.find_tag(item_id)
    if group is None and found is None:
        raise ApiError(40068, f"id {item_id} is neither a tag nor a group")
    target = group or found[1]
    if body.get("name") is not None:
        name = _check_name(body["name"])
        if group:
            others = [g["group_name"] for g in company.tag_groups.values() if g is not group]
        else:
            others = [t["name"] for t in found[0]["tag"] if t is not target]
        if name in others:
            raise ApiError(40071, f"name {name} already exists")
        target["group_name" if group else "name"] = name
    if body.get("order") is not None:
        target["order"] = _order(body["order"], "order")
    return {}


def delete_tags(company, tag_ids: set, group_ids: set) -> None:
    """Remove tags (and whole groups) everywhere; a group left without tags disappears."""
    for gid in group_ids:
        tag_ids |= {t["id"] for t in company.tag_groups[gid]["tag"]}
    for gid, group in list(company.tag_groups.items()):
        group["tag"] = [t for t in group["tag"] if t["id"] not in tag_ids]
        if not group["tag"]:
            del company.tag_groups[gid]
    for rels in company.relations.values():
        for follow in rels.values():
            if tag_ids.intersection(follow["tag_id"]):
                follow["tag_id"] = [t for t in follow["tag_id"] if t not in tag_ids]
    company.reindex()


@api("externalcontact/del_corp_tag", writes=True)
def del_corp_tag(call):
    company = call.company
    tag_ids, group_ids = set(str_list(call.body, "tag_id")), set(str_list(call.body, "group_id"))
    if not tag_ids and not group_ids:
        raise ApiError(40058, "tag_id and group_id may not both be empty")
    bad = [t for t in tag_ids if t not in company.tag_index] + \
          [g for g in group_ids if g not in company.tag_groups]
    if bad:
        raise ApiError(40068, f"id {bad[0]} not found")
    delete_tags(company, tag_ids, group_ids)
    return {}


@api("externalcontact/mark_tag", writes=True)
def mark_tag(call):
    company, body = call.company, call.body
    userid = text(body, "userid", required=True, missing=41009)
    ext = text(body, "external_userid", required=True, missing=40096)
    add, remove = str_list(body, "add_tag"), str_list(body, "remove_tag")
    entry = {"time": call.now, "userid": userid, "external_userid": ext, "add_tag": add,
             "remove_tag": remove}
    try:
        if not add and not remove:
            raise ApiError(40058, "add_tag and remove_tag may not both be empty")
        require_user(company, userid)
        if ext not in company.customers:
            raise ApiError(40096, f"external_userid {ext}")
        follow = customer_of(company, userid, ext)
        bad = [t for t in add + remove if t not in company.tag_index]
        if bad:
            raise ApiError(40068, f"tag {bad[0]} not found")
        tags = [t for t in follow["tag_id"] if t not in remove]
        tags += [t for t in dict.fromkeys(add) if t not in tags]
        if len(tags) > MAX_TAGS_ON_CUSTOMER:
            raise ApiError(40058, f"at most {MAX_TAGS_ON_CUSTOMER} tags on one customer")
        follow["tag_id"] = tags
    except ApiError as err:
        company.log("tag_marks", {**entry, "errcode": err.code})
        raise
    company.log("tag_marks", {**entry, "errcode": 0})
    return {}
