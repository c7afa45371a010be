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
