"""API quotas (flow control): a token bucket per (access key, product, action), or per (access key, region,
product, action) with ``per_region``.

A quota is written as Alibaba Cloud's documentation writes it, ``"<calls>/<seconds>"`` (``"300/60"``;
``"300/60s"`` and ``"300/60(s)"`` are read too): the bucket holds ``calls`` tokens and refills at
``calls / seconds`` tokens per second. A call takes one token; a call that finds the bucket empty is
refused with ``Throttling.User`` (HTTP 400, the real code and message) and takes nothing.

The configuration (``--quotas``, the fleet file's ``quotas`` key, ``POST /_sim/quotas``)::

    enabled: true                 # false (the default): nothing is throttled
    default: "500/60"             # every action not named below (None: the built-in defaults)
    actions:                      # product -> action -> quota ("none" or null: unlimited)
      ecs: {DescribeInstances: "10/1"}
      oos: {StartExecution: "300/60"}
    retry_after: false            # true: also send x-acs-retry-after (ms until a token is back)
    per_region: false             # true: one bucket per region too, as Alibaba counts (per account, region, API)
    clock: real                   # "simulated": buckets refill on the simulated clock (benchmarks at a time scale)

Time is real (monotonic) time by default: quotas are about how fast a client calls. With ``clock:
simulated`` a quota of 300/60 means 300 calls per 60 *simulated* seconds, so a benchmark that runs the
simulator at a time scale sees the quotas scaled with its work.
"""

import re
import threading
import time

from .products import PRODUCTS

# The published figures and product defaults are declared by each product (``Product.quotas``,
# ``Product.default_quota``); an action of a product that declares neither gets this.
FALLBACK_DEFAULT = "300/60"

THROTTLING_CODE = "Throttling.User"
THROTTLING_MESSAGE = "Request was denied due to user flow control."
_QUOTA_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*(?:s|\(s\))?\s*$")
FIELDS = {"enabled", "default", "actions", "retry_after", "per_region", "clock"}
CLOCKS = ("real", "simulated")


def published():
    """{product: {action: quota}}: the published figures the products declare."""
    return {name: dict(p.quotas) for name, p in sorted(PRODUCTS.items()) if p.quotas}


def product_defaults():
    """{product: quota} of the actions without a published figure."""
    return {name: p.default_quota or FALLBACK_DEFAULT for name, p in sorted(PRODUCTS.items())}


def parse_quota(value):
    """``"300/60"`` -> (300.0, 60.0); None, ``"none"`` or ``"unlimited"`` -> None (no limit)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "unlimited", "")):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        calls, seconds = float(value), 1.0
    else:
        match = _QUOTA_RE.match(str(value))
        if not match:
            raise ValueError(f"a quota is '<calls>/<seconds>' (e.g. '300/60'), not {value!r}")
        calls, seconds = float(match.group(1)), float(match.group(2))
    if calls < 1 or seconds <= 0:
        raise ValueError(f"a quota needs at least 1 call per a positive number of seconds: {value!r}")
    return calls, seconds


def quota_text(quota):
    return None if quota is None else f"{quota[0]:g}/{quota[1]:g}"


def check_config(config):
    """Raise ValueError for a quota document the simulator cannot use; return it normalised."""
    if config is None:
        return {}
    if isinstance(config, bool):
        return {"enabled": config}
    if not isinstance(config, dict):
        raise ValueError("quotas is a mapping (enabled, default, actions, retry_after, per_region, clock) or true/false")
    unknown = set(config) - FIELDS
    if unknown:
        raise ValueError(f"unknown quotas fields: {', '.join(sorted(unknown))}")
    out = {}
    if "enabled" in config:
        if not isinstance(config["enabled"], bool):
            raise ValueError("quotas.enabled is true or false")
        out["enabled"] = config["enabled"]
    for flag in ("retry_after", "per_region"):
        if flag in config:
            out[flag] = bool(config[flag])
    if "clock" in config:
        if config["clock"] not in CLOCKS:
            raise ValueError("quotas.clock is real or simulated, not %r" % (config["clock"],))
        out["clock"] = config["clock"]
    if "default" in config:
        parse_quota(config["default"])
        out["default"] = config["default"]
    actions = config.get("actions")
    if actions is not None:
        if not isinstance(actions, dict) or not all(isinstance(v, dict) for v in actions.values()):
            raise ValueError("quotas.actions maps a product to {action: quota}")
        for per_action in actions.values():
            for quota in per_action.values():
                parse_quota(quota)
        out["actions"] = {product: dict(per_action) for product, per_action in actions.items()}
    return out


class _Bucket:
    __slots__ = ("capacity", "rate", "tokens", "stamp", "allowed", "throttled")

    def __init__(self, quota, now):
        self.capacity, seconds = quota
        self.rate = self.capacity / seconds
        self.tokens = self.capacity
        self.stamp = now
        self.allowed = 0
        self.throttled = 0

    def take(self, now):
        """True and one token less, or False and the seconds until the next token."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.allowed += 1
            return True, 0.0
        self.throttled += 1
        return False, (1 - self.tokens) / self.rate


class QuotaBook:
    """The quota configuration and the buckets. ``base`` (the command line) is kept across resets;
    a reset applies the fleet's ``quotas`` over it and empties the buckets."""

    def __init__(self, base=None, clock=time.monotonic, sim_clock=None):
        self.real_clock = clock
        self.sim_clock = sim_clock or clock   # the simulated clock's now(), for ``clock: simulated``
        self._lock = threading.Lock()
        self.base = check_config(base)
        self.config = {}
        self.buckets = {}
        self.apply(None)

    def apply(self, fleet_quotas):
        """A reset: the base configuration with the fleet's ``quotas`` over it; every bucket full."""
        merged = _merge(self.base, check_config(fleet_quotas))
        with self._lock:
            self.config = merged
            self.buckets = {}

    def update(self, changes):
        """``POST /_sim/quotas``: change the configuration now; buckets of changed quotas start full."""
        changes = check_config(changes)
        with self._lock:
            scope = (self.config.get("per_region"), self.config.get("clock"))
            self.config = _merge(self.config, changes)
            if scope != (self.config.get("per_region"), self.config.get("clock")):
                self.buckets = {}     # other buckets, or another clock: every bucket starts full
            self.buckets = {k: b for k, b in self.buckets.items()
                            if (b.capacity, b.capacity / b.rate) == self._quota(k[2], k[3])}
            return self._view()

    def refill(self):
        """Every bucket full again (counters cleared); returns how many there were."""
        with self._lock:
            count = len(self.buckets)
            self.buckets = {}
            return count

    @property
    def enabled(self):
        return bool(self.config.get("enabled"))

    def _quota(self, product, action):
        per_action = (self.config.get("actions") or {}).get(product) or {}
        if action in per_action:
            return parse_quota(per_action[action])
        if "default" in self.config:
            return parse_quota(self.config["default"])
        declared = PRODUCTS.get(product)
        figure = declared.quotas.get(action) if declared else None
        return parse_quota(figure or (declared and declared.default_quota) or FALLBACK_DEFAULT)

    def quota_of(self, product, action):
        """The quota that applies to ``product``'s ``action`` now, as text (None: unlimited)."""
        with self._lock:
            return quota_text(self._quota(product, action))

    def take(self, access_key, product, action, region=None):
        """None when the call may go on, else the seconds until the bucket has a token again (seconds of the
        quota's clock: simulated seconds with ``clock: simulated``)."""
        with self._lock:
            if not self.config.get("enabled"):
                return None
            quota = self._quota(product, action)
            if quota is None:
                return None
            key = (access_key, region if self.config.get("per_region") else None, product, action)
            now = self.clock()
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = _Bucket(quota, now)
            ok, wait = bucket.take(now)
            return None if ok else wait

    def clock(self):
        return self.sim_clock() if self.config.get("clock") == "simulated" else self.real_clock()

    def send_retry_after(self):
        return bool(self.config.get("retry_after"))

    def view(self):
        with self._lock:
            return self._view()

    def _view(self):
        now = self.clock()
        buckets = []
        for (access_key, region, product, action), b in sorted(self.buckets.items(), key=lambda kv: str(kv[0])):
            tokens = min(b.capacity, b.tokens + (now - b.stamp) * b.rate)
            buckets.append(dict({"access_key": access_key, "product": product, "action": action,
                                 "quota": quota_text((b.capacity, b.capacity / b.rate)),
                                 "tokens": round(tokens, 3), "allowed": b.allowed, "throttled": b.throttled},
                                **({"region": region} if region else {})))
        return {"enabled": self.enabled, "default": self.config.get("default"),
                "actions": self.config.get("actions") or {}, "retry_after": self.send_retry_after(),
                "per_region": bool(self.config.get("per_region")), "clock": self.config.get("clock", "real"),
                "published": published(), "product_defaults": product_defaults(),
                "throttled": sum(b["throttled"] for b in buckets), "buckets": buckets}


def _merge(base, over):
    merged = {k: v for k, v in base.items() if k != "actions"}
    merged.update({k: v for k, v in over.items() if k != "actions"})
    actions = {p: dict(a) for p, a in (base.get("actions") or {}).items()}
    for product, per_action in (over.get("actions") or {}).items():
        actions.setdefault(product, {}).update(per_action)
    if actions:
        merged["actions"] = actions
    return merged
