# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one retry policy for API calls.

Jittered exponential backoff on throttling, ServiceUnavailable, InternalError*, HTTP 5xx and
transport errors (see ``_errors.ErrorInfo.retryable``); the server's ``x-acs-retry-after`` wins
over the computed delay. Bounded by ``retries`` and by a budget of waiting time per call, and by
an optional absolute deadline from the caller. Nothing else is retried: an endpoint that does not
resolve, refuses connections or speaks the other protocol (HTTP/HTTPS) fails at the first attempt.
"""

from __future__ import annotations

import random
import time

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo

DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 20.0
DEFAULT_BUDGET = 120.0


class RetryPolicy:
    def __init__(self, retries, budget=DEFAULT_BUDGET, base_delay=DEFAULT_BASE_DELAY,
                 max_delay=DEFAULT_MAX_DELAY, on_retry=None, sleep=time.sleep, clock=time.monotonic,
                 rng=random.random):
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.retries = retries
        self.budget = budget
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.on_retry = on_retry
        self._sleep = sleep
        self._clock = clock
        self._rng = rng

    def delay(self, attempt, retry_after_ms=None):
        """Seconds to wait before retry number ``attempt + 1`` (equal jitter, capped)."""
        if retry_after_ms:
            try:
                server = float(retry_after_ms) / 1000.0
            except (TypeError, ValueError):
                server = 0.0
            if server > 0:
                return min(self.max_delay, server) * (1.0 + 0.1 * self._rng())
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt))
        return ceiling / 2.0 + self._rng() * ceiling / 2.0

    def call(self, fn, operation="API call", deadline=None):
        """Run ``fn()`` until it succeeds, fails for good, or the limits are reached.

        ``deadline`` is an absolute ``time.monotonic()`` value after which no retry starts. The
        exception that ends the loop is re-raised with ``ecs_ops_attempts`` and ``ecs_ops_elapsed``
        (seconds since the first attempt) set on it.
        """
        start = self._clock()
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:  # pylint: disable=broad-exception-caught
                info = ErrorInfo(exc)
                wait = self.delay(attempt, info.retry_after_ms) if info.retryable else None
                now = self._clock()
                if (wait is None or attempt >= self.retries or now - start + wait > self.budget
                        or (deadline is not None and now + wait > deadline)):
                    _mark(exc, attempt + 1, now - start)
                    raise
                attempt += 1
                if self.on_retry is not None:
                    self.on_retry("%s: %s; retry %d of %d in %.1fs" % (
                        operation, info.short(), attempt, self.retries, wait))
                self._sleep(wait)


def _mark(exc, attempts, elapsed):
    try:
        exc.ecs_ops_attempts = attempts
        exc.ecs_ops_elapsed = round(elapsed, 1)
    except AttributeError:
        pass
