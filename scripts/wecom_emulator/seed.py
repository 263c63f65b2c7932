"""Deterministic seeds: ``none`` (root department only), ``small`` (tests) and ``demo`` (a believable company)."""
import hashlib
import random
import time

from .seed_data import (ADD_WAYS, CHANNEL_STATES, COMPANIES, DEPARTMENTS, DESCRIPTIONS, GIVEN,
                        GROUP_THEMES, NICKNAMES, POSITIONS, REMARK_SUFFIXES, SURNAMES, TAG_GROUPS)

SEEDS = ("none", "small", "demo")
PROFILES = {
    "small": {"departments": 3, "staff": 6, "customers": 300, "groups": 5, "ways": 4, "max_members": 30},
    "demo": {"departments": 8, "staff": 36, "customers": 20000, "groups": 150, "ways": 30, "max_members": 200},
}
TWO_YEARS = 2 * 365 * 86400
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def seed_company(company, seed: str, now: float | None = None) -> None:
    """Replace the company's data with the named seed (same ids and names on every run)."""
    if seed not in SEEDS:
        raise ValueError(f"seed must be one of {SEEDS}")
    with company.lock:
        company.clear()
        company.departments.append({"id": 1, "name": "演示企业", "name_en": "Demo Corp",
                                    "department_leader": [], "parentid": 0, "order": 100000000})
        if seed != "none":
            _Seeder(company, PROFILES[seed], random.Random(f"wecom-emulator/{seed}"),
                    int(now or time.time())).run()
        company.reindex()
        company.dirty = True


def make_id(rng: random.Random, prefix: str, length: int = 32) -> str:
    return prefix + "".join(rng.choices(ALPHABET, k=length - len(prefix)))


class _Seeder:
    def __init__(self, company, profile: dict, rng: random.Random, now: int):
        self.c, self.p, self.rng, self.now = company, profile, rng, now

    def run(self):
        self.departments()
        self.staff()
        self.tags()
        self.contact_ways()
        self.customers()
        self.groups()

    def person_name(self) -> tuple[str, str]:
        (sur, sur_py), (g1, g1_py) = self.rng.choice(SURNAMES), self.rng.choice(GIVEN)
        if self.rng.random() < 0.6:
            g2, g2_py = self.rng.choice(GIVEN)
            return sur + g1 + g2, sur_py + g1_py + g2_py
        return sur + g1, sur_py + g1_py

    def departments(self):
        for i, (name, name_en) in enumerate(DEPARTMENTS[:self.p["departments"]]):
            self.c.departments.append({"id": i + 2, "name": name, "name_en": name_en,
                                       "department_leader": [], "parentid": 1, "order": 1000 - i})

    def staff(self):
        depts = self.c.departments[1:]
        for i in range(self.p["staff"]):
            name, py = self.person_name()
            userid = py if py not in self.c.users else f"{py}{i}"
            dept = depts[i % len(depts)]
            leader = not dept["department_leader"]
            if leader:
                dept["department_leader"].append(userid)
            self.c.users[userid] = {
                "userid": userid, "name": name, "department": [dept["id"]], "order": [0],
                "position": "部门经理" if leader else self.rng.choice(POSITIONS),
                "is_leader_in_dept": [1 if leader else 0],
                "direct_leader": [] if leader else list(dept["department_leader"]),
                "telephone": "", "alias": "", "status": 1, "english_name": "",
                "open_userid": make_id(self.rng, "wo"), "main_department": dept["id"],
                "external_position": "",
            }
        # The last member has no customer-contact permission (e.g. an admin); all others do.
        self.c.follow_users.extend(list(self.c.users)[:-1])

    def tags(self):
        for gi, (group_name, names) in enumerate(TAG_GROUPS):
            created = self.now - TWO_YEARS + gi * 86400
            gid = make_id(self.rng, "et", 22)
            self.c.tag_groups[gid] = {
                "group_id": gid, "group_name": group_name, "create_time": created,
                "order": len(TAG_GROUPS) - gi,
                "tag": [{"id": make_id(self.rng, "et", 22), "name": n, "create_time": created,
                         "order": len(names) - ti} for ti, n in enumerate(names)]}

    def contact_ways(self):
        self.ways_by_user: dict[str, list] = {}
        for i in range(self.p["ways"]):
            userid = self.c.follow_users[i % len(self.c.follow_users)]
            state = CHANNEL_STATES[i % len(CHANNEL_STATES)] + ("" if i < len(CHANNEL_STATES) else f"_{i}")
            config_id = hashlib.md5(f"way{i}{self.rng.random()}".encode()).hexdigest()
            self.c.contact_ways[config_id] = {
                "config_id": config_id, "type": 1, "scene": 2, "remark": f"{state} 渠道码",
                "skip_verify": True, "state": state,
                "qr_code": f"https://wework.qpic.cn/wwpic/{config_id}/0", "user": [userid],
                "party": [], "is_temp": False, "expires_in": 0, "chat_expires_in": 0,
                "unionid": "", "conclusions": {},
                "create_time": self.now - self.rng.randint(0, 80 * 86400)}
            self.ways_by_user.setdefault(userid, []).append(state)

    def customers(self):
        rng, follow_users = self.rng, self.c.follow_users
        tag_groups = [g["tag"] for g in self.c.tag_groups.values()]
        ways, weights = zip(*ADD_WAYS)
        for _ in range(self.p["customers"]):
            ext = make_id(rng, "wm")
            name, _py = self.person_name()
            is_corp = rng.random() < 0.08
            contact = {"external_userid": ext, "name": name if rng.random() < 0.7 else rng.choice(NICKNAMES),
                       "type": 2 if is_corp else 1, "gender": rng.choice((0, 1, 1, 2, 2)),
                       "avatar": f"http://wx.qlogo.cn/mmhead/{ext[2:14]}/0"}
            if is_corp:
                corp, full = rng.choice(COMPANIES)
                contact.update(position=rng.choice(POSITIONS), corp_name=corp, corp_full_name=full)
            elif rng.random() < 0.9:
                contact["unionid"] = make_id(rng, "o", 28)
            self.c.customers[ext] = contact
            count = 1 if rng.random() >= 0.15 else rng.choice((2, 2, 2, 3))
            for userid in rng.sample(follow_users, min(count, len(follow_users))):
                add_way = rng.choices(ways, weights)[0]
                state = ""
                if add_way == 1 and userid in self.ways_by_user and rng.random() < 0.7:
                    state = rng.choice(self.ways_by_user[userid])
                tag_ids = [rng.choice(tags)["id"] for tags in tag_groups if rng.random() < 0.4]
                surname = contact["name"][0]
                self.c.add_relation(userid, ext, {
                    "userid": userid,
                    "remark": surname + rng.choice(REMARK_SUFFIXES) if rng.random() < 0.5 else "",
                    "description": rng.choice(DESCRIPTIONS) if rng.random() < 0.3 else "",
                    "createtime": self.now - rng.randint(3600, TWO_YEARS),
                    "tag_id": tag_ids, "remark_corp_name": "",
                    "remark_mobiles": [f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}"]
                    if rng.random() < 0.2 else [],
                    "oper_userid": ext if add_way in (1, 16) else userid,
                    "add_way": add_way, "state": state, "one_way": False})

    def groups(self):
        rng = self.rng
        for i in range(self.p["groups"]):
            owner = self.c.follow_users[i % len(self.c.follow_users)]
            chat_id = make_id(rng, "wr")
            created = self.now - rng.randint(86400, TWO_YEARS)
            members = [{"userid": owner, "type": 1, "join_time": created, "join_scene": 1,
                        "group_nickname": "", "name": self.c.users[owner]["name"]}]
            customers = list(self.c.relations.get(owner, {}))
            for ext in rng.sample(customers, min(len(customers), rng.randint(3, self.p["max_members"]))):
                scene = rng.choice((1, 1, 2, 3))
                member = {"userid": ext, "type": 2, "join_time": rng.randint(created, self.now),
                          "join_scene": scene, "group_nickname": "", "name": self.c.customers[ext]["name"]}
                if scene != 3:
                    member["invitor"] = {"userid": owner}
                if self.c.customers[ext].get("unionid"):
                    member["unionid"] = self.c.customers[ext]["unionid"]
                members.append(member)
            self.c.groups[chat_id] = {
                "chat_id": chat_id, "name": f"{rng.choice(GROUP_THEMES)}{i + 1}", "owner": owner,
                "create_time": created, "notice": "欢迎加入，群内定期发布会员福利。", "status": 0,
                "member_list": members, "admin_list": [], "member_version": ""}
            set_member_version(self.c.groups[chat_id])


def set_member_version(group: dict) -> None:
    """member_version changes whenever the member list changes (a digest of the member ids)."""
    ids = ",".join(m["userid"] for m in group["member_list"])
    group["member_version"] = hashlib.md5(ids.encode()).hexdigest()
