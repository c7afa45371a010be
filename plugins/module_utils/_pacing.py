# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: client-side pacing of API calls under the account's quotas.

Alibaba Cloud throttles per account, region and API (each API counted on its own; an API throttled in
one minute answers again from the next one). Retrying each throttled call on its own makes concurrent
threads hammer a quota that is already spent. So every call of a task to one (product, region, action)
goes through one ``Pacer``, shared by the task's threads:

- it starts unpaced (a task that stays under the quota pays nothing);
- a throttled answer is a congestion event, unless the call was sent before the last one (the answers of
  calls already in flight do not count twice). At an event the pacer cuts the pace and holds every thread
  (a thread asleep for a turn at the old pace takes a new turn):

  - with at least ``SAMPLE`` successes since the last event, the quota is *measured*: those successes
    divided by the time between the two events (the calls kept the quota busy all along, so this is the
    rate it lets through: a token bucket's refill, a minute window's calls per minute). The pace becomes
    ``MARGIN`` of it;
  - before any measurement, the pace is halved (of the rate reached over the last ``WINDOW`` seconds,
    never below ``FLOOR``): multiplicative decrease, to get near the quota fast;
  - throttled again too soon to measure, once measured: the pace is kept and the hold doubles (a minute
    window that is spent stays spent until the next minute);

- each success then adds ``GROWTH`` of the measured quota per second (additive increase), so the pace
  probes gently for room that other clients of the account left.

Pacing at a measured share keeps throttled calls a small share of all calls and the quota nearly busy;
the additive increase and the cut at each event share a quota that the console, Terraform or another job
also spend. A caller's deadline bounds every wait.
"""

from __future__ import annotations

import collections
import threading
import time

WINDOW = 10.0        # seconds over which the reached rate is measured
FLOOR = 1.0          # calls a second: no halving goes below this (Alibaba: "after a throttle, probe at 1 QPS")
DECREASE = 0.5       # multiplicative decrease, before the quota is measured
MARGIN = 0.95        # the pace, as a share of the measured quota
GROWTH = 0.02        # additive increase: this share of the measured quota more each second
SAMPLE = 5           # successes between two events that measure the quota
MAX_HOLD = 60.0      # the longest hold (one minute window)
LOWEST = 0.01        # calls a second: the lowest measured pace


class Pacer:
    """The pace of one API. ``wait(deadline)`` before each call (the instant it goes), then ``succeeded()``
    or ``throttled(retry_after, sent)``."""

    def __init__(self, rate=None, clock=time.monotonic, sleep=time.sleep):
        self.rate = rate             # calls a second; None: unpaced
        self.measured = None         # calls a second the quota let through, once measured
        self.clock = clock
        self.sleep = sleep
        self.throttles = 0
        self._next = 0.0             # when the next call may go
        self._sent = collections.deque()
        self._lock = threading.Lock()
        self._calm = 0.0             # without the sending instant: throttles before this belong to the last event
        self._event = None           # when the last congestion event was
        self._since = 0              # successes since then
        self._streak = 0             # events in a row too soon to measure
        self._turn = 0               # counts the events; a turn taken before one is taken again

    def reserve(self, deadline=None):
        """(instant, turn): when this call may go; None if that is after ``deadline``."""
        with self._lock:
            start = max(self.clock(), self._next)
            if deadline is not None and start > deadline:
                return None
            if self.rate:
                self._next = start + 1.0 / self.rate
            return start, self._turn

    def go(self, turn):
        """At the reserved instant: True if no event came meanwhile (else the caller reserves again)."""
        with self._lock:
            if turn != self._turn:
                return False
            now = self.clock()
            self._sent.append(now)
            while self._sent and self._sent[0] < now - WINDOW:
                self._sent.popleft()
            return True

    def wait(self, deadline=None):
        """Block until this call may go, never past ``deadline``: the instant it goes, or False if the
        deadline came first."""
        while True:
            reserved = self.reserve(deadline)
            if reserved is None:
                return False
            start, turn = reserved
            now = self.clock()
            if start > now:
                self.sleep(start - now)
            if self.go(turn):
                return self.clock()

    def reached(self):
        """Calls a second over the last ``WINDOW`` seconds; None before there are two calls to measure."""
        with self._lock:
            return self._reached()

    def _reached(self):
        if len(self._sent) < 2:
            return None
        return len(self._sent) / max(1.0, self._sent[-1] - self._sent[0])

    def throttled(self, retry_after=None, sent=None):
        """A throttled answer of a call that went at ``sent`` (``wait``'s value): cut the pace at a new
        congestion event, and hold every thread until the quota has room again."""
        with self._lock:
            self.throttles += 1
            now = self.clock()
            if sent is not None and self._event is not None and sent < self._event:
                return                   # sent before the last event: its answer is part of it
            if sent is None and now < self._calm:
                return
            if self._event is not None and self._since >= SAMPLE:
                self.measured = self._since / max(now - self._event, 1e-3)
                self.rate = max(LOWEST, self.measured * MARGIN)
                self._streak = 0
            elif self.measured is None:
                known = [r for r in (self.rate, self._reached()) if r]
                self.rate = max(FLOOR, min(known) * DECREASE) if known else FLOOR
            else:
                self._streak += 1
            hold = max(float(retry_after or 0), min(MAX_HOLD, (2 ** self._streak) / self.rate))
            self._next = now + hold
            self._calm = now + hold
            self._event, self._since = now, 0
            self._turn += 1

    def succeeded(self):
        with self._lock:
            self._since += 1
            if self.rate:
                self.rate += GROWTH * (self.measured or self.rate) / self.rate


class Pacers:
    """One ``Pacer`` per (product, region, action), created on first use; shared by a task's threads."""

    def __init__(self, rate=None, clock=time.monotonic, sleep=time.sleep):
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self._pacers = {}
        self._lock = threading.Lock()

    def get(self, product, region, action):
        key = (product, region, action)
        with self._lock:
            if key not in self._pacers:
                self._pacers[key] = Pacer(self.rate, self.clock, self.sleep)
            return self._pacers[key]

    def throttles(self):
        """{(product, region, action): throttled answers} for the APIs that were throttled."""
        with self._lock:
            return {k: p.throttles for k, p in self._pacers.items() if p.throttles}
