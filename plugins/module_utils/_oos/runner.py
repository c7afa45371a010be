# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one runner of batched OOS executions.

Each instance is acted on at most once at a time, across runs and jobs. Before anything starts,
the runner lists the executions of the template that have not finished in every target region
and decides per instance: *adopt* an execution that does the same thing (its results become the
instance's), *wait* for one that does something else and then plan the instance again, or report
the instance *busy*. Right after each start it lists again: if an older execution of the template
turned up on one of the batch's instances (two jobs that checked at the same moment), the younger
execution is cancelled and its instances wait for the older one. Both jobs apply the same rule,
so exactly one execution survives. The ClientToken of each start stays as a second guard.

The runner starts at most ``max_running`` of its own executions at once, optionally the first as
a canary (paused after its first wave, judged, then approved or cancelled), within the guard rails
of ``guards`` (``_oos.rollout.Guards``: a window's last start time and end, a failure budget across
batches, a disruption budget per zone), and polls until every instance has an outcome or the deadline
passes. Failures of a poll that retrying would fix
(throttling, 5xx, dropped connections, timeouts) never end the wait: only the deadline, or an
error that will not go away, does. Every call after the wait starts is bounded by the deadline.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.batches import (
    BATCHED,
    BLOCKED,
    FINAL,
    QUEUED,
    Batch,
    BusyError,
    Work,
    gives_way,
    iso,
    targets_of,
    transient,
    utc_now,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import (
    LIST_PAGE,
    ExecutionError,
    cancel_executions,
    child_executions,
    execution_view,
    get_executions,
    instance_of,
    notify_execution,
    report_deadline,
    start_execution,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.rollout import Guards, in_flight_by_zone, plan_batches
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import secret_tags, tagged_names
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import EndForecast, wait_for
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import parse_api_time

LONG_LIVED = ("Running", "Waiting")  # unfinished statuses listed without a time bound (documented filter values)
RECENT = 24 * 3600     # Started and Queued executions (Queued has no filter value) come from a listing of the last day
CLOCK_SKEW = 15 * 60   # OOS refuses signatures more than 15 minutes off, so the client clock is at most this far off


def unfinished_listing(api, template, moment, deadline=None):
    """Every execution of ``template`` that may be unfinished in the region of ``api`` (raw ListExecutions items,
    finished ones among them): the long-lived statuses without a time bound, and everything started in the last
    day (Started and Queued have no filter value)."""
    base = {"TemplateName": template, "MaxResults": LIST_PAGE}
    queries = [dict(base, Status=s) for s in LONG_LIVED]
    queries.append(dict(base, StartDateAfter=iso(moment - timedelta(seconds=RECENT))))
    items = []
    for query in queries:
        items.extend(list_all(lambda p: api.call("ListExecutions", p, deadline=deadline), query, ("Executions",)))
    return items


def busy_instances(api, templates, instance_ids, moment, deadline=None):
    """{instance id: [ids of the unfinished executions of ``templates`` working on it]} for ``instance_ids``: what
    another job is doing to them right now. Executions that select their targets otherwise than by id (tags, ...)
    count for the instances they reached (their child executions). Failed reads raise."""
    wanted, found, seen = set(instance_ids), {}, set()
    for template in templates:
        for item in unfinished_listing(api, template, moment, deadline):
            view = execution_view(item)
            if (item.get("TemplateName") != template or item.get("ParentExecutionId") or view["done"]
                    or view["execution_id"] in seen):
                continue
            seen.add(view["execution_id"])
            targets = targets_of(view)
            if targets is None:
                targets = [instance_of(c) for c in child_executions(api, view["execution_id"], deadline, True)]
            for instance_id in wanted.intersection(targets):
                found.setdefault(instance_id, []).append(view["execution_id"])
    return found


class Runner:
    """Runs ``work`` ({instance id: (region, action)}) through ``template_name`` executions.

    ``spec`` is the module's side: ``spec.batch(region, action, ids)`` gives a batch's template
    parameters and token content, ``spec.intent(parameters, secret_names)`` what an execution does
    (equal intents are the same change), ``spec.replan(region, ids)`` the action each instance
    needs now (None for nothing) after an execution it waited for ended, ``spec.batch_size``.

    ``source`` (optional) hands over work while the runner runs (the module still reads the fleet): the runner
    looks up every region of ``source.regions`` first, then takes ``source.begin(covered)`` (the work of the
    instances the lookup shows in unfinished executions, and of any the module must decide on before anything
    starts) before its first start, calls ``source.start()``, and between rounds takes what
    ``source.take()`` returns (``(work, problem)``: a problem stops all starts, like a failed start). While
    ``source.reading(region)``, only full batches start in that region; the rest waits for the region's last
    reads. ``source.wait(seconds)`` sleeps between polls and returns True early when new work is ready.
    """

    def __init__(self, api_for, template_name, spec, max_running, timeout, poll_interval, wait=True, canary=False,
                 on_busy="wait", user_token=None, tags=None, description=None, secret_names=(), workers=8,
                 sleep=time.sleep, clock=time.monotonic, now=utc_now, progress=None, guards=None, planned_at=None,
                 before_start=None, after_batch=None, source=None):
        self.api_for = api_for
        self.source = source
        self.template = template_name
        self.spec = spec
        self.max_running = max_running
        self.timeout = max(0.0, float(timeout))
        self.poll_interval = poll_interval
        self.wait = wait
        self.canary_mode = canary
        self.on_busy = on_busy
        tags = dict(tags or {}, **secret_tags(secret_names))
        self.start_options = dict(user_token=user_token, tags=tags or None, description=description)
        self.secret_names = tuple(secret_names)
        self.workers = workers
        self.sleep, self.clock, self.now = sleep, clock, now
        # When the module began reading the state it planned from (UTC); by default, now.
        self.planned_at = planned_at if planned_at is not None else now()
        self.before_start = before_start   # optional steps around our own executions (see _before_start)
        self.after_batch = after_batch
        self.say = progress or (lambda text, every=None: None)
        self.work = {}
        self.batches = []
        self.views = {}            # execution id -> latest view (every execution seen)
        self.coverage = {}         # execution id -> instance ids it touches
        self.since = {}            # region -> StartDateAfter of the per-round listing
        self.cancelled = set()     # ids of our executions cancelled because an older one overlaps
        self.settled = set()       # executions already finished at the lookup (the plan was read after them)
        self.stopped = None        # why no more batches start
        self.stop_kind = None      # canary, start_error, window, failure_budget, judge_error, read_error
        self.stop_result = "cancelled"
        self.guards = guards or Guards()
        self.window_cancelled = set()   # our executions cancelled because the window ended
        self.gate_open = not canary
        self.canary = None
        self.canary_children = []
        self.timed_out = False
        self.transient_errors = []
        self.deadline = None
        self._intents = {}
        self._fresh = False
        self._listed = set()       # the executions the last round's listings showed
        self._listed_at = {}       # region -> when its last listing was sent (the lookup's, or a round's)
        self.hooked = {}           # execution id -> {instance id: child view}: our ended batches the spec saw
        self.hook_failed = 0       # instances the spec's after-batch step failed (they count in the budget)
        self.forecast = EndForecast()   # when our running executions should end (when to poll next)
        self._answered = {}             # id(batch) -> the moment its start was answered (set in a worker thread)

    # --- entry points ---------------------------------------------------------------------
    def preview(self, work):
        """Check mode: what each instance would do (adopt, wait, busy); nothing starts."""
        self._begin(work)
        self._assign(initial=True, dry=True)
        return self

    def run(self, work):
        """Start, adopt and wait; ``self.timed_out`` says whether the deadline passed."""
        self._begin(work)
        if self.source is not None:
            self._take(self.source.begin(self._covered()))
        self._assign(initial=True)
        self._say_lookup()
        if self.source is not None:
            if not self.wait:
                raise ValueError("a work source needs wait=true")
            self.source.start()
        if not self.wait:
            # Instances whose plan is stale only because an execution ended since it was read are read again now;
            # those that wait for a running one stay busy (nothing waits with wait=false).
            if self._release_blocked():
                self._assign()
            self._start_and_verify(unbounded=True)
            self._settle("not started: it is busy with %s and wait=false", queued=self._not_started())
            return self
        self._fresh = True
        try:
            waited = wait_for(self._round, self._finished, max(0.0, self.deadline - self.clock()),
                              interval=self.poll_interval, max_interval=self.poll_interval * 4, backoff=1.25,
                              next_interval=self._next_poll, sleep=self._idle if self.source else self.sleep,
                              clock=self.clock)
        finally:
            if self.source is not None:
                self.source.close()
        self.timed_out = waited.timed_out
        if self.source is not None:
            # Read before the end: reported as not started, with the others. After the deadline, a read cut by it
            # is no read error: the timeout says why.
            self._take_ready(problems=not self.timed_out)
        if self.timed_out:
            self._settle("not started: still waiting for %s when wait_timeout passed",
                         queued=self._not_started("wait_timeout passed before its batch could start"))
        return self

    def finish(self, cancel_on_timeout=False):
        """After the wait: cancel what this run started and left running (if asked), re-read it, and read
        the child executions of every batch. ``({execution id: {instance id: child view}},
        {execution id: cancel error or ""}, [warnings])``; every read is bounded by the report deadline."""
        deadline = report_deadline(self.deadline if self.deadline is not None else self.clock())
        cancelled = {}
        if self.timed_out and cancel_on_timeout:
            mine = [b for b in self.batches if b.started and b.mine and not b.done]
            cancelled = self._cancel(mine, deadline)
        warnings = []
        children = dict(self.hooked)
        readable = [b for b in self.batches if b.started and b.execution_id and (b.done or self.wait)
                    and b.execution_id not in children]
        for outcome in run_bounded(lambda b: child_executions(self.api_for(b.region), b.execution_id, deadline, True),
                                   readable, self.workers):
            batch = outcome.item
            if outcome.ok:
                children[batch.execution_id] = {instance_of(c): c for c in outcome.value}
            else:
                warnings.append("could not read the per-instance results of %s (%s); its instances are reported "
                                "from the execution's status" % (batch.execution_id, describe(outcome.error)[0]))
        self._note_superseded(children)
        return children, cancelled, warnings

    # --- looking up what runs -------------------------------------------------------------------
    def _begin(self, work):
        self.deadline = self.clock() + self.timeout
        for instance_id, (region, action) in work.items():
            self.work[instance_id] = Work(instance_id, region, action)
        regions = sorted({w.region for w in self.work.values()} | set(self.source.regions if self.source else ()))
        moment = self.now()
        sent = self.clock()
        for region in regions:
            self.since[region] = iso(moment - timedelta(seconds=CLOCK_SKEW))
            self._listed_at[region] = sent
        outcomes = run_bounded(lambda r: self._lookup_region(r, moment), regions, self.workers)
        for outcome in outcomes:
            if not outcome.ok:
                raise outcome.error
            for item in outcome.value:
                self._see(outcome.item, item)
        # An execution that ended before the plan was read is in the plan. One that ended later, or whose end
        # cannot be placed before it (the client clock may be up to CLOCK_SKEW off the server's), is not: its
        # instances are read and planned again before anything starts on them.
        cutoff = self.planned_at - timedelta(seconds=CLOCK_SKEW)
        self.settled = {i for i, v in self.views.items() if v["done"] and _ended_before(v, cutoff)}
        for region in regions:
            self._cover(region, strict=True)

    def _lookup_region(self, region, moment):
        return unfinished_listing(self.api_for(region), self.template, moment, self.deadline)

    # --- work handed over while running (``source``) -----------------------------------------------
    def _covered(self):
        """The instance ids the lookup shows in unfinished executions (what the source must plan first)."""
        return {instance_id for _region, instance_id in self._index()[0]}

    def _expecting(self, region=None):
        """Whether more work may still come for ``region`` (for any region when None)."""
        if self.source is None:
            return False
        return any(self.source.reading(r) for r in ([region] if region else self.source.regions))

    def _take(self, work):
        for instance_id, (region, action) in work.items():
            if instance_id not in self.work:
                self.work[instance_id] = Work(instance_id, region, action)
        if work and self.stopped:
            self._stop(self.stopped, self.stop_kind, self.stop_result)

    def _take_ready(self, problems=True):
        """Take what the source has ready; a problem it reports stops every start (like a failed start)."""
        reading = self._expecting()
        work, problem = self.source.take()
        self._take(work)
        if reading and not self._expecting():
            self._say_lookup()    # every instance is planned: what the lookup means for all of them
        if problem and problems:
            self.say("no more batches start: %s" % problem)
            self._stop(problem, kind="read_error")

    def _idle(self, seconds):
        """The wait between two rounds: whenever the source has new work ready, take it and start the batches
        it fills as a round would: a listing of their regions right before (unless one was sent less than
        ``poll_interval`` ago), the tie-break listing right after. Then wait on until the round is due."""
        end = self.clock() + seconds
        while self.source.wait(end - self.clock()):
            self._take_ready()
            self._assign()
            regions = sorted({b.region for b in self._ready_batches(False)})
            if regions:
                stale = [r for r in regions if self.clock() - self._listed_at.get(r, float("-inf")) > self.poll_interval]
                if stale:
                    self._refresh(stale)
                    self._assign()
                self._start_and_verify()
            if not self._expecting():
                return    # the reads ended: the next round (and the end of the run) need not wait any more

    def _see(self, region, item):
        if item.get("TemplateName") != self.template or item.get("ParentExecutionId"):
            return
        view = execution_view(item)
        view["region"] = region
        self.views[view["execution_id"]] = view
        if view["execution_id"] not in self.coverage:
            targets = targets_of(view)
            if targets is not None:
                self.coverage[view["execution_id"]] = set(targets)

    def _cover(self, region, strict=False):
        """The instances of unfinished executions that select targets otherwise (by tag, ...): those they reached
        (their child executions). A read that fails transiently is tried again next round (``strict``: raised)."""
        unknown = [v for v in self.views.values() if v["region"] == region and not v["done"]
                   and targets_of(v) is None]
        if not unknown or not (self._expecting(region) or any(
                w.region == region and w.state in (QUEUED, BLOCKED) for w in self.work.values())):
            return
        api = self.api_for(region)
        for outcome in run_bounded(lambda v: child_executions(api, v["execution_id"], self.deadline, True), unknown,
                                   self.workers):
            if outcome.ok:
                self.coverage[outcome.item["execution_id"]] = {instance_of(c) for c in outcome.value}
            elif strict or not transient(outcome.error):
                raise outcome.error
            else:
                self.transient_errors.append(describe(outcome.error)[0])

    def _index(self):
        """({(region, instance id): [unfinished executions touching it]}, {(region, instance id): [executions that
        touched it and ended since the lookup]})."""
        active, ended = {}, {}
        for view in self.views.values():
            if view["execution_id"] in self.settled:
                continue
            target = ended if view["done"] else active
            for instance_id in self.coverage.get(view["execution_id"], ()):
                target.setdefault((view["region"], instance_id), []).append(view)
        return active, ended

    def _intent(self, view):
        secret = set(self.secret_names) | tagged_names(view.get("tags"))
        return self.spec.intent(view.get("parameters") or {}, sorted(secret))

    def _own_intent(self, work):
        key = (work.region, work.action)
        if key not in self._intents:
            parameters, _content = self.spec.batch(work.region, work.action, [work.instance_id])
            self._intents[key] = self.spec.intent(parameters, list(self.secret_names))
        return self._intents[key]

    # --- deciding per instance --------------------------------------------------------------------
    def _assign(self, initial=False, dry=False):
        busy = {}
        active_on, ended_on = self._index()
        for work in [w for w in self.work.values() if w.state == QUEUED]:
            key = (work.region, work.instance_id)
            active = active_on.get(key)
            if not active:
                # An execution that touched the instance and ended since its plan was read (another job's, or one
                # of ours that gave way): plan it again before acting, so it is not changed twice.
                ended = [v["execution_id"] for v in ended_on.get(key, ()) if v["execution_id"] not in work.accounted
                         and (work.batch is None or v["execution_id"] != work.batch.execution_id)]
                if ended:
                    work.state, work.blockers = BLOCKED, set(ended)
                continue
            same = [v for v in active if v["execution_id"] not in self.cancelled
                    and self._intent(v) == self._own_intent(work)]
            ids = [v["execution_id"] for v in active]
            if same:
                self._adopt(work, same[0])
            elif dry:
                work.notes.append("busy with %s" % ", ".join(ids))
            elif self.on_busy == "fail" and initial:
                busy[work.instance_id] = ids
            elif self.on_busy == "skip":
                work.state, work.outcome = FINAL, ("busy", "busy: %s of the same template is running on it and "
                                                           "does something else" % ", ".join(ids))
            else:
                work.state, work.blockers = BLOCKED, set(ids)
                work.waited_for.extend(i for i in ids if i not in work.waited_for)
        if busy:
            raise BusyError(busy)

    def _adopt(self, work, view):
        batch = next((b for b in self.batches if not b.mine and b.execution_id == view["execution_id"]), None)
        if batch is None:
            parameters = view.get("parameters") or {}
            batch = Batch(work.region, parameters.get("action") or work.action, [], adopted=True)
            batch.execution = dict(view, adopted=True, client_token="")
            self.batches.append(batch)
        batch.instance_ids.append(work.instance_id)
        work.state, work.batch = BATCHED, batch

    def _release_blocked(self):
        """Instances whose blocking executions all ended are planned again (the module reads them anew).
        True if any was."""
        ready = {}
        for work in self.work.values():
            if work.state == BLOCKED and all(self.views.get(i, {}).get("done", True) for i in work.blockers):
                ready.setdefault(work.region, []).append(work)
        for region, group in ready.items():
            try:
                actions = self.spec.replan(region, [w.instance_id for w in group])
            except Exception as exc:  # pylint: disable=broad-exception-caught
                if transient(exc):
                    self.transient_errors.append(describe(exc)[0])
                    continue
                for work in group:
                    work.state, work.outcome = FINAL, ("failed", "could not read it again after %s ended: %s" % (
                        ", ".join(work.blockers), describe(exc)[0]))
                continue
            for work in group:
                work.accounted |= work.blockers
                action = actions.get(work.instance_id)
                if action is None:
                    work.state, work.outcome = FINAL, ("unchanged", "nothing to do after %s ended" % ", ".join(
                        sorted(work.blockers)))
                else:
                    work.state, work.action, work.blockers = QUEUED, action, set()
        return bool(ready)

    # --- starting -------------------------------------------------------------------------------------
    def _running_count(self):
        return sum(1 for b in self.batches if b.started and b.mine and not b.done)

    def _ready_batches(self, unbounded):
        if self.stopped or self.clock() >= self.deadline or not self._guard_starts():
            return []
        now = self.clock()
        ready = [w for w in self.work.values() if w.state == QUEUED and w.not_before <= now]
        if not self.gate_open:
            self._pick_adopted_canary()
            if self.canary is not None:
                return []
        groups = {}
        for work in ready:
            groups.setdefault((work.region, work.action), []).append(work.instance_id)
        for (region, action), ids in list(groups.items()):
            if self._expecting(region):   # only full batches while the region is still read
                del ids[len(ids) - len(ids) % self.spec.batch_size:]
                if not ids:
                    del groups[(region, action)]
        room = len(ready) if unbounded else self.max_running - self._running_count()
        if not self.gate_open:
            room = min(room, 1)
        running = [i for b in self.batches if b.started and not b.done for i in b.instance_ids]
        plan = plan_batches(list(groups.items()), self.spec.batch_size, room, self.guards.zone_of,
                            self.guards.zone_limits, in_flight_by_zone(running, self.guards.zone_of))
        return [Batch(region, action, ids, *self.spec.batch(region, action, ids)) for (region, action), ids in plan]

    def _guard_starts(self):
        """False (and no more starts) once the window's last start time passed or failures exceed the budget,
        while instances still wait to start."""
        guards = self.guards
        if not any(w.state in (QUEUED, BLOCKED) for w in self.work.values()):
            return True
        if self._past_last_start():
            self._stop(guards.start_note, kind="window", result="deferred")
            return False
        allowance = guards.failure_allowance
        if allowance is not None and self.failed_count() > allowance:
            self._stop("%d instance(s) failed, more than the failure budget allows (%d%s)" % (
                self.failed_count(), allowance, guards.failure_note), kind="failure_budget")
            return False
        return True

    def _past_last_start(self):
        return self.guards.start_until is not None and self.clock() >= self.guards.start_until

    def failed_count(self):
        """Instances that failed so far in the executions of this run (their ``Counters``)."""
        return self.hook_failed + sum(int(((b.execution or {}).get("counters") or {}).get("Failed") or 0)
                                      for b in self.batches if b.started)

    def _window_cancel(self):
        """With a window that cancels at its end: once it ended, cancel our executions that still run."""
        if self.guards.cancel_at is None or self.clock() < self.guards.cancel_at:
            return
        mine = [b for b in self.batches if b.started and b.mine and not b.done
                and b.execution_id not in self.window_cancelled]
        self._stop(self.guards.start_note, kind="window", result="deferred")
        if not mine:
            return
        errors = self._cancel(mine, self.deadline)
        for batch in mine:
            if errors.get(batch.execution_id):
                self.transient_errors.append(errors[batch.execution_id])
            else:
                self.window_cancelled.add(batch.execution_id)
        self.say("the maintenance window ended: cancelled %d execution(s) still running" % len(
            [b for b in mine if b.execution_id in self.window_cancelled]))

    def _pick_adopted_canary(self):
        """A paused canary of an earlier run of the same change becomes this run's canary."""
        if self.canary is None:
            for batch in self.batches:
                if not batch.mine and not batch.done and batch.execution.get("loop_mode") == "FirstBatchPause":
                    self.canary = batch
                    batch.canary = True
                    return

    # --- the spec's steps around our own executions (a patch round's hooks) ----------------------------
    def _before_start(self, chosen):
        """``before_start(batches, deadline)`` (a step given to the runner) runs right before the chosen batches start
        and names the instances that must not be acted on ({instance id: why}); those end ``skipped`` and the
        batches are made again without them."""
        if self.before_start is None or not chosen:
            return chosen
        dropped = self.before_start(chosen, self.deadline) or {}
        if not dropped:
            return chosen
        kept = []
        for batch in chosen:
            for instance_id in batch.instance_ids:
                if instance_id in dropped:
                    self.work[instance_id].state, self.work[instance_id].outcome = FINAL, ("skipped", dropped[instance_id])
            ids = [i for i in batch.instance_ids if i not in dropped]
            if ids:
                kept.append(Batch(batch.region, batch.action, ids, *self.spec.batch(batch.region, batch.action, ids)))
        return kept

    def _hooks_due(self):
        """Our ended executions still waiting for the ``after_batch`` step (none without one; not those that gave
        way, nor those whose reads failed for good: their children are read, or not, by ``finish``)."""
        if self.after_batch is None:
            return []
        return [b for b in self.batches if b.mine and b.started and b.done and not b.error
                and b.execution_id not in self.cancelled and b.execution_id not in self.hooked]

    def _after_batches(self):
        """``after_batch(batch, children, deadline)`` (a step given to the runner) once for each of our executions that
        ended (not one that gave way in a tie-break), with its child executions by instance; it returns how many
        instances it failed.
        A read of the children that fails transiently is tried again next round."""
        for batch in self._hooks_due():
            if self.clock() >= self.deadline:
                return
            try:
                children = {instance_of(c): c for c in child_executions(self.api_for(batch.region),
                                                                        batch.execution_id, self.deadline, True)}
            except Exception as exc:  # pylint: disable=broad-exception-caught
                if transient(exc):
                    self.transient_errors.append(describe(exc)[0])
                else:
                    batch.error = describe(exc)   # the step cannot run; its instances say why
                continue
            self.hooked[batch.execution_id] = children
            self.hook_failed += int(self.after_batch(batch, children, self.deadline) or 0)

    def _start(self, batch):
        loop_mode = "FirstBatchPause" if batch.canary else None
        view = start_execution(self.api_for(batch.region), self.template, batch.parameters, batch.token_content,
                               loop_mode=loop_mode, deadline=self.deadline, **self.start_options)
        self._answered[id(batch)] = self.clock()    # when this start was answered (the forecast's start moment)
        return view

    def _start_and_verify(self, unbounded=False):
        chosen = self._ready_batches(unbounded)
        if not chosen:
            return
        chosen = self._before_start(chosen)
        if not chosen:
            return
        if not self.gate_open:
            chosen[0].canary = True
            self.canary = chosen[0]
        for batch in chosen:
            for instance_id in batch.instance_ids:
                self.work[instance_id].state = BATCHED
        for outcome in run_bounded(self._start, chosen, self.workers):
            self._started(outcome.item, outcome)
        regions = sorted({b.region for b in chosen if b.started})
        if regions:
            self._refresh(regions)
            self._resolve_conflicts()

    def _started(self, batch, outcome):
        if outcome.ok:
            self.say("started %s: %s on %d instance(s) in %s%s" % (
                outcome.value.get("execution_id"), batch.action, len(batch.instance_ids), batch.region,
                " (the canary)" if batch.canary else ""))
            batch.execution, batch.started = outcome.value, True
            batch.adopted = bool(outcome.value.get("adopted"))
            batch.execution["region"] = batch.region
            self.views[batch.execution_id] = dict(outcome.value, region=batch.region)
            self.coverage[batch.execution_id] = set(batch.instance_ids)
            self.batches.append(batch)
            for instance_id in batch.instance_ids:
                self.work[instance_id].batch = batch
            answered = self._answered.pop(id(batch), self.clock())
            if not batch.adopted and not batch.canary:   # a canary's pause makes it unlike the others
                self.forecast.started(batch.execution_id, (batch.action, len(batch.instance_ids)), answered)
            return
        if batch is self.canary:
            self.canary = None
        if transient(outcome.error):
            # The start may have happened with its answer lost: the next listing shows it, and it is adopted.
            self.transient_errors.append(describe(outcome.error)[0])
            for instance_id in batch.instance_ids:
                self.work[instance_id].state = QUEUED
            return
        batch.error = (str(outcome.error), {}) if isinstance(outcome.error, ExecutionError) else describe(outcome.error)
        self.batches.append(batch)
        for instance_id in batch.instance_ids:
            self.work[instance_id].batch = batch
        self._stop("an earlier batch could not be started")

    def _stop(self, reason, kind=None, result="cancelled"):
        if self.stopped is None:
            self.stopped, self.stop_kind, self.stop_result = reason, kind, result
            if self.source is not None:
                self.source.stop()    # nothing more will start: the rest need not be read
            if kind in ("window", "failure_budget"):
                left = sum(1 for w in self.work.values() if w.state in (QUEUED, BLOCKED))
                self.say("no more batches start: %s; %d instance(s) not started" % (reason, left))
        for work in self.work.values():
            if work.state in (QUEUED, BLOCKED):
                work.state, work.outcome = FINAL, (result, "not started: %s" % reason)

    # --- polling ----------------------------------------------------------------------------------
    def _say_lookup(self):
        if self._expecting():
            self.say("looked up the running executions in %d region(s); batches start as the instances are read"
                     % len(self._listed_at))
            return
        adopted = sum(1 for w in self.work.values() if w.batch is not None and not w.batch.mine)
        blocked = [w for w in self.work.values() if w.state == BLOCKED]
        stale = sum(1 for w in blocked if all(self.views.get(i, {}).get("done", True) for i in w.blockers))
        self.say("%d instance(s) to change; %d already in executions doing the same (adopted), %d busy with other "
                 "executions, %d to read again (an execution on them ended since they were read)" % (
                     len(self.work), adopted, len(blocked) - stale, stale))

    def progress_line(self):
        """One line: executions running and finished, instances by outcome so far, and what waits."""
        started = [b for b in self.batches if b.started]
        running = sum(1 for b in started if not b.done)
        counts = dict(Success=0, Failed=0, Running=0)
        for batch in started:
            for key in counts:
                counts[key] += int(((batch.execution or {}).get("counters") or {}).get(key) or 0)
        parts = [self.source.progress()] if self.source is not None else []
        parts += ["%d execution(s) running, %d finished" % (running, len(started) - running),
                  "instances %(Success)d succeeded, %(Failed)d failed, %(Running)d running" % counts]
        queued = sum(1 for w in self.work.values() if w.state == QUEUED)
        blocked = sum(1 for w in self.work.values() if w.state == BLOCKED)
        if queued:
            parts.append("%d not started yet" % queued)
        if blocked:
            parts.append("%d waiting for other executions" % blocked)
        if self.canary is not None and not self.gate_open:
            parts.append("canary %s waiting for its first wave" % self.canary.execution_id)
        if self.transient_errors:
            parts.append("%d read(s) failed after retries and were tried again" % len(self.transient_errors))
        return "; ".join(parts)

    def _round(self):
        if not self._fresh:   # the first round uses the lookup's listings
            self._refresh(self._regions_to_list())
        self._fresh = False
        self._resolve_conflicts()
        self._after_batches()
        self._window_cancel()
        self._judge_canary()
        self._retake_cancelled_adoptions()
        if self.source is not None:
            self._take_ready()
        self._release_blocked()
        self._assign()
        if self._release_blocked():   # instances whose plan is stale are read again before anything starts
            self._assign()
        self._start_and_verify()
        self.say(self.progress_line(), every=60)
        return self

    def _regions_to_list(self):
        """The regions a round lists: those where an instance still waits to start, or an execution it is in
        (ours or adopted) has not been seen ended. A region where every instance has its outcome or an ended
        execution has nothing left that a listing decides (no start, no tie-break, no stale plan)."""
        return sorted({w.region for w in self.work.values() if w.state in (QUEUED, BLOCKED)
                       or (w.state == BATCHED and (w.batch is None or not w.batch.done))})

    def _retake_cancelled_adoptions(self):
        """An adopted execution that was cancelled (by its job, as the loser of a tie-break, or by a person) did
        not make the change: its instances are read again and acted on like new ones."""
        for batch in self.batches:
            if batch.mine or not batch.done or (batch.execution or {}).get("status") != "Cancelled":
                continue
            for instance_id in batch.instance_ids:
                work = self.work[instance_id]
                if work.batch is batch and not self.stopped:
                    work.state, work.batch, work.blockers = BLOCKED, None, {batch.execution_id}
                    work.waited_for.append(batch.execution_id)

    def _finished(self, _value=None):
        if self._expecting():
            return False
        if any(w.state in (QUEUED, BLOCKED) for w in self.work.values()):
            return False
        if self._hooks_due():
            return False
        return all(b.done for b in self.batches if b.started)

    def _refresh(self, regions):
        self._listed = set()
        sent, read = self.clock(), []
        for outcome in run_bounded(self._read_region, regions, self.workers):
            if outcome.ok:
                self._merge(outcome.item, *outcome.value)
                self._listed_at[outcome.item] = sent
                read.append(outcome.item)
                try:
                    self._cover(outcome.item)
                except Exception as exc:  # pylint: disable=broad-exception-caught
                    self._unreadable(outcome.item, describe(exc))
                continue
            if transient(outcome.error):
                self.transient_errors.append(describe(outcome.error)[0])
            else:
                self._unreadable(outcome.item, describe(outcome.error))
        self._observe(read, sent, self.clock())

    def _observe(self, regions, sent, answered):
        """Tell the forecast what the listings of ``regions`` (sent and answered at those moments) showed of our
        executions; only those that succeeded tell how long the others take."""
        for batch in self.batches:
            if batch.mine and batch.started and (batch.region in regions or batch.error is not None):
                status = (batch.execution or {}).get("status")
                self.forecast.seen(batch.execution_id, batch.done, sent, answered, usable=batch.error is None
                                   and status == "Success" and batch.execution_id not in self.cancelled)

    def _next_poll(self, _value, default):
        """The delay before the next round: just after the next predicted end of our executions while instances
        wait for a slot (or a step waits for ended batches), else after the last one; between ``poll_interval``
        and four times it. Before any of them ended, or when they all run late, the backoff's ``default``."""
        waiting = self.after_batch is not None or any(w.state in (QUEUED, BLOCKED) for w in self.work.values())
        return self.forecast.wait(self.clock(), default, self.poll_interval, self.poll_interval * 4, last=not waiting)

    def _read_region(self, region):
        """One listing of the template's executions since the lookup (ours, and any that started since), and
        the older unfinished ones that matter, read by id: ``(listed items, {id: view or None})``. Runs in a
        worker thread, so it only reads the runner's state; ``_refresh`` merges what it returns."""
        api = self.api_for(region)
        query = {"TemplateName": self.template, "StartDateAfter": self.since[region], "SortField": "StartDate",
                 "SortOrder": "Descending", "MaxResults": LIST_PAGE}
        items = list_all(lambda p: api.call("ListExecutions", p, deadline=self.deadline), query, ("Executions",))
        listed = {i.get("ExecutionId") for i in items}
        watched = [i for i, v in self.views.items() if v["region"] == region and not v["done"] and i not in listed
                   and self._matters(i)]
        return items, get_executions(api, watched, self.workers, self.deadline)

    def _merge(self, region, items, by_id):
        for item in items:
            self._see(region, item)
        for execution_id, view in by_id.items():
            old = self.views[execution_id]
            self.views[execution_id] = dict(view, region=region) if view else dict(
                old, status="", done=True, status_message="the execution no longer exists")
        for batch in self.batches:
            if batch.region == region and batch.started and batch.execution_id in self.views:
                keep = dict(client_token=batch.execution.get("client_token", ""), adopted=batch.adopted)
                batch.execution = dict(self.views[batch.execution_id], **keep)
        self._listed.update(i.get("ExecutionId") for i in items)

    def _matters(self, execution_id):
        """Whether an unfinished execution the listing no longer shows must be read by id: one of ours or
        adopted, one an instance waits for, or one that may cover a queued instance."""
        if any(b.execution_id == execution_id for b in self.batches):
            return True
        if any(execution_id in w.blockers for w in self.work.values() if w.state == BLOCKED):
            return True
        covered = self.coverage.get(execution_id)
        return covered is None or any(self.work[i].state == QUEUED for i in covered if i in self.work)

    def _unreadable(self, region, error):
        """An error that will not go away while reading ``region``: stop waiting there, and say why."""
        for batch in self.batches:
            if batch.region == region and batch.started and not batch.done:
                batch.error = error
        for work in self.work.values():
            if work.region == region and work.state in (QUEUED, BLOCKED):
                work.state, work.outcome = FINAL, ("cancelled", "not started: could not read the executions: %s"
                                                   % error[0])

    def _resolve_conflicts(self):
        """Cancel each of our running executions that an overlapping unfinished one must win over (``gives_way``).
        Its instances are decided again: they adopt the winner if it makes the same change, else wait for what
        runs on them; a new start comes only after a random pause."""
        losers = []
        own = {b.execution_id for b in self.batches if b.mine} | self.cancelled
        for batch in self.batches:
            if not batch.mine or not batch.started or batch.done or batch.execution_id in self.cancelled:
                continue
            verifying = not batch.verified
            if batch.execution_id in self._listed:
                batch.verified = True
            rivals = [v for v in self.views.values() if v["region"] == batch.region and v["execution_id"] not in own
                      and self._overlaps(batch, v) and gives_way(batch.execution, v, verifying)]
            if rivals:
                batch.superseded_by = rivals[0]["execution_id"]
                losers.append(batch)
        if not losers:
            return
        errors = self._cancel(losers, self.deadline)
        pause = self.clock() + random.uniform(0, 2 * self.poll_interval)
        for batch in losers:
            if errors.get(batch.execution_id):
                self.transient_errors.append(errors[batch.execution_id])
                batch.superseded_by = ""
                batch.verified = False
                continue  # tried again next round
            self.cancelled.add(batch.execution_id)
            self.say("cancelled %s right after its start: %s of another job works on the same instances" % (
                batch.execution_id, batch.superseded_by))
            active_on = self._index()[0]
            for instance_id in batch.instance_ids:
                # Adopt the winner if it makes the same change; otherwise decide again like a new instance
                # (wait for what runs on it, and read it again before acting).
                work = self.work[instance_id]
                work.state, work.batch = QUEUED, None
                work.not_before = pause
                same = [v for v in active_on.get((batch.region, instance_id), ())
                        if v["execution_id"] not in self.cancelled and self._intent(v) == self._own_intent(work)]
                if same:
                    self._adopt(work, same[0])
            if batch is self.canary:
                self.canary = None

    def _overlaps(self, batch, view):
        """Whether ``view`` works, or worked since this run's plan, on an instance of our ``batch``: an unfinished
        execution on one of them, or one that ended after the plan was read (it started after our lookup, and
        finished before our start was seen) on one whose plan does not know of it yet."""
        covered = self.coverage.get(view["execution_id"], set())
        if not view["done"]:
            return bool(covered & set(batch.instance_ids))
        if view["execution_id"] in self.settled:
            return False
        return any(view["execution_id"] not in self.work[i].accounted for i in batch.instance_ids if i in covered)

    def _cancel(self, batches, deadline):
        by_region = {}
        for batch in batches:
            by_region.setdefault(batch.region, []).append(batch)
        errors = {}
        for region, group in by_region.items():
            api = self.api_for(region)
            ids = [b.execution_id for b in group]
            errors.update(cancel_executions(api, ids, self.workers, deadline))
            try:
                views = get_executions(api, ids, self.workers, deadline)
            except Exception:  # pylint: disable=broad-exception-caught
                views = {}   # the statuses stay as last seen; the next reads (or the report) say more
            for batch in group:
                if views.get(batch.execution_id):
                    self.views[batch.execution_id] = dict(views[batch.execution_id], region=region)
                    batch.execution.update(views[batch.execution_id])
        return errors

    def _judge_canary(self):
        """Once the canary paused after its first wave (or ended): approve it if that wave succeeded, else stop."""
        batch = self.canary
        if batch is None or self.gate_open or not batch.started or not batch.execution:
            return
        view = batch.execution
        if view["status"] != "Waiting" and not view["done"]:
            return
        api = self.api_for(batch.region)
        try:
            children = child_executions(api, batch.execution_id, self.deadline, True)
            bad = [c for c in children if c["status"] in ("Failed", "Cancelled")]
            if bad or view["status"] not in ("Waiting", "Success"):
                self.say("the canary failed on %d instance(s): cancelling %s, starting nothing more" % (
                    len(bad), batch.execution_id))
                self.canary_children = children
                self._stop("the canary batch failed")
                if not view["done"]:
                    self._cancel([batch], self.deadline)
                return
            if view["status"] == "Waiting" and self._past_last_start():
                # Approving would start the rest of the canary's batch after the window's last start time.
                self._stop(self.guards.start_note, kind="window", result="deferred")
                error = self._cancel([batch], self.deadline).get(batch.execution_id)
                if error:
                    self.transient_errors.append(error)
                    return   # cancelled at the next round
                self.window_cancelled.add(batch.execution_id)
                self.say("the canary's first wave succeeded, but no batch may start any more in the window: "
                         "cancelled %s instead of approving it" % batch.execution_id)
            elif view["status"] == "Waiting":
                notify_execution(api, batch.execution_id, "Approve", deadline=self.deadline,
                                 NotifyNote="canary batch succeeded")
                self.say("the canary's first wave succeeded on %d instance(s): approved %s" % (
                    len(children), batch.execution_id))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if transient(exc):
                self.transient_errors.append(describe(exc)[0])
                return
            batch.error = describe(exc)
            self._stop("the canary batch could not be judged")
            return
        self.canary_children = children
        self.gate_open = True

    # --- outcomes ----------------------------------------------------------------------------------
    def _settle(self, blocked, queued=None):
        for work in self.work.values():
            if work.state == BLOCKED:
                work.state, work.outcome = FINAL, ("cancelled" if self.wait else "busy",
                                                   blocked % ", ".join(sorted(work.blockers)))
            elif work.state == QUEUED:
                work.state, work.outcome = FINAL, ("cancelled", queued)

    def _not_started(self, reason=None):
        if reason is None and self.transient_errors:
            reason = "starting it kept failing: %s" % self.transient_errors[-1]
        return "not started: %s" % reason if reason else "not started"

    def _note_superseded(self, children):
        for batch in self.batches:
            if batch.execution_id not in self.cancelled:
                continue
            reached = children.get(batch.execution_id, {})
            for instance_id in batch.instance_ids:
                if instance_id in reached:
                    self.work[instance_id].notes.append(
                        "%s reached it before it was cancelled for the older %s" % (
                            batch.execution_id, batch.superseded_by))

    def executions(self):
        """The executions this run started or adopted, in order."""
        return [b for b in self.batches if b.started or b.error]


def _ended_before(view, moment):
    ended = parse_api_time(view.get("end_date"))
    return ended is not None and ended.replace(tzinfo=None) < moment     # the runner's times are naive UTC
