"""The in-memory company (directory, customers, tags, contact ways, groups, mass messages), its lock and JSON persistence."""
import json
import os
import threading
from collections import Counter, deque

# Attributes written to the --state file; everything else (logs, indexes) is rebuilt or starts empty.
PERSISTED = ("departments", "users", "follow_users", "customers", "relations", "tag_groups",
             "contact_ways", "groups", "group_msgs", "receives", "welcome_codes", "tokens")
LOG_KINDS = ("welcomes", "tag_marks", "remarks", "calls")
LOG_LIMIT = 20000


class Company:
    """All WeCom-side data of one corp. Callers hold ``lock`` while reading or changing it."""

    def __init__(self):
        self.lock = threading.RLock()
        self.dirty = False
        self.clear()

    def clear(self):
        self.departments: list[dict] = []
        self.users: dict[str, dict] = {}
        self.follow_users: list[str] = []          # members with customer-contact permission
        self.customers: dict[str, dict] = {}       # external_userid -> external_contact
        self.relations: dict[str, dict] = {}       # userid -> {external_userid -> follow info}
        self.tag_groups: dict[str, dict] = {}      # group_id -> group with its "tag" list
        self.contact_ways: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}          # chat_id -> group chat
        self.group_msgs: dict[str, dict] = {}      # msgid -> mass message with tasks and results
        self.receives: dict[str, list] = {}        # external_userid / chat_id -> receive timestamps
        self.welcome_codes: dict[str, dict] = {}
        self.tokens: dict[str, float] = {}         # access_token -> expiry (epoch seconds)
        self.logs = {kind: deque(maxlen=LOG_LIMIT) for kind in LOG_KINDS}
        self.call_counts: Counter = Counter()      # (api, errcode) -> calls
        self.reindex()

    def reindex(self):
        """Rebuild the derived indexes (customer -> followers, tag -> group)."""
        self.followers: dict[str, list] = {}
        for userid, rels in self.relations.items():
            for ext in rels:
                self.followers.setdefault(ext, []).append(userid)
        self.tag_index = {t["id"]: gid for gid, g in self.tag_groups.items() for t in g["tag"]}

    # -- customers and relations ------------------------------------------------------------
    def relation(self, userid: str, external_userid: str) -> dict | None:
        return self.relations.get(userid, {}).get(external_userid)

    def add_relation(self, userid: str, external_userid: str, follow: dict) -> None:
        rels = self.relations.setdefault(userid, {})
        if external_userid not in rels:
            self.followers.setdefault(external_userid, []).append(userid)
        rels[external_userid] = follow

    def remove_relation(self, userid: str, external_userid: str) -> None:
        self.relations.get(userid, {}).pop(external_userid, None)
        users = self.followers.get(external_userid, [])
        if userid in users:
            users.remove(userid)

    # -- tags -------------------------------------------------------------------------------
    def find_tag(self, tag_id: str) -> tuple[dict, dict] | None:
        gid = self.tag_index.get(tag_id)
        if gid is None:
            return None
        group = self.tag_groups[gid]
        return group, next(t for t in group["tag"] if t["id"] == tag_id)

    def tag_count(self) -> int:
        return len(self.tag_index)

    # -- logs -------------------------------------------------------------------------------
    def log(self, kind: str, entry: dict) -> None:
        self.logs[kind].append(entry)

    # -- persistence ------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in PERSISTED}

    def load_json(self, data: dict) -> None:
        self.clear()
        for name in PERSISTED:
            setattr(self, name, data[name])
        self.reindex()

    def save(self, path: str) -> None:
        """Write the company atomically (temp file + rename) and clear the dirty flag."""
        with self.lock:
            text = json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))
            self.dirty = False
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)

    def load(self, path: str) -> None:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        with self.lock:
            self.load_json(data)
            self.dirty = False
