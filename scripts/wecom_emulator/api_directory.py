"""Departments and members as the current pages describe them (wecom-api.md §9).

`fetch_child` is ignored: the current user/list and user/simplelist pages dropped it ("需先获取该部门下的子部门…
逐层递归获取"), so a member list is the department's own members only, however the client asks. Members outside the
app's visible range (``outside_range``) are in no directory answer; they may still be follow users (§2).
"""
from .apicore import ApiError, api, integer, page

# Fields a self-built app still receives since 2022-06-20 (no avatar, gender, mobile, email,
# biz_mail, qr_code or address), so the client cannot come to depend on them.
USER_FIELDS = ("userid", "name", "department", "order", "position", "is_leader_in_dept",
               "direct_leader", "telephone", "alias", "status", "english_name", "open_userid",
               "main_department", "external_position")
SIMPLE_USER_FIELDS = ("userid", "name", "department", "open_userid")
DEPARTMENT_FIELDS = ("id", "name", "name_en", "department_leader", "parentid", "order")
LIST_ID_DEFAULT, LIST_ID_MAX = 1000, 10000  # user/list_id: limit ≤ 10,000 (the default is not documented)


def visible_users(company) -> list[dict]:
    """Members in the app's visible range, in directory order."""
    return [u for u in company.users.values() if not u.get("outside_range")]


def _subtree(company, root: int) -> list[dict]:
    """The department `root` and every department below it, parents before children; 60123 when unknown."""
    by_parent: dict[int, list[dict]] = {}
    for dept in company.departments:
        by_parent.setdefault(dept["parentid"], []).append(dept)
    top = next((d for d in company.departments if d["id"] == root), None)
    if top is None:
        raise ApiError(60123, f"department {root} not found")
    found, todo = [], [top]
    while todo:
        dept = todo.pop(0)
        found.append(dept)
        todo.extend(by_parent.get(dept["id"], []))
    return found


def _department_arg(call, name: str, required: bool) -> int | None:
    value = call.args.get(name)
    if not value:
        if required:
            raise ApiError(40058, f"{name} missing")
        return None
    if not value.isdigit():
        raise ApiError(60123, f"{name} must be a department id")
    return int(value)


@api("department/list", "GET")
def department_list(call):
    root = _department_arg(call, "id", required=False)
    return {"department": [{k: d[k] for k in DEPARTMENT_FIELDS}
                           for d in _subtree(call.company, 1 if root is None else root)]}


@api("department/simplelist", "GET")
def department_simplelist(call):
    root = _department_arg(call, "id", required=False)
    return {"department_id": [{"id": d["id"], "parentid": d["parentid"], "order": d["order"]}
                              for d in _subtree(call.company, 1 if root is None else root)]}


@api("department/get", "GET")
def department_get(call):
    dept_id = _department_arg(call, "id", required=True)
    dept = next((d for d in call.company.departments if d["id"] == dept_id), None)
    if dept is None:
        raise ApiError(60123, f"department {dept_id} not found")
    return {"department": {k: dept[k] for k in DEPARTMENT_FIELDS}}


def _members(call) -> list[dict]:
    """The department's own members; `fetch_child` is read by nobody (see the module docstring)."""
    dept = _department_arg(call, "department_id", required=True)
    _subtree(call.company, dept)  # 60123 for an unknown department
    return [u for u in visible_users(call.company) if dept in u["department"]]


@api("user/list", "GET")
def user_list(call):
    return {"userlist": [{k: u[k] for k in USER_FIELDS if k in u} for u in _members(call)]}


@api("user/simplelist", "GET")
def user_simplelist(call):
    return {"userlist": [{k: u[k] for k in SIMPLE_USER_FIELDS} for u in _members(call)]}


@api("user/get", "GET")
def user_get(call):
    userid = call.args.get("userid")
    if not userid:
        raise ApiError(41009)
    user = call.company.users.get(userid)
    if user is None:
        raise ApiError(60111, f"userid {userid} not found")
    if user.get("outside_range"):
        # UNCONFIRMED which code a member outside the visible range gets; 60011 (no permission) makes the
        # client cope with a follow user it may not read, the harder case.
        raise ApiError(60011, f"{userid} is outside the app's visible range")
    return {k: user[k] for k in USER_FIELDS if k in user}


@api("user/list_id")
def user_list_id(call):
    """One entry per (member, department) pair, paged by an opaque cursor (§9, [DOC 96067])."""
    size = integer(call.body, "limit", LIST_ID_DEFAULT) or LIST_ID_DEFAULT
    if not 1 <= size <= LIST_ID_MAX:
        raise ApiError(40058, f"limit must be 1..{LIST_ID_MAX}")
    pairs = [(u["userid"], d) for u in visible_users(call.company) for d in u["department"]]
    chunk, next_cursor = page(pairs, call.body, "list_id", size)
    return {"dept_user": [{"userid": u, "department": d} for u, d in chunk], "next_cursor": next_cursor}
