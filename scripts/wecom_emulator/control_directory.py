"""Control endpoints for the directory: the whole staff list as WeCom holds it, added members, the visible range."""
import random

from flask import Blueprint, current_app, jsonify, request

from .seed import make_id

bp = Blueprint("emulator_directory", __name__, url_prefix="/_emulator/users")


@bp.errorhandler(ValueError)
def _bad_request(exc):
    return jsonify(error=str(exc)), 400


def _company():
    return current_app.extensions["wecom_emulator"].company


@bp.get("")
def users():
    """Every member, in the visible range or not, with whether they are a follow user (the truth tests compare to)."""
    company = _company()
    with company.lock:
        follow = set(company.follow_users)
        return jsonify(users=[{"userid": u["userid"], "name": u["name"], "department": u["department"],
                               "outside_range": bool(u.get("outside_range")), "follow_user": u["userid"] in follow}
                              for u in company.users.values()])


@bp.post("")
def add_users():
    """Add `count` members to `department_id` (default the root), follow users unless `follow_user` is false."""
    data = request.get_json(force=True, silent=True) or {}
    count, department = data.get("count", 1), data.get("department_id", 1)
    if not isinstance(count, int) or not 1 <= count <= 100_000:
        raise ValueError("count must be 1..100000")
    company = _company()
    with company.lock:
        if department not in {d["id"] for d in company.departments}:
            raise ValueError(f"unknown department {department}")
        added = []
        for i in range(count):
            userid = f"extra{len(company.users) + i:06d}"
            company.users[userid] = {
                "userid": userid, "name": f"员工{userid[-6:]}", "department": [department], "order": [0],
                "position": "", "is_leader_in_dept": [0], "direct_leader": [], "telephone": "", "alias": "",
                "status": 1, "english_name": "", "open_userid": make_id(random.Random(userid), "wo"),
                "main_department": department, "external_position": ""}
            if data.get("follow_user", True):
                company.follow_users.append(userid)
            added.append(userid)
        company.dirty = True
    return jsonify(added=added)


@bp.post("/<userid>/range")
def set_range(userid):
    """Put a member outside the app's visible range (`{"outside": true}`) or back inside it."""
    data = request.get_json(force=True, silent=True) or {}
    company = _company()
    with company.lock:
        user = company.users.get(userid)
        if user is None:
            raise ValueError(f"unknown userid {userid}")
        user["outside_range"] = bool(data.get("outside", True))
        company.dirty = True
    return jsonify(userid=userid, outside_range=user["outside_range"])
