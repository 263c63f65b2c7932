"""The Emulator object (settings, company, faults, frequency limits, callbacks, timers) and its Flask app factory."""
import os
import threading
import time

from flask import Flask, request

from . import (api_auth, api_contact_way, api_contacts, api_directory, api_groupchat,  # noqa: F401
               api_group_welcome, api_groupmsg, api_join_way, api_media, api_message, api_stats, api_tags,
               api_welcome, transfers)  # (register routes)
from .apicore import dispatch
from .callbacks import Deliverer
from .control import bp as control_bp
from .control_directory import bp as directory_bp
from .faults import Faults
from .ipblock import GettokenBlocks
from .ratelimits import Clock, RateLimits
from .seed import seed_company
from .settings import Settings
from .state import Company
from .wsgi_server import make_server


class Emulator:
    def __init__(self, settings: Settings | None = None, seed: str = "small", state_file: str | None = None):
        self.settings = settings or Settings()
        self.company = Company()
        self.faults = Faults()
        self.gettoken_blocks = GettokenBlocks()
        self.clock = Clock()  # moved forward by tests; drives frequency-limit windows, media_id ages, uploadimg quotas
        self.rate_limits = RateLimits(self.settings, self.clock)
        self.deliverer = Deliverer(self.settings)
        self.state_file = state_file
        self._timers: set[threading.Timer] = set()
        self._stopping = threading.Event()
        if state_file and os.path.exists(state_file):
            self.company.load(state_file)
        else:
            seed_company(self.company, seed)
        self.app = create_app(self)

    def record_call(self, path: str, method: str, errcode: int, seconds: float) -> None:
        with self.company.lock:
            self.company.call_counts[(path, errcode)] += 1
            self.company.log("calls", {"time": time.time(), "api": path, "method": method,
                                       "errcode": errcode, "ms": round(seconds * 1000, 1)})

    def settle_transfers(self) -> None:
        """Complete the customer handovers due by the emulator's clock and send their events (transfers.py)."""
        for xml, summary in transfers.settle(self):
            self.deliverer.emit(xml, summary)

    def later(self, delay: float, fn, *args) -> None:
        """Run ``fn(*args)`` after ``delay`` seconds on a daemon timer (cancelled on close)."""
        def run():
            self._timers.discard(timer)
            fn(*args)
        timer = threading.Timer(delay, run)
        timer.daemon = True
        self._timers.add(timer)
        timer.start()

    def save(self) -> bool:
        if not self.state_file:
            return False
        self.company.save(self.state_file)
        return True

    def autosave(self, interval: float) -> None:
        """Save the state file every ``interval`` seconds while there are unsaved changes."""
        def loop():
            while not self._stopping.wait(interval):
                if self.company.dirty:
                    self.save()
        threading.Thread(target=loop, name="wecom-autosave", daemon=True).start()

    def close(self) -> None:
        self._stopping.set()
        for timer in list(self._timers):
            timer.cancel()
        self.deliverer.shutdown()


def create_app(emu: Emulator) -> Flask:
    app = Flask("wecom_emulator")
    app.extensions["wecom_emulator"] = emu

    @app.route("/cgi-bin/<path:path>", methods=["GET", "POST"])
    def cgi(path):
        return dispatch(emu, path)

    @app.teardown_request
    def drain(_exc):
        """Read what a handler left of the request body: the connection stays open for the next request."""
        while request.stream.read(65536):
            pass

    app.register_blueprint(control_bp)
    app.register_blueprint(directory_bp)
    return app


def make_wsgi_server(emu: Emulator, host: str, port: int, quiet: bool = False):
    """A threaded server for the emulator with kept-alive connections (port 0 picks a free port)."""
    return make_server(host, port, emu.app, quiet=quiet)
