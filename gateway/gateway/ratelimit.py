"""Per-client token buckets: a client may send `burst` requests at once and `rate` per second sustained.

In memory, per gateway process: N replicas allow N times the rate (put the limit on a shared store if that
ever matters more than the extra round trip per request).
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict


class RateLimiter:
    def __init__(self, rate: float, burst: int, max_clients: int = 100_000, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key -> [tokens, last refill]

    def take(self, key: str) -> float:
        """Take one token. Returns 0 when allowed, else the seconds until a token is available."""
        rate, burst = self.rate, self.burst
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = [float(burst), now]
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(float(burst), bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return 0.0
        return (1.0 - bucket[0]) / rate

    def exhausted(self, key: str) -> float:
        """Seconds until `key` has a token again (0 when it has one), without taking it."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(float(self.burst), bucket[0] + (self.clock() - bucket[1]) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate


def retry_after(seconds: float) -> str:
    """The Retry-After header value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
