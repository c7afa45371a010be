"""A deterministic model of a task's threads calling one API under a quota, for the pacing tests.

Each worker stands for one thread of a task: it reserves a turn with its task's pacer (``Pacer.reserve``, what
``Pacer.wait`` does before it sleeps), its call reaches the server at that instant, the answer comes ``latency``
later and goes to ``succeeded`` or ``throttled``; a throttled call is tried again after ``retry_delay`` (about
the retry policy's first delay). Events run in time order on a virtual
clock, so a run of thousands of calls takes milliseconds and always gives the same result.
"""

from __future__ import annotations

import heapq
import itertools
import random


class TokenBucket:
    """The simulator's model: ``calls`` tokens, refilled at calls/seconds a second; a refused call takes none."""

    def __init__(self, calls, seconds):
        self.capacity, self.rate = float(calls), calls / float(seconds)
        self.tokens, self.stamp = float(calls), 0.0

    def take(self, now):
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class MinuteWindow:
    """Alibaba's documented model: at most ``calls`` in each window of ``seconds``, counted from 0."""

    def __init__(self, calls, seconds):
        self.calls, self.seconds = calls, float(seconds)
        self.window, self.used = -1, 0

    def take(self, now):
        window = int(now // self.seconds)
        if window != self.window:
            self.window, self.used = window, 0
        if self.used < self.calls:
            self.used += 1
            return True
        return False


class RandomFaults:
    """No quota: each call is refused at random with probability ``share`` (the reliability suite's injected
    throttling, R1)."""

    def __init__(self, share, seed=11):
        self.share, self.rng = share, random.Random(seed)

    def take(self, now):
        return self.rng.random() >= self.share


class Run:
    """``workers`` threads of one task making ``calls`` successful calls through ``pacer`` against ``server``."""

    def __init__(self, pacer_factory, server, workers=16, latency=0.05, retry_delay=0.375):
        self.now = 0.0
        self.pacer = pacer_factory(clock=self.clock, sleep=self._sleep)
        self.server, self.workers, self.latency, self.retry_delay = server, workers, latency, retry_delay
        self.ok = self.throttled = 0
        self.done_at = None

    def clock(self):
        return self.now

    @staticmethod
    def _sleep(seconds):
        raise AssertionError("the model drives reserve; nothing sleeps (%s s asked)" % seconds)

    def run(self, calls, events=None, until=None):
        """Simulate until ``calls`` successes (or ``until``); returns self. ``events`` is a shared queue when
        several runs share one server (see ``together``)."""
        own = events is None
        events = [] if own else events
        self.target = calls
        for worker in range(self.workers):
            push(events, self.now, self, worker, "ask")
        if own:
            drive(events, until)
        return self

    def step(self, now, kind, events, worker):
        self.now = now
        if self.ok >= self.target:
            return
        if kind == "ask":
            push(events, self.pacer.reserve(), self, worker, "send")
        elif kind == "send":
            accepted = self.server.take(now)
            push(events, now + self.latency, self, worker, "ok" if accepted else "refused")
        elif kind == "ok":
            self.ok += 1
            self.pacer.succeeded()
            if self.ok >= self.target:
                self.done_at = now
                return
            push(events, now, self, worker, "ask")
        else:
            self.throttled += 1
            self.pacer.throttled()
            push(events, now + self.retry_delay, self, worker, "ask")

    @property
    def share(self):
        return self.throttled / float(self.ok + self.throttled)


SEQUENCE = itertools.count()


def push(events, when, run, worker, kind):
    heapq.heappush(events, (when, next(SEQUENCE), run, worker, kind))


def drive(events, until=None):
    while events:
        now, _order, run, worker, kind = heapq.heappop(events)
        if until is not None and now > until:
            break
        run.step(now, kind, events, worker)


def together(runs, calls, until=None):
    """Several tasks (each with its own pacer) sharing one server."""
    events = []
    for run in runs:
        run.run(calls, events)
    drive(events, until)
    return runs
