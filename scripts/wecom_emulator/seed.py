"""Deterministic seeds: ``none`` (root department only), ``small`` (tests), ``demo`` (a believable company) and
``large`` (2,000 staff in a four-level tree, 200,000 customers, 1,000 groups: a real corp's size for benchmarks)."""
import hashlib
import random
import time

from .seed_data import (ADD_WAYS, CHANNEL_STATES, COMPANIES, DEPARTMENTS, DESCRIPTIONS, GIVEN,
                        GROUP_THEMES, NICKNAMES, POSITIONS, REMARK_SUFFIXES, SURNAMES, TAG_GROUPS)

SEEDS = ("none", "small", "demo", "large")
# `nested`: how many of the last departments hang below the department before them instead of below the root, so
# that a client must walk the tree to find their staff. `tree`: branching per level below the root (large only).
PROFILES = {
    "small": {"departments": 3, "nested": 1, "staff": 6, "customers": 300, "groups": 5, "ways": 4,
              "max_members": 30},
    "demo": {"departments": 8, "nested": 2, "staff": 36, "customers": 20000, "groups": 150, "ways": 30,
             "max_members": 200},
    "large": {"tree": (8, 4, 4), "root_staff": 6, "outside_range": 3, "staff": 2000, "customers": 200000,
              "groups": 1000, "ways": 120, "max_members": 200},
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
        if "tree" in self.p:
            self._tree(1, list(self.p["tree"]), "")
            return
        count, nested = self.p["departments"], self.p["nested"]
        for i, (name, name_en) in enumerate(DEPARTMENTS[:count]):
            parent = i + 1 if i >= count - nested else 1
            self.c.departments.append({"id": i + 2, "name": name, "name_en": name_en,
                                       "department_leader": [], "parentid": parent, "order": 1000 - i})

    def _tree(self, parent: int, branching: list[int], prefix: str):
        """Departments below `parent`, depth first: divisions, regions, teams (ids in creation order)."""
        if not branching:
            return
        for i in range(branching[0]):
            if parent == 1:
                name, name_en = DEPARTMENTS[i % len(DEPARTMENTS)]
            else:
                name, name_en = f"{prefix}{i + 1}{'区' if len(branching) > 1 else '组'}", f"{prefix} {i + 1}"
            dept_id = len(self.c.departments) + 1
            self.c.departments.append({"id": dept_id, "name": name, "name_en": name_en, "department_leader": [],
                                       "parentid": parent, "order": 1000 - i})
            self._tree(dept_id, branching[1:], name)

    def _staff_departments(self) -> list[dict]:
        """The department of each member in turn: a few in the root, the rest spread over the leaves of the tree."""
        depts = self.c.departments[1:]
        parents = {d["parentid"] for d in depts}
        leaves = [d for d in depts if d["id"] not in parents] if "tree" in self.p else depts
        root_staff = self.p.get("root_staff", 0)
        return [self.c.departments[0] if i < root_staff else leaves[(i - root_staff) % len(leaves)]
                for i in range(self.p["staff"])]

    def staff(self):
        for i, dept in enumerate(self._staff_departments()):
            name, py = self.person_name()
            userid = py if py not in self.c.users else f"{py}{i}"
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
        if "tree" in self.p:
            self._second_departments()
        # The last member has no customer-contact permission (e.g. an admin); all others do.
        self.c.follow_users.extend(list(self.c.users)[:-1])
        # Follow users the app's visible range leaves out: their customers are only reachable by their userid.
        for userid in self.c.follow_users[-1 - self.p.get("outside_range", 0):-1]:
            self.c.users[userid]["outside_range"] = True

    def _second_departments(self):
        """Every 40th member also belongs to a second team, so a walk of the tree meets them twice."""
        leaves = [d["id"] for d in self.c.departments if d["id"] not in {p["parentid"] for p in self.c.departments}]
        for i, user in enumerate(self.c.users.values()):
            if i % 40 == 39 and user["department"][0] != 1:
                other = leaves[(leaves.index(user["department"][0]) + 7) % len(leaves)]
                user["department"].append(other)
                user["order"].append(0)
                user["is_leader_in_dept"].append(0)

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
