"""Fault injection per API (or "*" for all): random error rate, the next N calls failing, added latency, and the
answers of the next N calls held back after WeCom did the work (a lost answer), until released."""
import random
import threading
import time

from .apicore import ApiError

RATE_CODES = (-1, 45009, 45033)
HOLD_LIMIT_SECONDS = 600  # a held answer not released by then goes out anyway (no server thread waits forever)


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._rules: dict[str, dict] = {}
        self._rng = random.Random(0)
        self._release = threading.Event()  # replaced by a fresh one at each release
        self._held = 0

    def set(self, spec: dict) -> dict:
        """Add or replace the rule for ``spec["api"]`` (default "*"); raises ValueError on bad input."""
        api = spec.get("api", "*")
        rate = spec.get("error_rate", 0)
        codes = spec.get("errcodes", list(RATE_CODES))
        fail_next, fail_code = spec.get("fail_next", 0), spec.get("fail_code", -1)
        latency = spec.get("latency_ms", 0)
        hold = spec.get("hold_answers", 0)
        unknown = set(spec) - {"api", "error_rate", "errcodes", "fail_next", "fail_code",
                               "latency_ms", "hold_answers", "seed"}
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        if not isinstance(api, str) or not api:
            raise ValueError("api must be an API path like 'externalcontact/list' or '*'")
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError("error_rate must be between 0 and 1")
        if not codes or not all(isinstance(c, int) and c != 0 for c in codes):
            raise ValueError("errcodes must be a non-empty list of non-zero error codes")
        for name, value in (("fail_next", fail_next), ("fail_code", fail_code), ("latency_ms", latency),
                            ("hold_answers", hold)):
            if not isinstance(value, int) or isinstance(value, bool) or (name != "fail_code" and value < 0):
                raise ValueError(f"{name} must be a non-negative integer")
        rule = {"api": api, "error_rate": rate, "errcodes": list(codes), "fail_next": fail_next,
                "fail_code": fail_code, "latency_ms": latency, "hold_answers": hold}
        with self._lock:
            if "seed" in spec:
                self._rng.seed(spec["seed"])
            self._rules[api] = rule
        return dict(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
        self.release()

    def release(self) -> int:
        """Let every held answer go out (to a caller that may have gone); how many were held."""
        with self._lock:
            released, self._release = self._release, threading.Event()
            held = self._held
        released.set()
        return held

    def held(self) -> int:
        """Answers held right now: calls WeCom has carried out whose callers are still waiting."""
        with self._lock:
            return self._held

    def after_call(self, path: str) -> None:
        """A call that succeeded: hold its answer back while a rule still has answers to hold (until release)."""
        with self._lock:
            rule = next((r for r in (self._rules.get(path), self._rules.get("*")) if r and r["hold_answers"] > 0),
                        None)
            if rule is None:
                return
            rule["hold_answers"] -= 1
            self._held += 1
            release = self._release
        release.wait(HOLD_LIMIT_SECONDS)
        with self._lock:
            self._held -= 1

    def rules(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._rules.values()]

    def before_call(self, path: str) -> None:
        """Sleep the injected latency, then raise the injected error, if any, for this call."""
        with self._lock:
            rules = [r for r in (self._rules.get(path), self._rules.get("*")) if r]
            latency = sum(r["latency_ms"] for r in rules)
            code = None
            for rule in rules:
                if rule["fail_next"] > 0:
                    rule["fail_next"] -= 1
                    code = rule["fail_code"]
                    break
                if rule["error_rate"] and self._rng.random() < rule["error_rate"]:
                    code = self._rng.choice(rule["errcodes"])
                    break
        if latency:
            time.sleep(latency / 1000)
        if code is not None:
            raise ApiError(code, "injected fault")
