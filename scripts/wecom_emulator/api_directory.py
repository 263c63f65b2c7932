"""Departments and members: department/list, user/list, user/simplelist."""
from .apicore import ApiError, api

# Fields a self-built app still receives since 2022-06-20 (no avatar, gender, mobile, email,
# biz_mail, qr_code or address), so the client cannot come to depend on them.
USER_FIELDS = ("userid", "name", "department", "order", "position", "is_leader_in_dept",
               "direct_leader", "telephone", "alias", "status", "english_name", "open_userid",
               "main_department", "external_position")


def _department_ids(company, root: int, with_children: bool) -> set[int]:
    ids = {d["id"] for d in company.departments}
    if root not in ids:
        raise ApiError(60123, f"department {root} not found")
    found, todo = {root}, [root]
    while with_children and todo:
        parent = todo.pop()
        for dept in company.departments:
            if dept["parentid"] == parent and dept["id"] not in found:
                found.add(dept["id"])
                todo.append(dept["id"])
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
    company = call.company
    wanted = _department_ids(company, root if root is not None else 1, True)
    return {"department": [dict(d) for d in company.departments if d["id"] in wanted]}


def _members(call) -> list[dict]:
    dept = _department_arg(call, "department_id", required=True)
    wanted = _department_ids(call.company, dept, call.args.get("fetch_child") == "1")
    return [u for u in call.company.users.values() if wanted & set(u["department"])]


@api("user/list", "GET")
def user_list(call):
    return {"userlist": [{k: u[k] for k in USER_FIELDS if k in u} for u in _members(call)]}


@api("user/simplelist", "GET")
def user_simplelist(call):
    return {"userlist": [{k: u[k] for k in ("userid", "name", "department", "open_userid")}
                         for u in _members(call)]}
