"""Emulator settings: the company's credentials plus the knobs changeable at runtime."""
from dataclasses import asdict, dataclass, fields

DEFAULT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
RECEIVE_RULES = ("month", "week", "day")


@dataclass
class Settings:
    corp_id: str = "wwdemo0000000001"
    secret: str = "demo-secret"
    token: str = "demo-token"
    aes_key: str = DEFAULT_AES_KEY
    agent_id: str = "1000002"
    callback_url: str = "http://127.0.0.1:5000/wecom/callback"
    token_ttl: int = 7200                 # seconds an access_token lives
    welcome_window: float = 20.0          # seconds a WelcomeCode stays usable
    receive_rule: str = "month"           # per-customer/per-group mass-message receive quota
    callback_timeout: float = 5.0         # WeCom waits 5 s for HTTP 200 ...
    callback_attempts: int = 3            # ... and tries 3 times in total
    callback_retry_interval: float = 1.0  # pause between attempts after a quick non-200 answer
    duplicate_delivery: bool = False      # deliver every event twice, as WeCom retries sometimes do
    auto_confirm_seconds: float | None = None  # staff confirm mass-send tasks after this delay
    gettoken_block_threshold: int = 2000  # bad-credential gettokens per IP per hour before the 1-hour block (§1)
    # groupchat/get answers a group's old details this long after a member change or rename (wecom-api.md §5:
    # "可能需要等一段时间(例如2秒)"); None holds them until POST /_emulator/groupchat/release.
    group_detail_delay: float | None = 2.0
    # Members a customer group holds before a join code (群活码) passes it by. §8 gives no capacity; UNCONFIRMED, the
    # harder reading for a client: 200 (the figure at which WeCom stops joins by QR code; 500 is the invitation
    # limit), so codes move on to the next group, or open one, sooner.
    group_capacity: int = 200
    rate_limits: bool = True              # enforce WeCom's per-API frequency limits (45009), see ratelimits.py
    rate_per_minute: int = 10_000         # calls of one API per corp in any minute ...
    rate_per_hour: int = 150_000          # ... and in any hour
    # API-made contact ways (and join ways) a corp may hold (wecom-api.md §4: 500,000, 41045 past it); settable so
    # tests can fill it. A deleted way frees its place (UNCONFIRMED; the doc counts configs, and deleting is how
    # an SCRM keeps under the quota).
    contact_way_quota: int = 500_000
    transfer_delay: float = 86400.0       # a customer handover completes 24 h after the call (emulator clock, §11)
    member_customer_limit: int = 50_000   # customers a takeover member may have; beyond: transfer status 4

    # Fields the /_emulator/config endpoint may change while running.
    RUNTIME = ("callback_url", "token_ttl", "welcome_window", "receive_rule", "callback_timeout",
               "callback_attempts", "callback_retry_interval", "duplicate_delivery",
               "auto_confirm_seconds", "gettoken_block_threshold", "group_detail_delay", "group_capacity", "rate_limits",
               "rate_per_minute", "rate_per_hour", "contact_way_quota", "transfer_delay", "member_customer_limit")

    def __post_init__(self):
        self.validate()

    def validate(self):
        if len(self.aes_key) != 43 or not self.aes_key.isalnum():
            raise ValueError("aes_key must be 43 characters from [a-zA-Z0-9]")
        if self.receive_rule not in RECEIVE_RULES:
            raise ValueError(f"receive_rule must be one of {RECEIVE_RULES}")
        if self.token_ttl <= 0 or self.welcome_window < 0 or self.callback_timeout <= 0:
            raise ValueError("token_ttl and callback_timeout must be > 0, welcome_window >= 0")
        if self.group_detail_delay is not None and self.group_detail_delay < 0:
            raise ValueError("group_detail_delay must be >= 0 seconds, or null (held until released)")
        if not 1 <= self.callback_attempts <= 10:
            raise ValueError("callback_attempts must be 1..10")
        if self.group_capacity < 2:
            raise ValueError("group_capacity must be >= 2 (the owner and one more)")
        if self.gettoken_block_threshold < 1:
            raise ValueError("gettoken_block_threshold must be >= 1")
        if self.transfer_delay < 0 or self.member_customer_limit < 0:
            raise ValueError("transfer_delay and member_customer_limit must be >= 0")
        if not self.secret:
            raise ValueError("secret must not be empty")
        if self.contact_way_quota < 0:
            raise ValueError("contact_way_quota must be >= 0")
        if self.rate_per_minute < 1 or self.rate_per_hour < 1:
            raise ValueError("rate_per_minute and rate_per_hour must be >= 1 (turn limits off with rate_limits)")

    def update(self, changes: dict) -> None:
        """Apply runtime changes all-or-nothing; unknown or fixed fields raise ValueError."""
        unknown = set(changes) - set(self.RUNTIME)
        if unknown:
            raise ValueError(f"not changeable at runtime: {sorted(unknown)}")
        types = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if not _fits(types[name], value):
                raise ValueError(f"{name}: {value!r} has the wrong type")
        try:
            candidate = Settings(**{**asdict(self), **changes})
        except TypeError as exc:
            raise ValueError(str(exc)) from exc
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def to_dict(self) -> dict:
        return asdict(self)


def _fits(kind, value) -> bool:
    if value is None:
        return kind == (float | None)
    if isinstance(value, bool):
        return kind is bool
    if kind is str:
        return isinstance(value, str)
    if kind is int:
        return isinstance(value, int)
    return kind in (float, float | None) and isinstance(value, (int, float))
