"""Callback delivery to the product: encrypted POSTs from a small thread pool over kept-alive connections, 5 s / 3 tries,
every attempt recorded; URL verification."""
import secrets
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import requests

from .crypto import encrypt, signature

WORKERS = 16          # a burst of 50 adds/s to a healthy receiver is delivered within a second
RECORD_LIMIT = 20000  # a 60 s burst of 50 adds/s delivered twice is 6,000 records


def thread_session(local: threading.local) -> requests.Session:
    """This thread's HTTP session kept in ``local`` (connections stay open between requests). Local traffic:
    no proxy settings or .netrc lookups on every request."""
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
        session.trust_env = False
    return session


def _signed(settings, plaintext: str) -> tuple[str, dict]:
    """Encrypt ``plaintext`` and return (encrypted, query params with a fresh timestamp/nonce)."""
    enc = encrypt(settings.aes_key, plaintext, settings.corp_id)
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    sig = signature(settings.token, timestamp, nonce, enc)
    return enc, {"msg_signature": sig, "timestamp": timestamp, "nonce": nonce}


class Deliverer:
    def __init__(self, settings):
        self.settings = settings
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="wecom-callback")
        self._lock = threading.Lock()
        self._records: deque = deque(maxlen=RECORD_LIMIT)
        self._next_id = 1
        self._local = threading.local()  # one HTTP session (kept-alive connections) per delivery thread

    def emit(self, xml: str, summary: dict, *, duplicate: bool = False, on_first_attempt=None) -> list[dict]:
        """Queue one event (twice when duplicated); returns the delivery records (updated in place)."""
        copies = 2 if duplicate or self.settings.duplicate_delivery else 1
        records = []
        with self._lock:
            for copy in range(1, copies + 1):
                records.append({"id": self._next_id, "copy": copy, "event": summary, "xml": xml,
                                "created_at": time.time(), "first_attempt_at": None,
                                "status": "pending", "attempts": []})
                self._next_id += 1
            self._records.extend(records)
        self._pool.submit(self._deliver, records, on_first_attempt)
        return records

    def records(self, since_id: int = 0) -> list[dict]:
        with self._lock:
            return [dict(r, attempts=list(r["attempts"])) for r in self._records if r["id"] > since_id]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, records: list[dict], on_first_attempt) -> None:
        for record in records:
            self._deliver_one(record, on_first_attempt if record["copy"] == 1 else None)

    def _deliver_one(self, record: dict, on_first_attempt) -> None:
        settings = self.settings
        attempts = settings.callback_attempts
        for number in range(1, attempts + 1):
            enc, params = _signed(settings, record["xml"])
            body = (f"<xml><ToUserName><![CDATA[{settings.corp_id}]]></ToUserName>"
                    f"<AgentID><![CDATA[{settings.agent_id}]]></AgentID>"
                    f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>")
            started = time.time()
            if record["first_attempt_at"] is None:
                record["first_attempt_at"] = started
                if on_first_attempt:
                    on_first_attempt(started)
            attempt = {"attempt": number, "at": started, "url": settings.callback_url}
            try:
                resp = thread_session(self._local).post(settings.callback_url, params=params, data=body.encode(),
                                                        headers={"Content-Type": "text/xml"},
                                                        timeout=settings.callback_timeout)
                attempt["http_status"] = resp.status_code
            except requests.RequestException as exc:
                attempt["http_status"], attempt["error"] = None, type(exc).__name__
            attempt["elapsed_ms"] = round((time.time() - started) * 1000, 1)
            with self._lock:
                record["attempts"].append(attempt)
            if attempt["http_status"] == 200:
                record["status"] = "delivered"
                return
            if number < attempts:
                time.sleep(settings.callback_retry_interval)
        record["status"] = "failed"


def verification_request(settings) -> dict:
    """The query of WeCom's GET URL verification (echostr encrypted and signed) plus ``plain``."""
    plain = str(secrets.randbelow(10**18))
    enc, params = _signed(settings, plain)
    return {**params, "echostr": enc, "plain": plain}


def verify_url(settings, url: str | None = None) -> dict:
    """WeCom's GET URL verification: the reply must be the echostr plaintext, within 1 s."""
    url = url or settings.callback_url
    query = verification_request(settings)
    expected = query.pop("plain")
    started = time.time()
    result = {"url": url, "expected": expected}
    try:
        resp = requests.get(url, params=query, timeout=5)
        result.update(http_status=resp.status_code, body=resp.text[:200])
        matches = resp.status_code == 200 and resp.content == expected.encode()
    except requests.RequestException as exc:
        result.update(http_status=None, error=type(exc).__name__)
        matches = False
    elapsed = time.time() - started
    result.update(matches=matches, elapsed_ms=round(elapsed * 1000, 1), within_1s=elapsed <= 1.0,
                  ok=matches and elapsed <= 1.0)
    return result
