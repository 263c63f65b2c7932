"""Run the emulator inside a test: ``RunningEmulator`` (background thread, free port) and its control client.

    from scripts.wecom_emulator.testing import RunningEmulator

    with RunningEmulator(seed="small", welcome_window=2) as emu:   # options = Settings fields
        emu.base_url    # "http://127.0.0.1:PORT"
        emu.api_base    # "http://127.0.0.1:PORT/cgi-bin/"  (set as wechatpy's API_BASE_URL)
        emu.corp_id, emu.secret, emu.token, emu.aes_key, emu.agent_id
        emu.access_token()                      # a fresh token from gettoken
        emu.control.config(callback_url=url)    # any /_emulator/ endpoint:
        emu.control.post("simulate/add_customer", userid="...", state="...")
        emu.control.get("welcomes")

Options are the fields of ``settings.Settings`` (callback_url, token_ttl, welcome_window,
receive_rule, callback_timeout, callback_attempts, callback_retry_interval, duplicate_delivery,
auto_confirm_seconds, gettoken_block_threshold, group_detail_delay, rate_limits, rate_per_minute, rate_per_hour,
corp_id, secret, token, aes_key, agent_id); ``state_file`` persists. ``emu.control.reset_secret()`` simulates the
admin resetting the Secret in WeCom; ``emu.control.advance_clock(s)`` moves the frequency-limit windows forward
and ages uploaded media (a media_id lives 3 days) and the uploadimg quotas.
``emu.emulator`` is the in-process ``server.Emulator`` for white-box needs (prefer HTTP).
"""
import secrets
import string
import threading
import time

import requests

from .server import Emulator, make_wsgi_server
from .settings import Settings


def thread_session(local: threading.local) -> requests.Session:
    """This thread's HTTP session kept in ``local`` (connections stay open between calls). The emulator is
    local: no proxy settings or .netrc lookups on every call."""
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
        session.trust_env = False
    return session


class ControlError(AssertionError):
    """A control endpoint answered with an error."""


class ControlClient:
    """Thin requests client for /_emulator/ endpoints; every method returns the decoded JSON."""

    def __init__(self, base_url: str):
        self.base = base_url + "/_emulator/"
        self._local = threading.local()  # a session per thread: benchmarks call from a pool

    def _call(self, method: str, path: str, payload=None, params=None):
        resp = thread_session(self._local).request(method, self.base + path, json=payload, params=params, timeout=30)
        if resp.status_code != 200:
            raise ControlError(f"{method} /_emulator/{path} -> {resp.status_code}: {resp.text}")
        return resp.json()

    def get(self, path: str, **params):
        return self._call("GET", path, params=params)

    def post(self, path: str, **payload):
        return self._call("POST", path, payload)

    def delete(self, path: str):
        return self._call("DELETE", path)

    # shortcuts for the common ones
    def config(self, **changes) -> dict:
        return self.post("config", **changes) if changes else self.get("config")

    def reset(self, seed: str = "small") -> dict:
        return self.post("reset", seed=seed)

    def add_customer(self, **options) -> dict:
        return self.post("simulate/add_customer", **options)

    def confirm(self, msgid: str, userid: str | None = None, send: bool = True) -> dict:
        """Staff confirm (and, unless ``send`` is False, send: task status 2 rather than 1)."""
        return self.post("groupmsg/confirm", msgid=msgid, send=send, **({"userid": userid} if userid else {}))

    def set_fault(self, spec: dict) -> dict:
        """Add a fault rule: {"api": path or "*", "error_rate", "errcodes", "fail_next", "fail_code", "latency_ms", "seed"}."""
        return self.post("faults", **spec)

    def fault(self, **spec) -> dict:
        return self.set_fault(spec)

    def clear_faults(self) -> dict:
        return self.delete("faults")

    def users(self) -> list[dict]:
        """Every member as WeCom holds it, visible to the app or not: userid, name, department, outside_range,
        follow_user."""
        return self.get("users")["users"]

    def app_messages(self, userid: str | None = None) -> dict:
        """{"received": {userid: [message]}, "dropped": [message with userid and reason]} of message/send."""
        return self.get("app_messages", **({"userid": userid} if userid else {}))

    def advance_clock(self, seconds: float) -> dict:
        """Move the emulator's clock forward (frequency-limit windows, media_id ages, uploadimg quotas): no waiting."""
        return self.post("clock", advance=seconds)

    def invalidate_tokens(self) -> dict:
        return self.post("tokens/invalidate")

    def reset_secret(self, secret: str | None = None) -> str:
        """The admin resets the app's Secret in WeCom (old tokens are revoked); returns the new secret."""
        return self.post("secret", **({"secret": secret} if secret else {}))["secret"]

    def gettoken_blocks(self) -> dict:
        """{"blocked": {ip: seconds left}, "refusals": {ip: bad-credential gettokens in the last hour}}."""
        return self.get("gettoken_blocks")

    def lift_gettoken_blocks(self) -> int:
        return self.delete("gettoken_blocks")["lifted"]

    def call_count(self, api: str, errcode: int | None = None) -> int:
        """How many calls of ``api`` the emulator answered (optionally only with ``errcode``)."""
        return sum(c["count"] for c in self.get("calls", recent=0)["counts"]
                   if c["api"] == api and errcode in (None, c["errcode"]))

    def verify_url(self, url: str | None = None) -> dict:
        return self.post("verify_url", **({"url": url} if url else {}))

    def verify_url_request(self) -> dict:
        return self.get("verify_url_request")

    def deliveries(self, since_id: int = 0) -> list:
        return self.get("deliveries", since_id=since_id)["deliveries"]

    def wait_deliveries(self, count: int, timeout: float = 10, done: bool = True) -> list:
        """Wait until ``count`` delivery records exist (and, if ``done``, none is pending)."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.deliveries()
            finished = all(r["status"] != "pending" for r in records) or not done
            if len(records) >= count and finished:
                return records
            if time.monotonic() > deadline:
                raise ControlError(f"expected {count} deliveries, have {records}")
            time.sleep(0.02)


class RunningEmulator:
    def __init__(self, seed: str = "small", state_file: str | None = None, **options):
        if state_file is None:
            # Each emulator is another company: a client's token cached for an earlier emulator that had the same
            # port is never offered to this one (it would answer 40014 and cost an extra call), and a console
            # running on this machine (the demo) never takes its callbacks for WeCom's. Callbacks go nowhere (the
            # closed port 9) until the test says where.
            options.setdefault("secret", f"test-secret-{secrets.token_hex(8)}")
            options.setdefault("token", f"test-token-{secrets.token_hex(8)}")
            options.setdefault("aes_key", "".join(secrets.choice(string.ascii_letters + string.digits)
                                                  for _ in range(43)))
            options.setdefault("callback_url", "http://127.0.0.1:9/wecom/callback")
        self.settings = Settings(**options)
        self.seed, self.state_file = seed, state_file
        self.emulator: Emulator | None = None
        self._server = self._thread = None

    def start(self) -> "RunningEmulator":
        self.emulator = Emulator(self.settings, seed=self.seed, state_file=self.state_file)
        self._server = make_wsgi_server(self.emulator, "127.0.0.1", 0, quiet=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self.api_base = self.base_url + "/cgi-bin/"
        self.control = ControlClient(self.base_url)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="wecom-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self.emulator.close()
            self._server = None

    def __enter__(self) -> "RunningEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    corp_id = property(lambda self: self.settings.corp_id)
    secret = property(lambda self: self.settings.secret)
    token = property(lambda self: self.settings.token)
    aes_key = property(lambda self: self.settings.aes_key)
    agent_id = property(lambda self: self.settings.agent_id)

    def access_token(self) -> str:
        resp = requests.get(self.api_base + "gettoken",
                            params={"corpid": self.corp_id, "corpsecret": self.secret}, timeout=10)
        return resp.json()["access_token"]
