"""Integration fixtures: a running local WeCom emulator (seed small), the console wired to it, raw HTTP to its API."""
import pytest
import requests

from app.core import settings
from app.wecom import connection
from scripts.wecom_emulator.testing import RunningEmulator


@pytest.fixture
def emulator():
    """A fresh emulator (seed "small") on a free port; see scripts/wecom_emulator/testing.py. Group details are
    current at once (group_detail_delay 0) unless a test sets the delay or holds them."""
    with RunningEmulator(seed="small", callback_retry_interval=0.0, group_detail_delay=0.0) as emu:
        yield emu


@pytest.fixture
def wired(app, emulator, live_server):
    """The console using the emulator as WeCom (API base and credentials), and the emulator calling it back."""
    app.config["WECOM_API_BASE"] = emulator.api_base
    settings.save({"wecom.corp_id": emulator.corp_id, "wecom.secret": emulator.secret,
                   "wecom.token": emulator.token, "wecom.aes_key": emulator.aes_key}, "test")
    connection.forget()
    emulator.control.config(callback_url=f"{live_server}/wecom/callback")
    yield emulator
    connection.forget()


class WeComHttp:
    """Calls /cgi-bin/ APIs with requests, as raw as WeCom sees them; returns (response, json)."""

    def __init__(self, emu: RunningEmulator):
        self.emu = emu
        self.token = emu.access_token()

    def get(self, path: str, **params):
        params.setdefault("access_token", self.token)
        resp = requests.get(self.emu.api_base + path, params=params, timeout=30)
        return resp, resp.json()

    def post(self, path: str, body: dict | None = None, **params):
        """POST a JSON body with no Content-Type header, exactly like wechatpy 1.8.18."""
        params.setdefault("access_token", self.token)
        data = requests.models.complexjson.dumps(body or {}, ensure_ascii=False).encode()
        resp = requests.post(self.emu.api_base + path, params=params, data=data, timeout=30)
        return resp, resp.json()

    def all_users(self) -> list[dict]:
        """Every member in the visible range, read as WeCom requires: department by department (no fetch_child)."""
        users = {}
        for dept in self.get("department/list")[1]["department"]:
            for user in self.get("user/list", department_id=dept["id"])[1]["userlist"]:
                users.setdefault(user["userid"], user)
        return list(users.values())


@pytest.fixture
def synced(app, emulator):
    """The console using the emulator as WeCom (no callbacks back), after one full sync."""
    app.config["WECOM_API_BASE"] = emulator.api_base
    settings.save({"wecom.corp_id": emulator.corp_id, "wecom.secret": emulator.secret}, "test")
    connection.forget()
    from app.contacts import sync

    sync.execute(sync.begin("test").id)
    yield emulator
    connection.forget()


@pytest.fixture
def wecom(emulator):
    """Raw HTTP access to the emulator's WeCom API with a valid access_token."""
    return WeComHttp(emulator)


class Receiver:
    """A tiny local callback receiver: records every request; answers ``status`` after ``delay`` s
    with ``body`` (or ``reply(request)`` when set)."""

    def __init__(self):
        import http.server
        import threading

        self.requests: list[dict] = []
        self.status, self.delay, self.body, self.reply = 200, 0.0, b"", None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                import time
                from urllib.parse import parse_qsl, urlsplit

                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = {"method": self.command, "path": parts.path,
                           "query": dict(parse_qsl(parts.query)), "body": self.rfile.read(length).decode()}
                receiver.requests.append(request)
                time.sleep(receiver.delay)
                body = receiver.reply(request) if receiver.reply else receiver.body
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the emulator gave up waiting and closed the connection
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/wecom/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def posts(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(emulator):
    """A callback receiver already configured as the emulator's callback URL."""
    rec = Receiver()
    emulator.control.config(callback_url=rec.url)
    yield rec
    rec.close()
