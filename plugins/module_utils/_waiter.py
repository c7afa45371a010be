# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one waiter — poll with backoff until done or a deadline."""

from __future__ import annotations

import time


class WaitResult:
    def __init__(self, done, value, elapsed, polls):
        self.done = done
        self.value = value
        self.elapsed = elapsed
        self.polls = polls

    @property
    def timed_out(self):
        return not self.done


def wait_for(poll, is_done, timeout, interval=5.0, max_interval=30.0, backoff=1.5, initial_delay=0.0,
             next_interval=None, sleep=time.sleep, clock=time.monotonic):
    """Call ``poll()`` until ``is_done(value)`` or ``timeout`` seconds pass; never sleeps past the deadline.

    The interval starts at ``interval`` and grows by ``backoff`` up to ``max_interval``;
    ``next_interval(value, default)`` may shorten or lengthen it (adaptive polling, e.g. from an
    expected completion time). One last poll happens at the deadline, and the last value is returned
    either way, so a caller that times out still has everything known so far.
    """
    start = clock()
    deadline = start + max(0.0, float(timeout))
    polls = 0
    delay = float(interval)
    if initial_delay > 0:
        sleep(min(initial_delay, max(0.0, deadline - clock())))
    while True:
        value = poll()
        polls += 1
        if is_done(value):
            return WaitResult(True, value, clock() - start, polls)
        remaining = deadline - clock()
        if remaining <= 0:
            return WaitResult(False, value, clock() - start, polls)
        wait = delay if next_interval is None else next_interval(value, delay)
        wait = max(0.05, min(float(wait), float(max_interval)))
        sleep(min(wait, remaining))
        delay = min(float(max_interval), delay * backoff)


class EndForecast:
    """When the next of a set of alike jobs (the executions of one run) should end, from those that ended.

    All moments are on the caller's clock (``time.monotonic``), so no server time and no clock skew enter.
    ``started(key, kind, at)`` at the moment the job's start was answered; ``seen(key, ended, sent, answered)``
    at each poll that read it (``sent``/``answered``: when that poll began and when its answer came). An ended
    job lasted more than the last poll that still saw it running and at most until the first poll that saw it
    ended: jobs of one ``kind`` (same template, action and size) are taken to last about the same, so the
    ended ones bound how long the running ones take. ``wait(...)`` turns that into the next poll's delay.
    """

    def __init__(self):
        self._jobs = {}     # key -> dict(kind, start, low, high): low/high bound its duration; high None while running

    def started(self, key, kind, at):
        self._jobs[key] = dict(kind=kind, start=float(at), low=0.0, high=None, usable=True)

    def seen(self, key, ended, sent, answered, usable=True):
        """A poll read the job: still running, or ended (``usable``: ended as the others will, e.g. succeeded;
        one that failed early or was cancelled says nothing about the others' duration)."""
        job = self._jobs.get(key)
        if job is None or job["high"] is not None:
            return
        if ended:
            job["high"], job["usable"] = max(job["low"], float(answered) - job["start"]), bool(usable)
        else:
            job["low"] = max(job["low"], float(sent) - job["start"])

    def duration(self, kind):
        """``(low, high)``: the bounds of how long a job of ``kind`` lasts, or None before one ended. While the
        ended jobs agree (their bounds overlap) the overlap; else the medians of their bounds."""
        ended = [(j["low"], j["high"]) for j in self._jobs.values()
                 if j["kind"] == kind and j["high"] is not None and j["usable"]]
        if not ended:
            return None
        low, high = max(b[0] for b in ended), min(b[1] for b in ended)
        if low < high:
            return low, high
        middle = len(ended) // 2
        return sorted(b[0] for b in ended)[middle], sorted(b[1] for b in ended)[middle]

    def _target(self, job, now, floor):
        """The moment to look at a running job next: the middle of its predicted end's span while that is
        ahead and the span is wide, else the span's end; None once that passed too (it runs late)."""
        bounds = self.duration(job["kind"])
        if bounds is None:
            return None
        early, late = job["start"] + bounds[0], job["start"] + bounds[1]
        middle = (early + late) / 2
        if now < middle and late - middle > floor:
            return middle
        return late if now < late else None

    def next_end(self, now, floor=0.0, last=False):
        """When to look next: the earliest target of the running jobs, or with ``last`` the latest (then every
        running job must have one). None when nothing can be predicted."""
        running = [j for j in self._jobs.values() if j["high"] is None]
        targets = [self._target(j, now, floor) for j in running]
        if not running or (last and None in targets):
            return None
        targets = [t for t in targets if t is not None]
        if not targets:
            return None
        return max(targets) if last else min(targets)

    def wait(self, now, default, floor, ceiling, last=False):
        """The delay before the next poll: just at the predicted end, in equal steps of at most ``ceiling``
        (so the last step lands on it), never less than ``floor``; ``default`` when nothing is predicted."""
        target = self.next_end(now, floor, last)
        if target is None:
            return default
        ahead = target - now
        if ahead > ceiling:
            steps = -(-ahead // ceiling)
            ahead = ahead / steps
        return max(float(floor), min(float(ceiling), ahead))
