# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: client-side pacing of API calls under the account's quotas.

Alibaba Cloud throttles per account, region and API (each API counted on its own; an API throttled in
one minute answers again from the next one). Retrying each throttled call on its own makes concurrent
threads hammer a quota that is already spent. So every call of a task to one (product, region, action)
goes through one ``Pacer``, shared by the task's threads:

- it starts unpaced (a task that stays under the quota pays nothing);
- on a throttled answer it sets a rate: half the rate the calls actually reached over the last
  ``WINDOW`` seconds (multiplicative decrease), and holds every thread until the server's
  ``x-acs-retry-after`` (or one interval at the new rate) has passed; the answers of calls that were
  already in flight during that hold do not halve it again (one decrease per congestion event);
- each successful call then raises the rate by ``STEP / rate`` calls a second (additive increase: about
  ``STEP`` more each second at the rate), so the pace climbs back towards the quota and probes it gently.

Additive increase, multiplicative decrease converges on a fair share of a quota that other clients of
the same account (the console, Terraform, another job) also spend, and keeps throttled calls a small share
of all calls. A caller's deadline bounds every wait.
"""

from __future__ import annotations

import collections
import threading
import time

WINDOW = 10.0        # seconds over which the reached rate is measured
FLOOR = 1.0          # calls a second: the pace never drops below this (Alibaba: "after a throttle, probe at 1 QPS")
STEP = 1.0           # additive increase, calls a second per second at the current rate
DECREASE = 0.5       # multiplicative decrease on a throttled answer


class Pacer:
    """The pace of one API. ``wait(deadline)`` before each call, then ``succeeded()`` or ``throttled(after)``."""

    def __init__(self, rate=None, clock=time.monotonic, sleep=time.sleep):
        self.rate = rate             # calls a second; None: unpaced
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0             # when the next call may go
        self._sent = collections.deque()
        self._lock = threading.Lock()
        self._calm = 0.0             # throttles before this instant belong to the last decrease
        self.throttles = 0

    def wait(self, deadline=None):
        """Block until this call may go (never past ``deadline``); False if the deadline came first."""
        start = self.reserve(deadline)
        if start is None:
            return False
        now = self.clock()
        if start > now:
            self.sleep(start - now)
        return True

    def reserve(self, deadline=None):
        """The instant this call may go, its turn taken; None (and no turn) if that is after ``deadline``."""
        with self._lock:
            start = max(self.clock(), self._next)
            if deadline is not None and start > deadline:
                return None
            if self.rate:
                self._next = start + 1.0 / self.rate
            self._sent.append(start)
            while self._sent and self._sent[0] < start - WINDOW:
                self._sent.popleft()
            return start

    def reached(self):
        """Calls a second over the last ``WINDOW`` seconds; None before there are two calls to measure."""
        with self._lock:
            if len(self._sent) < 2:
                return None
            span = max(1.0, self._sent[-1] - self._sent[0])
            return len(self._sent) / span

    def throttled(self, retry_after=None):
        """A throttled answer: halve the pace, and hold every thread until the quota has room again."""
        reached = self.reached()
        with self._lock:
            self.throttles += 1
            now = self.clock()
            if now >= self._calm:    # the answers of the calls already in flight do not halve it again
                known = [r for r in (self.rate, reached) if r]
                self.rate = max(FLOOR, min(known) * DECREASE) if known else FLOOR
            hold = max(float(retry_after or 0), 1.0 / self.rate)
            self._next = max(self._next, now + hold)
            self._calm = max(self._calm, self._next)

    def succeeded(self):
        with self._lock:
            if self.rate:
                self.rate += STEP / self.rate


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
