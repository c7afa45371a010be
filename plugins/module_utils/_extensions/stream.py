# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: reading while acting. The package states of a fleet are read in the
background, region by region, and each instance's plan is handed to the execution runner (``_oos.runner``,
its ``source``) as soon as it and every instance before it in its region are read, so that batches start
while the rest of their region is still read."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.plan import MUTATING_ACTIONS

_HALTED = object()


class PlanStream:
    """The runner's work source for an extension rollout.

    ``order`` is {region: [instance ids to read, in input order]}; ``first(covered)`` plans, before anything
    starts, the instances that must be decided on first (it may raise to end the task) and returns
    ``(planned ids, work)``; ``read(region, instance id)`` reads one package state; ``plan_one(region, instance id,
    installed)`` plans one instance (a pure function, run in a reading thread); ``accept(entries)`` (called in
    the runner's thread) records planned entries and returns their work ({instance id: (region, action)}).
    The runner is woken when a region has a full batch more of one action, and when a region's reads end.
    """

    def __init__(self, order, first, read, plan_one, accept, batch_size, workers):
        self.regions = list(order)
        self.order = {region: list(ids) for region, ids in order.items()}
        self._first, self._read, self._plan, self._accept = first, read, plan_one, accept
        self.batch_size = batch_size
        self.workers = workers
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._ready = []             # planned entries not taken yet
        self._untaken = {region: 0 for region in self.order}
        self._ended = set()          # regions whose reading thread ended
        self._count = {region: 0 for region in self.order}
        self._problem = None
        self._told = False
        self._threads = []

    # --- the runner's side --------------------------------------------------------------------------
    def begin(self, covered):
        planned, work = self._first(covered)
        for region in self.order:
            self.order[region] = [i for i in self.order[region] if i not in planned]
        return work

    def start(self):
        for region in self.regions:
            thread = threading.Thread(target=self._read_region, args=(region,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def reading(self, region):
        """True while ``region`` may still hand over work (its reads go on, or what they planned is not taken)."""
        with self._lock:
            return region not in self._ended or self._untaken[region] > 0

    def take(self):
        """``(work, problem)``: the work planned since the last call, and why reading stopped (once), or None."""
        with self._lock:
            entries, self._ready = self._ready, []
            for region in self._untaken:
                self._untaken[region] = 0
            problem = None
            if self._problem is not None and not self._told:
                problem, self._told = self._problem, True
        return (self._accept({e["instance_id"]: e for e in entries}) if entries else {}), problem

    def wait(self, seconds):
        """Sleep up to ``seconds``; True (at once) if new work may be ready."""
        if seconds <= 0:
            return False
        woken = self._wake.wait(seconds)
        self._wake.clear()
        return woken

    def stop(self):
        """Read no more (what is being read finishes)."""
        self._halt.set()

    def close(self):
        self.stop()
        for thread in self._threads:
            thread.join()
        if not self._threads:     # never started: nothing more comes
            with self._lock:
                self._ended.update(self.order)

    def progress(self):
        with self._lock:
            counts = dict(self._count)
        open_regions = [r for r in self.regions if counts[r] < len(self.order[r])]
        if not open_regions:
            return "every package state read"
        return "package states read: %s" % ", ".join("%d/%d in %s" % (counts[r], len(self.order[r]), r)
                                                     for r in open_regions)

    # --- the reading threads ------------------------------------------------------------------------
    def _read_one(self, region, instance_id):
        if self._halt.is_set():
            return _HALTED
        return self._read(region, instance_id)

    def _read_region(self, region):
        ids = self.order[region]
        since = {}      # action -> instances planned with it since the last wake
        try:
            if ids:
                with ThreadPoolExecutor(max_workers=min(self.workers, len(ids))) as pool:
                    try:
                        for instance_id, installed in zip(ids, pool.map(lambda i: self._read_one(region, i), ids)):
                            if installed is _HALTED:
                                break
                            entry = self._plan(region, instance_id, installed)
                            with self._lock:
                                self._ready.append(entry)
                                self._untaken[region] += 1
                                self._count[region] += 1
                            action = entry["action"]
                            if action in MUTATING_ACTIONS:
                                since[action] = since.get(action, 0) + 1
                                if since[action] >= self.batch_size:
                                    since[action] = 0
                                    self._wake.set()
                    except Exception as exc:  # pylint: disable=broad-exception-caught
                        self._halt.set()    # the other regions stop too: nothing more will start
                        with self._lock:
                            if self._problem is None:
                                self._problem = "could not read the package states in %s: %s" % (
                                    region, describe(exc)[0])
        finally:
            with self._lock:
                self._ended.add(region)
            self._wake.set()
