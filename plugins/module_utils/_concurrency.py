# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one bounded worker pool for concurrent API calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

DEFAULT_WORKERS = 8


class Outcome:
    """The result of one item: ``value`` if it worked, ``error`` (the exception) if not."""

    def __init__(self, item, value=None, error=None):
        self.item = item
        self.value = value
        self.error = error

    @property
    def ok(self):
        return self.error is None


def run_bounded(func, items, workers=DEFAULT_WORKERS):
    """``func(item)`` for every item with at most ``workers`` threads; Outcomes in input order.

    Exceptions are caught per item and returned, never raised in a worker: only the main thread
    may end the module.
    """
    items = list(items)

    def guarded(item):
        try:
            return Outcome(item, value=func(item))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            return Outcome(item, error=exc)

    if len(items) <= 1 or workers <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(guarded, items))


def run_all(func, items, workers=DEFAULT_WORKERS):
    """``func(item)`` for every item like ``run_bounded``; the values in input order, or the first error raised."""
    outcomes = run_bounded(func, items, workers)
    failed = first_error(outcomes)
    if failed:
        raise failed.error
    return [o.value for o in outcomes]


def first_error(outcomes):
    """The first failed Outcome, or None."""
    return next((o for o in outcomes if not o.ok), None)
