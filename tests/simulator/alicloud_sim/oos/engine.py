"""Simulated-time engine of the bulky OOS templates: a target-selection task, then a loop task
that runs one child execution per instance under ``rateControl`` and ``LoopMode``.

Nothing sleeps: :meth:`LoopRun.next_time` says when the next thing happens and
:meth:`LoopRun.step` applies everything due at that time. Each item (instance) runs a list of
:class:`Phase` objects planned by a template-specific *runner* when the item starts; a phase
lasts ``seconds`` of simulated time, may fail with a message, and may be high-risk (it then
waits for ``NotifyExecution(Approve)`` unless ``SafetyCheck=Skip``).
"""

import math

from ..core.errors import ApiError, invalid_parameter
from .records import Item

TERMINAL = ("Success", "Failed", "Cancelled")
PAUSE_MODES = ("FirstBatchPause", "EveryBatchPause")
EPSILON = 1e-6         # events this close to "now" are due (sums of float durations drift by an ulp)


class TargetError(Exception):
    """Raised by a runner when ``targets`` selects nothing usable; fails the execution."""


def _amount(value, total, name, minimum):
    """An absolute number or an ``"N%"`` share of ``total`` (rounded up)."""
    if isinstance(value, bool):
        raise invalid_parameter("Parameters", f"rateControl.{name} must be a number or a percentage.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().endswith("%"):
        try:
            pct = float(value.strip()[:-1])
        except ValueError:
            raise invalid_parameter("Parameters", f"rateControl.{name} {value!r} is not a percentage.") from None
        if not 0 <= pct <= 100:
            raise invalid_parameter("Parameters", f"rateControl.{name} must be between 0% and 100%.")
        number = math.ceil(pct * total / 100)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    else:
        raise invalid_parameter("Parameters", f"rateControl.{name} must be a number or a percentage.")
    if number < minimum:
        raise invalid_parameter("Parameters", f"rateControl.{name} must be at least {minimum}.")
    return number


def rate_limits(rate, total):
    """``(concurrency, max_errors)`` of a ``rateControl`` object for ``total`` items."""
    if not isinstance(rate, dict) or rate.get("Mode", "Concurrency") != "Concurrency":
        raise invalid_parameter("Parameters", 'rateControl must be {"Mode": "Concurrency", ...}.')
    concurrency = _amount(rate.get("Concurrency", 10), total, "Concurrency", 0)
    max_errors = _amount(rate.get("MaxErrors", 0), total, "MaxErrors", 0)
    return max(concurrency, 1), max_errors


class LoopRun:
    """Drives one parent execution through selection, the loop, and its end."""

    def __init__(self, store, execution, runner, rate):
        self.store = store
        self.exe = execution
        self.runner = runner
        self.rate = rate
        self.items = []
        self.running = []
        self.next_index = 0
        self.allowed = 0
        self.concurrency = 1
        self.max_errors = 0
        self.failed = 0
        self.stop_reason = None
        self.reject_note = ""
        self.loop_task = None
        execution.run = self

    # --- scheduling -----------------------------------------------------------------
    def next_time(self):
        if self.exe.status in TERMINAL:
            return None
        if self.exe.status == "Started":
            return self.exe.created + float(self.store.sim.durations.get("start", 1))
        ends = [i.phase_end for i in self.running if not i.waiting and i.phase_task is not None]
        return min(ends) if ends else None

    def step(self, t):
        if self.exe.status == "Started":
            self._begin(t)
        else:
            for item in list(self.running):
                if not item.waiting and item.phase_end is not None and item.phase_end <= t + EPSILON:
                    self._drive(item, t)
        self._settle(t)

    # --- phases ---------------------------------------------------------------------
    def _begin(self, t):
        exe, runner = self.exe, self.runner
        exe.status, exe.start = "Running", t
        exe.log(t, f"Execution {exe.id} started.")
        name, act = runner.select_task
        select = exe.add_task(name, act, t, properties={"Filters": [exe.parameters.get("targets")]})
        try:
            targets = runner.select_targets(exe)
        except TargetError as err:
            select.close(t, "Failed", str(err))
            exe.log(t, f"Task {name} failed: {err}", select.id)
            return self._end(t, "Failed", f"Task {name} failed: {err}")
        select.close(t, "Success", outputs={"instanceIds": targets})
        exe.log(t, f"Task {name} completed.", select.id)
        exe.resource_ids = targets
        self.concurrency, self.max_errors = rate_limits(self.rate, len(targets))
        self.items = [Item(i, iid, i // self.concurrency + 1) for i, iid in enumerate(targets)]
        self.allowed = self.concurrency if exe.loop_mode in PAUSE_MODES else len(targets)
        name, act = runner.loop_task
        self.loop_task = exe.add_task(name, act, t, properties=runner.loop_properties(exe),
                                      loop=self.loop_stats, template_id=exe.template_id)

    def _start(self, item, t):
        exe = self.exe
        child = self.store.new_child(exe, self.runner.child_template, self.runner.child_parameters(exe, item.target), t)
        child.item = item
        item.child, item.status = child, "Running"
        child.status, child.start = "Running", t
        child.log(t, f"Execution {child.id} started.")
        name, act = self.runner.loop_task
        item.task = exe.add_task(name, act, t, log=False, properties=child.parameters, child_execution_id=child.id,
                                 parent_task_id=self.loop_task.id, loop_item=item.target,
                                 loop_batch=item.batch, template_id=exe.template_id)
        exe.log(t, f"Loop item {item.target} of task {name} started, child execution {child.id}.", item.task.id)
        self.running.append(item)
        item.phases = self.runner.plan(exe, item, t)
        self._drive(item, t)

    def _drive(self, item, t):
        """Move ``item`` through its phases up to ``t``; zero-length phases finish at once."""
        child = item.child
        while True:
            if item.phase_idx >= len(item.phases):
                return self._complete(item, t, True)
            phase = item.phases[item.phase_idx]
            if item.phase_task is None:
                if phase.risky and self.exe.safety_check != "Skip" and not item.confirmed:
                    if not item.waiting:
                        item.waiting, item.status, child.status = True, "Waiting", "Waiting"
                        child.log(t, f"Task {phase.name} ({phase.action}) is a high-risk action and "
                                     "waits for confirmation (SafetyCheck=ConfirmEveryHighRiskAction).")
                    return None
                item.waiting, item.status, child.status = False, "Running", "Running"
                item.phase_task = child.add_task(phase.name, phase.action, t)
                item.phase_end = t + phase.seconds
                if phase.on_start:
                    phase.on_start(t)
            if item.phase_end > t + EPSILON:
                return None
            failed = bool(phase.fail)
            if phase.on_end:
                phase.on_end(t, failed)
            item.phase_task.close(t, "Failed" if failed else "Success", phase.fail, dict(phase.outputs))
            child.log(t, f"Task {phase.name} {'failed: ' + phase.fail if failed else 'completed.'}",
                      item.phase_task.id)
            item.phase_task, item.phase_idx, item.confirmed = None, item.phase_idx + 1, False
            if failed:
                return self._complete(item, t, False, phase.fail)

    def _complete(self, item, t, ok, message=""):
        status = "Success" if ok else "Failed"
        item.status, item.message = status, message
        self.running.remove(item)
        if not ok:
            self.failed += 1
        child = item.child
        child.status, child.end, child.status_message = status, t, message
        child.outputs = dict(item.output)
        child.log(t, f"Execution {child.id} completed with status {status}.")
        item.task.close(t, status, message, dict(item.output))
        self.exe.log(t, f"Loop item {item.target} {'succeeded' if ok else 'failed: ' + message}", item.task.id)

    # --- loop control ---------------------------------------------------------------
    def _settle(self, t):
        exe = self.exe
        if exe.status in TERMINAL:
            return
        if self.stop_reason is None and self.failed > self.max_errors:
            self.stop_reason = "errors"
        limit = min(self.allowed, len(self.items))
        while (self.stop_reason is None and len(self.running) < self.concurrency
               and self.next_index < limit):
            item = self.items[self.next_index]
            self.next_index += 1
            self._start(item, t)
            if self.failed > self.max_errors:
                self.stop_reason = "errors"
        if not self.running and (self.next_index >= len(self.items) or self.stop_reason):
            return self._finish(t)
        paused = not self.running
        if paused and exe.status != "Waiting":
            exe.log(t, f"Batch {self.items[self.next_index - 1].batch} of task {self.runner.loop_task[0]} "
                       "finished; waiting for NotifyExecution (Approve or Reject).", self.loop_task.id)
        exe.status = "Waiting" if paused or any(i.waiting for i in self.running) else "Running"
        exe.updated = t
        return None

    def _finish(self, t):
        for item in self.items[self.next_index:]:
            item.status = "Skipped"
        if self.stop_reason == "errors":
            failures = [i for i in self.items if i.message]
            shown = "; ".join(f"{i.target}: {i.message}" for i in failures[:3])
            message = (f"Task {self.runner.loop_task[0]} failed: {self.failed} of {len(self.items)} loop items "
                       f"failed, more than MaxErrors ({self.max_errors}). {shown}")
            return self._end(t, "Failed", message)
        if self.stop_reason == "rejected":
            return self._end(t, "Failed", f"Task {self.runner.loop_task[0]} was rejected: {self.reject_note}")
        return self._end(t, "Success", "")

    def _end(self, t, status, message):
        exe = self.exe
        exe.status, exe.status_message, exe.end, exe.updated = status, message, t, t
        exe.outputs = self.runner.outputs(exe, self.items) if self.items else {}
        if self.loop_task is not None and self.loop_task.status not in TERMINAL:
            self.loop_task.close(t, status, message, self.runner.loop_outputs(exe, self.items))
        exe.log(t, f"Execution {exe.id} completed with status {status}." + (f" {message}" if message else ""))

    # --- external actions -----------------------------------------------------------
    def cancel(self, t):
        for item in list(self.running):
            self._halt(item, t, "Cancelled")
        for item in self.items[self.next_index:]:
            item.status = "Cancelled"
        self.next_index = len(self.items)
        self._end(t, "Cancelled", "The execution was cancelled.")

    def cancel_child(self, t, child_id):
        """Cancel one loop item (CancelExecution on a child); it counts as an error toward MaxErrors."""
        for item in self.running:
            if item.child.id == child_id:
                self._halt(item, t, "Cancelled")
                item.message = f"The child execution {child_id} was cancelled."
                self.failed += 1
                return self._settle(t)
        raise ApiError("InvalidStatus.Execution", f"The execution {child_id} has already finished.")

    def interrupt(self, t, target, message):
        """Fail the items running on instance ``target`` now (it was stopped or released under them)."""
        for item in [i for i in self.running if i.target == target]:
            self._halt(item, t, "Failed", message)
        self._settle(t)

    def _halt(self, item, t, status, message=""):
        """Stop a running item at ``t`` as ``Cancelled`` or ``Failed``."""
        phase = item.phases[item.phase_idx] if item.phase_idx < len(item.phases) else None
        if phase is not None and item.phase_task is not None:
            if status == "Cancelled" and phase.on_cancel:
                phase.on_cancel(t)
            item.phase_task.close(t, status, message)
            item.phase_task = None
        if status == "Failed":
            item.child.log(t, f"Task {phase.name if phase else ''} failed: {message}")
            return self._complete(item, t, False, message)
        item.status = "Cancelled"
        self.running.remove(item)
        item.child.status, item.child.end = "Cancelled", t
        item.child.log(t, f"Execution {item.child.id} cancelled.")
        item.task.close(t, "Cancelled")
        return None

    def approve(self, t, child_id=None):
        waiting = [i for i in self.running if i.waiting and child_id in (None, i.child.id)]
        if waiting:
            for item in waiting:
                item.confirmed = True
                self._drive(item, t)
        elif self._paused() and child_id is None:
            self.allowed = (len(self.items) if self.exe.loop_mode == "FirstBatchPause"
                            else self.allowed + self.concurrency)
            self.exe.log(t, "Approved: the loop continues.", self.loop_task.id)
        else:
            raise _not_waiting(self.exe)
        self._settle(t)

    def reject(self, t, note="", child_id=None):
        waiting = [i for i in self.running if i.waiting and child_id in (None, i.child.id)]
        if waiting:
            for item in waiting:
                phase = item.phases[item.phase_idx]
                self._complete(item, t, False, f"The high-risk action {phase.name} was rejected. {note}".strip())
        elif self._paused() and child_id is None:
            self.stop_reason, self.reject_note = "rejected", note or "rejected by NotifyExecution."
        else:
            raise _not_waiting(self.exe)
        self._settle(t)

    def _paused(self):
        return self.exe.status == "Waiting" and not self.running and self.stop_reason is None

    # --- views ----------------------------------------------------------------------
    def counters(self):
        counts = {"Total": len(self.items), "Success": 0, "Failed": 0, "Running": 0, "Waiting": 0,
                  "Cancelled": 0, "Skipped": 0, "Queued": 0}
        for item in self.items:
            key = "Queued" if item.status == "Pending" else item.status
            counts[key] += 1
        return counts

    def loop_stats(self):
        return {"Items": len(self.items), "Concurrency": self.concurrency, "MaxErrors": self.max_errors,
                "Counters": self.counters()}


def _not_waiting(exe):
    return ApiError("InvalidStatus.Execution",
                    f"The execution {exe.id} is in status {exe.status} and is not waiting for a notification.")
