"""gettoken's IP block: bad-credential refusals counted per client IP over a rolling hour; past the threshold, 45009."""
import threading
from collections import deque

WINDOW = 3600.0         # refusals are counted over the last hour (§1: "about 2000 errors per hour")
BLOCK_SECONDS = 3600.0  # §1: "Repeated bad-secret calls to gettoken block that IP for 1 hour"


class GettokenBlocks:
    """Per client IP: when gettoken refused bad credentials (40001/40013), and until when the IP is blocked.

    UNCONFIRMED, each chosen as the reading harder on a client:
    - the block starts when the count in the rolling hour *reaches* the threshold (the next call is refused);
    - while blocked, every gettoken from the IP answers 45009, even with the right corpid and secret;
    - a bad-credential gettoken made during the block still counts, and while the hour's count stays at or over
      the threshold it pushes the block's end to an hour after that call: retrying only prolongs the block.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._refusals: dict[str, deque] = {}
        self._until: dict[str, float] = {}

    def blocked(self, ip: str, now: float) -> bool:
        with self._lock:
            return self._until.get(ip, 0.0) > now

    def refused(self, ip: str, now: float, threshold: int) -> None:
        """Count one bad-credential gettoken from `ip`; block the IP once the hour holds `threshold` of them."""
        with self._lock:
            times = self._refusals.setdefault(ip, deque())
            times.append(now)
            while times and times[0] <= now - WINDOW:
                times.popleft()
            if len(times) >= threshold:
                self._until[ip] = now + BLOCK_SECONDS

    def status(self, now: float) -> dict:
        """{"blocked": {ip: seconds left}, "refusals": {ip: refusals in the last hour}}."""
        with self._lock:
            return {"blocked": {ip: round(until - now, 3) for ip, until in self._until.items() if until > now},
                    "refusals": {ip: sum(1 for t in times if t > now - WINDOW)
                                 for ip, times in self._refusals.items()}}

    def lift(self) -> int:
        """Lift every block and forget the counts (WeCom's 自助解封 tool, §10); returns how many IPs were blocked."""
        with self._lock:
            count = len(self._until)
            self._until.clear()
            self._refusals.clear()
            return count
