"""Callback delivery to the product: encrypted POSTs from a small thread pool over kept-alive connections, 5 s / 3 tries,
every attempt recorded; URL verification."""
import http.client
import secrets
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import requests

from .crypto import encrypt, signature

WORKERS = 16          # a burst of 50 adds/s to a healthy receiver is delivered within a second
RECORD_LIMIT = 20000  # a 60 s burst of 50 adds/s delivered twice is 6,000 records


class _Connection:
    """A delivery thread's connection to the callback URL, kept open between POSTs. Plain http.client: requests'
    work per call cost as much CPU as the POST itself in a burst."""

    def __init__(self):
        self._target: tuple[str, str] | None = None
        self._http: http.client.HTTPConnection | None = None

    def post(self, url: str, params: dict, body: bytes, timeout: float) -> int:
        """POST ``body`` to ``url`` with ``params``; the HTTP status (OSError or HTTPException on failure).
        When the server had closed the kept-alive connection, the POST goes once more on a new one."""
        parts = urlsplit(url)
        path = (parts.path or "/") + "?" + "&".join(filter(None, (parts.query, urlencode(params))))
        if self._http is not None and self._target == (parts.scheme, parts.netloc):
            try:
                return self._exchange(path, body, timeout)
            except ConnectionError:  # closed while idle (a timeout or an HTTP error is an answer: no retry)
                pass
        if self._http is not None:
            self._http.close()
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._http, self._target = kind(parts.hostname, parts.port, timeout=timeout), (parts.scheme, parts.netloc)
        return self._exchange(path, body, timeout)

    def _exchange(self, path: str, body: bytes, timeout: float) -> int:
        try:
            if self._http.sock is not None:
                self._http.sock.settimeout(timeout)
            self._http.request("POST", path, body, {"Content-Type": "text/xml"})
            response = self._http.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self._http.close()
            raise


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
        self._local = threading.local()  # each delivery thread's kept-alive connection

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
            if not hasattr(self._local, "connection"):
                self._local.connection = _Connection()
            try:
                attempt["http_status"] = self._local.connection.post(settings.callback_url, params, body.encode(),
                                                                     settings.callback_timeout)
            except (OSError, http.client.HTTPException) as exc:
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
