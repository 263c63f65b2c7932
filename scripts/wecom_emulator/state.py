"""The in-memory company (directory, customers, tags, contact ways, groups, mass messages), its lock and JSON persistence."""
import json
import os
import threading
from collections import Counter, deque

# Attributes written to the --state file; everything else (logs, indexes) is rebuilt or starts empty.
PERSISTED = ("departments", "users", "follow_users", "customers", "relations", "tag_groups",
             "contact_ways", "join_ways", "group_welcome_templates", "groups", "group_msgs", "receives",
             "welcome_codes", "tokens", "media", "uploadimg_times", "resigned", "transfers", "group_transfers")
LOG_KINDS = ("welcomes", "tag_marks", "remarks", "calls", "behavior_queries", "group_stat_queries")
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
        self.join_ways: dict[str, dict] = {}       # config_id -> 「加入群聊」 (群活码) config
        self.group_welcome_templates: dict[str, dict] = {}  # template_id -> 入群欢迎语素材
        self.groups: dict[str, dict] = {}          # chat_id -> group chat
        self.group_msgs: dict[str, dict] = {}      # msgid -> mass message with tasks and results
        self.receives: dict[str, list] = {}        # external_userid / chat_id -> receive timestamps
        self.welcome_codes: dict[str, dict] = {}
        self.tokens: dict[str, float] = {}         # access_token -> expiry (epoch seconds)
        self.media: dict[str, dict] = {}           # media_id -> {"type", "created_at" (emulator clock), "name", "size"}
        self.uploadimg_times: list[float] = []     # media/uploadimg calls this month (emulator clock)
        self.app_messages: dict[str, list] = {}     # userid -> app messages received (message/send, emulator clock)
        self.app_message_drops: list[dict] = []    # app messages WeCom dropped silently (limits, duplicates)
        self.resigned: dict[str, dict] = {}        # userid -> {"userid", "name", "dimission_time"} (left the corp)
        self.transfers: list[dict] = []            # customer handovers (transfers.py), oldest first
        self.group_transfers: list[dict] = []      # group owner changes by API: {"chat_id", "from", "to", "kind", "at"}
        self.held_groups: dict[str, dict] = {}     # chat_id -> {"group": old details, "until": epoch or None}
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

    # -- customer groups --------------------------------------------------------------------
    def hold_group(self, old: dict, until: float | None) -> None:
        """Keep answering ``old`` (the group's details from before a change) until ``until`` (None: until
        released): WeCom processes some group changes asynchronously. A further change extends the hold and keeps
        the details from before the first change (the harder case for a client)."""
        held = self.held_groups.get(old["chat_id"])
        self.held_groups[old["chat_id"]] = {"group": held["group"] if held else old, "until": until}

    def group_details(self, chat_id: str, now: float) -> dict | None:
        """The group as groupchat/get sees it at ``now``: its held old details while the hold lasts."""
        held = self.held_groups.get(chat_id)
        if held and (held["until"] is None or now < held["until"]):
            return held["group"]
        self.held_groups.pop(chat_id, None)
        return self.groups.get(chat_id)

    def release_groups(self, chat_id: str | None = None) -> list[str]:
        """End the holds (of one group or all): groupchat/get shows the changes at once; the chat_ids released."""
        released = [c for c in self.held_groups if chat_id in (None, c)]
        for c in released:
            del self.held_groups[c]
        return released

    def configs_in_quota(self) -> int:
        """API-made configs counted in the corp's 500,000 quota: 联系我 (not temporary) and 加入群聊 together (§4, §13)."""
        return sum(not w["is_temp"] for w in self.contact_ways.values()) + len(self.join_ways)

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
            if name in data:  # state files from before an attribute existed keep its empty default
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
