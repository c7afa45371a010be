"""Injected faults (``/_sim/faults``): errors, latency and dropped connections.

A rule matches calls by action glob (and optionally product). Rules are tried in the order they
were added; the first one that matches and fires applies: its latency first, then either an
error (returned before the handler runs, so no state changes) or a dropped connection
(``drop: before`` the handler runs, or ``after`` it ran, which leaves the change made but the
client without an answer). ``rate`` draws from a per-rule RNG seeded with ``seed`` (0 by
default), so runs are reproducible; ``count`` fires that many times, then the rule expires; ``skip``
lets the first matching calls through untouched.
"""

import fnmatch
import itertools
import random
import threading

from .errors import ApiError

MESSAGES = {
    "Throttling": "Request was denied due to flow control.",
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling.Api": "Request was denied due to api flow control.",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
    "InternalError": "The request processing has failed due to some unknown error, exception or failure.",
}
STATUSES = {"ServiceUnavailable": 503, "InternalError": 500}
FIELDS = {"action", "product", "code", "http_status", "message", "rate", "count", "seed", "skip",
          "latency_ms", "drop_connection", "drop", "retry_after_ms"}


class FaultRule:
    def __init__(self, rule_id, spec):
        unknown = set(spec) - FIELDS
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        self.id = rule_id
        self.action = str(spec.get("action", "*"))
        self.product = spec.get("product")
        self.code = spec.get("code")
        self.http_status = int(spec.get("http_status", STATUSES.get(self.code, 400)))
        self.message = spec.get("message") or MESSAGES.get(self.code, "The request was rejected by an injected fault.")
        self.rate = None if spec.get("rate") is None else float(spec["rate"])
        self.count = None if spec.get("count") is None else int(spec["count"])
        self.skip = int(spec.get("skip", 0))
        self.seed = spec.get("seed", 0)
        self.latency_ms = float(spec.get("latency_ms", 0))
        self.drop = spec.get("drop") or ("before" if spec.get("drop_connection") else None)
        self.retry_after_ms = spec.get("retry_after_ms")
        self.fired = 0
        self.matched = 0
        self._rng = random.Random(self.seed)
        self._validate()

    def _validate(self):
        if self.rate is not None and not 0 < self.rate <= 1:
            raise ValueError("rate must be in (0, 1]")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1")
        if self.skip < 0:
            raise ValueError("skip must be >= 0")
        if self.drop not in (None, "before", "after"):
            raise ValueError('drop must be "before" or "after"')
        if self.drop == "after" and self.code:
            raise ValueError('an error code cannot be combined with drop "after"')
        if not (self.code or self.drop or self.latency_ms > 0):
            raise ValueError("a fault needs a code, a drop or a latency_ms")
        if not 400 <= self.http_status <= 599:
            raise ValueError("http_status must be 4xx or 5xx")

    @property
    def active(self):
        return self.count is None or self.fired < self.count

    def try_fire(self, product, action):
        if not self.active or not fnmatch.fnmatchcase(action, self.action):
            return False
        if self.product and self.product != product:
            return False
        self.matched += 1
        if self.matched <= self.skip:
            return False
        if self.rate is not None and self._rng.random() >= self.rate:
            return False
        self.fired += 1
        return True

    def error(self):
        headers = {}
        if self.retry_after_ms:
            headers["x-acs-retry-after"] = str(int(self.retry_after_ms))
        return ApiError(self.code, self.message, self.http_status, headers=headers)

    def view(self):
        return {"id": self.id, "action": self.action, "product": self.product, "code": self.code,
                "http_status": self.http_status, "message": self.message, "rate": self.rate,
                "count": self.count, "seed": self.seed, "latency_ms": self.latency_ms, "drop": self.drop,
                "retry_after_ms": self.retry_after_ms, "fired": self.fired, "matched": self.matched,
                "active": self.active}


class FaultInjector:
    """Keeps the rules in ``sim.faults`` (cleared by a reset)."""

    def __init__(self, sim):
        self.sim = sim
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, body):
        given = body if isinstance(body, list) else [body]
        if not given or not all(isinstance(s, dict) for s in given):
            raise ValueError("a fault is a JSON object (or a list of them)")
        with self._lock:
            rules = [FaultRule(f"fault-{next(self._ids)}", spec) for spec in given]
            self.sim.faults.extend(rules)
            return [r.view() for r in rules]

    def list(self):
        with self._lock:
            return [r.view() for r in self.sim.faults]

    def clear(self):
        with self._lock:
            count = len(self.sim.faults)
            self.sim.faults.clear()
            return count

    def pick(self, product, action):
        """The rule that applies to this call, or None."""
        with self._lock:
            for rule in self.sim.faults:
                if rule.try_fire(product, action):
                    return rule
        return None
