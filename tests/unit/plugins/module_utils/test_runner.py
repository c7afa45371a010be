"""The execution runner: adopt, wait, busy, the tie-break between two jobs, waits that survive transient
errors, starts bounded by the deadline, the canary, and the bound on running executions.

The OOS here is an in-memory model driven by a fake clock: these cases need interleavings (another job's
start landing between our listing and our start, errors on exactly the n-th poll) that the simulator
cannot produce on demand. The reliability suite runs the same situations against the simulator.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos import runner as rn
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.rollout import Guards
from unit_helpers import ApiError, FakeClock

EPOCH = datetime(2026, 11, 28, 12, 0, 0)
TEMPLATE = "T"


def throttled():
    return ApiError("Throttling.User", 400)


class FakeOos:
    """Executions of template T whose status follows the clock: Started for 1 s, Running for ``duration``,
    then ``final`` (or Waiting after the first wave when started with FirstBatchPause)."""

    def __init__(self, clock, duration=10.0):
        self.clock = clock
        self.duration = duration
        self.executions = {}
        self.tokens = {}
        self.calls = []
        self.faults = {}        # action -> list of exceptions raised by the next calls, in turn
        self.before_start = None  # called before each StartExecution (another job starting first)
        self.fail_children = set()

    # --- model ---------------------------------------------------------------------------
    def add(self, instance_ids, action="install", status=None, template=TEMPLATE, age=0.0, duration=None,
            loop_mode="Automatic", tags=None, execution_id=None):
        execution_id = execution_id or "exec-%03d" % (len(self.executions) + 1)
        self.executions[execution_id] = dict(
            id=execution_id, template=template, ids=list(instance_ids), action=action, start=self.clock.now - age,
            duration=self.duration if duration is None else duration, forced=status, loop_mode=loop_mode,
            approved=False, tags=dict(tags or {}))
        return execution_id

    def status(self, e):
        if e["forced"]:
            return e["forced"]
        elapsed = self.clock.now - e["start"]
        if elapsed < 1:
            return "Started"
        if e["loop_mode"] == "FirstBatchPause" and not e["approved"]:
            return "Waiting"
        if elapsed < 1 + e["duration"]:
            return "Running"
        bad = [i for i in e["ids"] if i in self.fail_children]
        return "Failed" if bad else "Success"

    def row(self, e):
        created = EPOCH + timedelta(seconds=e["start"])
        status = self.status(e)
        ended = EPOCH + timedelta(seconds=min(self.clock.now, e["start"] + 1 + e["duration"]))
        return {"ExecutionId": e["id"], "TemplateName": e["template"], "Status": status,
                "CreateDate": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "EndDate": ended.strftime("%Y-%m-%dT%H:%M:%SZ") if status in ("Success", "Failed", "Cancelled") else "",
                "StartDate": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "LoopMode": e["loop_mode"],
                "Tags": e["tags"],
                "Parameters": {"action": e["action"],
                               "targets": {"Type": "ResourceIds", "ResourceIds": e["ids"], "RegionId": "r"}}}

    def children(self, e):
        status = self.status(e)
        rows = []
        for n, instance_id in enumerate(e["ids"]):
            if status in ("Started",):
                continue
            if status == "Waiting" or status == "Running":
                child = "Failed" if instance_id in self.fail_children and n == 0 else "Running"
                if e["loop_mode"] == "FirstBatchPause" and n > 0 and not e["approved"]:
                    continue
            elif status == "Cancelled":
                child = "Cancelled"
            else:
                child = "Failed" if instance_id in self.fail_children else "Success"
            rows.append({"ExecutionId": "%s-%d" % (e["id"], n), "ParentExecutionId": e["id"], "Status": child,
                         "Parameters": {"instanceId": instance_id}})
        return rows

    # --- API ------------------------------------------------------------------------------
    def call(self, action, params=None, deadline=None, attempts=None):
        params = dict(params or {})
        self.calls.append((action, params))
        if attempts is not None:
            attempts.append(action)
        queue = self.faults.get(action)
        if queue:
            raise queue.pop(0)
        return getattr(self, action)(params)

    def StartExecution(self, p):
        if self.before_start:
            hook, self.before_start = self.before_start, None
            hook()
        token = p["ClientToken"]
        if token in self.tokens:
            return {"Execution": self.row(self.executions[self.tokens[token]])}
        parameters = json.loads(p["Parameters"])
        execution_id = self.add(parameters["targets"]["ResourceIds"], parameters["action"],
                                loop_mode=p.get("LoopMode") or "Automatic", tags=json.loads(p.get("Tags") or "{}"))
        self.tokens[token] = execution_id
        return {"Execution": self.row(self.executions[execution_id])}

    def ListExecutions(self, p):
        if p.get("ParentExecutionId"):
            rows = self.children(self.executions[p["ParentExecutionId"]])
        else:
            rows = [self.row(e) for e in self.executions.values()]
            if p.get("ExecutionId"):
                rows = [r for r in rows if r["ExecutionId"] == p["ExecutionId"]]
            if p.get("TemplateName"):
                rows = [r for r in rows if p["TemplateName"] in r["TemplateName"]]
            if p.get("Status"):
                rows = [r for r in rows if r["Status"] == p["Status"]]
            if p.get("StartDateAfter"):
                rows = [r for r in rows if r["CreateDate"] >= p["StartDateAfter"]]
        start = int(p.get("NextToken") or 0)
        size = int(p.get("MaxResults") or 50)
        more = start + size < len(rows)
        return {"Executions": rows[start:start + size], "NextToken": str(start + size) if more else ""}

    def CancelExecution(self, p):
        self.executions[p["ExecutionId"]]["forced"] = "Cancelled"
        return {}

    def NotifyExecution(self, p):
        self.executions[p["ExecutionId"]]["approved"] = True
        return {}

    def starts(self):
        return [p for a, p in self.calls if a == "StartExecution"]


class Spec:
    """A module side: batches name their instances; the intent is the action; replanning keeps the action
    (or says nothing is left to do for ``done`` instances)."""

    batch_size = 2

    def __init__(self):
        self.done = set()
        self.replanned = []

    def batch(self, region, action, ids):
        parameters = {"action": action, "targets": {"Type": "ResourceIds", "ResourceIds": list(ids), "RegionId": region}}
        return parameters, dict(parameters)

    @staticmethod
    def intent(parameters, secret_names):
        return parameters.get("action")

    def replan(self, region, ids):
        self.replanned.append(list(ids))
        return {i: None if i in self.done else "install" for i in ids}


def runner(api, clock, spec=None, **kwargs):
    options = dict(max_running=2, timeout=300, poll_interval=1.0)
    options.update(kwargs)
    return rn.Runner(lambda region: api, TEMPLATE, spec or Spec(), sleep=clock.sleep, clock=clock.time,
                     now=lambda: EPOCH + timedelta(seconds=clock.now), **options)


def work(*ids, action="install"):
    return {i: ("r", action) for i in ids}


def covered(api, execution_id):
    return api.executions[execution_id]["ids"]


@pytest.fixture
def clock():
    return FakeClock(start=100.0)


def test_nothing_runs_yet_so_everything_starts_with_at_most_n_running(clock):
    api = FakeOos(clock)
    run = runner(api, clock).run(work("i-1", "i-2", "i-3", "i-4", "i-5"))
    assert not run.timed_out and run._finished()
    assert [covered(api, e) for e in api.executions] == [["i-1", "i-2"], ["i-3", "i-4"], ["i-5"]]
    started = sorted(api.executions.values(), key=lambda e: e["start"])
    assert started[2]["start"] >= started[0]["start"] + 11   # the third waited for a free slot
    assert all(w.batch.execution["status"] == "Success" and not w.batch.adopted for w in run.work.values())


def test_an_execution_doing_the_same_change_is_adopted_and_only_the_rest_starts(clock):
    api = FakeOos(clock)
    earlier = api.add(["i-1", "i-2", "i-9"], age=5)       # an interrupted run; i-9 is not ours
    run = runner(api, clock).run(work("i-1", "i-2", "i-3"))
    assert run.work["i-1"].batch.adopted and run.work["i-1"].batch.execution_id == earlier
    assert run.work["i-1"].batch is run.work["i-2"].batch and run.work["i-1"].batch.instance_ids == ["i-1", "i-2"]
    assert api.starts() and all(covered(api, e) in (["i-1", "i-2", "i-9"], ["i-3"]) for e in api.executions)
    assert run.work["i-3"].batch.execution["status"] == "Success"


def test_an_adopted_execution_cancelled_by_its_owner_is_taken_over(clock):
    """The execution we adopted is cancelled before it made the change (its job lost a tie-break, or a person
    cancelled it): the instance is read again and changed by an execution of ours."""
    api = FakeOos(clock)
    theirs = api.add(["i-1"], age=0.5)
    spec = Spec()
    run = runner(api, clock, spec)
    run._begin(work("i-1"))
    run._assign(initial=True)
    assert run.work["i-1"].batch.execution_id == theirs
    api.executions[theirs]["forced"] = "Cancelled"
    waited = rn.wait_for(run._round, run._finished, 120, interval=1, sleep=clock.sleep, clock=clock.time)
    assert waited.done and spec.replanned == [["i-1"]]
    assert run.work["i-1"].batch.mine and run.work["i-1"].batch.execution["status"] == "Success"
    assert run.work["i-1"].waited_for == [theirs]


def test_an_execution_doing_something_else_is_waited_for_then_the_instance_is_planned_again(clock):
    api = FakeOos(clock)
    other = api.add(["i-1"], action="uninstall", age=2)
    spec = Spec()
    run = runner(api, clock, spec).run(work("i-1", "i-2"))
    mine = [e for e in api.executions.values() if e["id"] != other]
    assert [e["ids"] for e in mine] == [["i-2"], ["i-1"]]
    i1 = [e for e in mine if e["ids"] == ["i-1"]][0]
    assert i1["start"] >= api.executions[other]["start"] + 11   # only after the other one ended
    assert spec.replanned == [["i-1"]] and run.work["i-1"].waited_for == [other]


def test_nothing_left_to_do_after_the_wait_is_unchanged(clock):
    api = FakeOos(clock)
    other = api.add(["i-1"], action="uninstall")
    spec = Spec()
    spec.done.add("i-1")
    run = runner(api, clock, spec).run(work("i-1"))
    assert run.work["i-1"].outcome == ("unchanged", "nothing to do after %s ended" % other)
    assert not api.starts()


def test_an_instance_another_job_changed_while_it_waited_in_the_queue_is_planned_again(clock):
    """Our second batch waits for a free slot; meanwhile another job's execution does the work on i-3 and ends
    between two polls (never seen running). Before starting, i-3 is read again: nothing left to do."""
    api = FakeOos(clock)
    spec = Spec()
    run = runner(api, clock, spec, max_running=1)
    run._begin(work("i-1", "i-2", "i-3", "i-4"))
    run._assign(initial=True)
    run._start_and_verify()
    other = api.add(["i-3"], duration=0.5)
    spec.done.add("i-3")
    clock.sleep(15)
    waited = rn.wait_for(run._round, run._finished, 120, interval=1, sleep=clock.sleep, clock=clock.time)
    assert waited.done and spec.replanned == [["i-3"]]
    assert run.work["i-3"].outcome == ("unchanged", "nothing to do after %s ended" % other)
    assert [covered(api, e) for e in api.executions if e != other] == [["i-1", "i-2"], ["i-4"]]


def test_busy_skip_reports_and_busy_fail_raises_before_any_start(clock):
    api = FakeOos(clock)
    other = api.add(["i-1"], action="uninstall")
    run = runner(api, clock, on_busy="skip").run(work("i-1", "i-2"))
    assert run.work["i-1"].outcome[0] == "busy" and other in run.work["i-1"].outcome[1]
    assert [covered(api, e) for e in api.executions if e != other] == [["i-2"]]
    api2 = FakeOos(clock)
    api2.add(["i-1"], action="uninstall")
    with pytest.raises(rn.BusyError) as caught:
        runner(api2, clock, on_busy="fail").run(work("i-1", "i-2"))
    assert list(caught.value.busy) == ["i-1"] and not api2.starts()


def test_the_lookup_finds_long_lived_and_recent_executions_only_of_the_template(clock):
    api = FakeOos(clock)
    api.add(["i-1"], action="uninstall", age=3 * 86400, status="Waiting")    # days old, waiting for approval
    api.add(["i-2"], action="uninstall", template="Other")
    api.add(["i-3"], action="uninstall", age=90000, status="Success")
    run = runner(api, clock, on_busy="skip").run(work("i-1", "i-2", "i-3"))
    assert run.work["i-1"].outcome[0] == "busy"
    assert run.work["i-2"].batch.started and run.work["i-3"].batch.started
    lookups = [call[1] for call in api.calls if call[0] == "ListExecutions"][:3]
    assert [p.get("Status") for p in lookups] == ["Running", "Waiting", None]
    assert lookups[2]["StartDateAfter"] == (EPOCH + timedelta(seconds=100 - 86400)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_two_jobs_that_looked_at_the_same_moment_keep_only_the_older_execution(clock):
    """Another job's execution lands between our lookup and our start: ours is younger, so it is cancelled
    right after the start, and our instances adopt the other job's execution (it does the same change)."""
    api = FakeOos(clock)
    rival = {}
    api.before_start = lambda: rival.setdefault("id", api.add(["i-2", "i-3"]))
    run = runner(api, clock).run(work("i-1", "i-2"))
    mine = [b for b in run.batches if not b.adopted]
    assert mine[0].superseded_by == rival["id"] and api.executions[mine[0].execution_id]["forced"] == "Cancelled"
    names = [call[0] for call in api.calls]
    cancel, start = names.index("CancelExecution"), names.index("StartExecution")
    assert cancel - start <= 2, "the younger execution is cancelled right after the listing that follows its start"
    assert run.work["i-2"].batch.execution_id == rival["id"] and run.work["i-2"].batch.adopted
    assert run.work["i-1"].batch.execution["status"] == "Success" and not run.work["i-1"].batch.adopted
    at_once = [e for e in api.executions.values() if "i-2" in e["ids"] and e["forced"] != "Cancelled"]
    assert len(at_once) == 1


def test_the_execution_created_second_in_the_same_second_gives_way_whatever_its_id(clock):
    """CreateDate has whole seconds. Another job's execution was created just before ours in the same second,
    with an id that sorts after ours: ours must still give way at the listing right after its start (the
    other job's own check ran before ours existed, so it keeps its execution)."""
    api = FakeOos(clock)
    clock.now = 100.2
    api.before_start = lambda: api.add(["i-1"], execution_id="exec-zzz")
    run = runner(api, clock).run(work("i-1"))
    mine = [b for b in run.batches if b.mine][0]
    assert mine.execution_id < "exec-zzz" and mine.superseded_by == "exec-zzz"
    assert run.work["i-1"].batch.execution_id == "exec-zzz" and run.work["i-1"].batch.adopted


def test_after_its_first_listing_an_execution_gives_way_only_to_an_older_one(clock):
    api = FakeOos(clock)
    run = runner(api, clock)
    run._begin(work("i-1"))
    run._assign(initial=True)
    run._start_and_verify()
    api.add(["i-1"], action="uninstall", execution_id="exec-000")   # same second, smaller id, seen late
    run._refresh(["r"])
    run._resolve_conflicts()
    assert run.cancelled and api.executions["exec-000"]["forced"] is None


def test_the_older_of_two_jobs_keeps_its_execution(clock):
    api = FakeOos(clock)
    run = runner(api, clock)
    run._begin(work("i-1"))
    run._assign(initial=True)
    run._start_and_verify()
    clock.now += 1
    younger = api.add(["i-1"], action="uninstall")      # started by someone else a second after ours
    run._refresh(["r"])
    run._resolve_conflicts()
    assert not run.cancelled and api.executions[younger]["forced"] is None


def test_transient_poll_failures_longer_than_the_retries_do_not_end_the_wait(clock):
    api = FakeOos(clock)
    run = runner(api, clock)
    run._begin(work("i-1"))
    api.faults["ListExecutions"] = [throttled()] * 6 + [ApiError("ServiceUnavailable", 503)] * 3
    run._assign(initial=True)
    waited = rn.wait_for(run._round, run._finished, 120, interval=1, max_interval=4, backoff=1.25,
                         sleep=clock.sleep, clock=clock.time)
    assert waited.done and run.work["i-1"].batch.execution["status"] == "Success"
    assert len(run.transient_errors) >= 9


def test_an_error_that_will_not_go_away_ends_the_wait_for_that_region(clock):
    api = FakeOos(clock)
    run = runner(api, clock, max_running=1)
    run._begin(work("i-1", "i-2", "i-3"))
    run._assign(initial=True)
    run._start_and_verify()
    api.faults["ListExecutions"] = [ApiError("Forbidden.RAM", 403)] * 50
    waited = rn.wait_for(run._round, run._finished, 120, interval=1, sleep=clock.sleep, clock=clock.time)
    assert waited.done and clock.now < 110
    assert run.work["i-1"].batch.error[1]["code"] == "Forbidden.RAM"
    assert run.work["i-3"].outcome[1].startswith("not started: could not read the executions: ")


def test_starts_after_the_wait_began_are_bounded_by_the_deadline(clock):
    api = FakeOos(clock, duration=100)
    run = runner(api, clock, max_running=1, timeout=30).run(work("i-1", "i-2", "i-3"))
    assert run.timed_out and clock.now <= 100 + 30 + 1
    assert run.work["i-3"].outcome == ("cancelled", "not started: wait_timeout passed before its batch could start")
    assert run.work["i-1"].batch.started and not run.work["i-1"].batch.done


def test_a_throttled_start_is_tried_again_and_a_lost_answer_is_adopted_not_repeated(clock):
    api = FakeOos(clock)
    original = api.StartExecution

    def lost(p):          # the start happens, its answer is lost
        original(p)
        api.StartExecution = original
        raise ApiError("ServiceUnavailable", 503)

    api.StartExecution = lost
    run = runner(api, clock).run(work("i-1", "i-2"))
    assert len(api.executions) == 1 and run.work["i-1"].batch.execution["status"] == "Success"
    assert run.work["i-1"].batch.adopted and run.transient_errors


def test_a_start_that_fails_for_good_stops_further_starts(clock):
    api = FakeOos(clock)
    api.faults["StartExecution"] = [ApiError("InvalidParameter", 400)]
    run = runner(api, clock, max_running=1).run(work("i-1", "i-2", "i-3"))
    assert run.stopped and run.work["i-1"].batch.error and not run.work["i-1"].batch.started
    assert run.work["i-3"].outcome == ("cancelled", "not started: an earlier batch could not be started")
    assert len(api.starts()) == 1


def test_canary_is_approved_when_its_first_wave_succeeded(clock):
    api = FakeOos(clock)
    run = runner(api, clock, canary=True).run(work("i-1", "i-2", "i-3", "i-4"))
    first = run.batches[0]
    assert first.canary and api.executions[first.execution_id]["approved"]
    assert api.starts()[0]["LoopMode"] == "FirstBatchPause" and api.starts()[1].get("LoopMode") is None
    actions = [call[0] for call in api.calls if call[0] in ("StartExecution", "NotifyExecution")]
    assert actions == ["StartExecution", "NotifyExecution", "StartExecution"]   # the rest only after the approval
    assert all(w.batch.execution["status"] == "Success" for w in run.work.values())


def test_a_failed_canary_is_cancelled_and_nothing_else_starts(clock):
    api = FakeOos(clock)
    api.fail_children.add("i-1")
    run = runner(api, clock, canary=True).run(work("i-1", "i-2", "i-3"))
    assert run.stopped == "the canary batch failed" and len(api.starts()) == 1
    assert api.executions[run.batches[0].execution_id]["forced"] == "Cancelled"
    assert run.work["i-3"].outcome == ("cancelled", "not started: the canary batch failed")


def test_a_paused_canary_of_an_interrupted_run_is_judged_by_the_rerun(clock):
    api = FakeOos(clock)
    paused = api.add(["i-1", "i-2"], age=30, loop_mode="FirstBatchPause")
    run = runner(api, clock, canary=True).run(work("i-1", "i-2", "i-3"))
    assert run.canary.execution_id == paused and api.executions[paused]["approved"]
    assert [covered(api, e) for e in api.executions if e != paused] == [["i-3"]]


def test_without_wait_everything_starts_at_once_and_busy_instances_are_reported(clock):
    api = FakeOos(clock)
    other = api.add(["i-5"], action="uninstall")
    run = runner(api, clock, wait=False, max_running=1).run(work("i-1", "i-2", "i-3", "i-4", "i-5"))
    assert len(api.starts()) == 2 and not run.timed_out
    assert run.work["i-5"].outcome == ("busy", "not started: it is busy with %s and wait=false" % other)


def test_secret_names_are_recorded_in_tags_and_excluded_from_the_intent(clock):
    api = FakeOos(clock)
    runner(api, clock, secret_names=["password"], tags={"team": "web"}).run(work("i-1"))
    assert json.loads(api.starts()[0]["Tags"]) == {"team": "web", "ecs-ops-secret-parameters": "password"}
    seen = []

    class Intent(Spec):
        @staticmethod
        def intent(parameters, secret_names):
            seen.append(sorted(secret_names))
            return parameters.get("action")

    other = FakeOos(clock)
    other.add(["i-2"], tags={"ecs-ops-secret-parameters": "token"})
    runner(other, clock, Intent(), secret_names=["password"]).run(work("i-2"))
    assert ["password", "token"] in seen


def test_an_execution_that_ended_long_before_the_plan_is_in_it(clock):
    """Another job's execution on i-1 ended well before this run read its plan (more than the clock skew OOS
    allows): the plan already saw its effect, so i-1 is not read again."""
    api = FakeOos(clock)
    spec = Spec()
    api.add(["i-1"], age=rn.CLOCK_SKEW + 60, duration=2)
    run = runner(api, clock, spec).run(work("i-1", "i-2"))
    assert not run.timed_out and spec.replanned == []
    assert [api.executions[e]["ids"] for e in api.executions][1:] == [["i-1", "i-2"]]


def test_an_execution_that_ended_while_the_plan_was_read_makes_its_instances_planned_again(clock):
    """The sequential double change: job A's execution on i-1 ends after job B read i-1 (not yet changed) but
    before B lists what runs, so B's listing shows it finished. B reads i-1 again instead of trusting its plan,
    finds nothing left to do and changes only i-2."""
    api = FakeOos(clock)
    spec = Spec()
    planned_at = EPOCH + timedelta(seconds=clock.now)
    api.add(["i-1"], age=0.0, duration=0.0)
    clock.sleep(5)      # A's execution ends while B is still reading its plan
    spec.done.add("i-1")
    run = runner(api, clock, spec, planned_at=planned_at).run(work("i-1", "i-2"))
    assert not run.timed_out
    assert spec.replanned == [["i-1"]]
    assert run.work["i-1"].outcome[0] == "unchanged" and run.work["i-1"].batch is None
    assert [api.executions[e]["ids"] for e in api.executions][1:] == [["i-2"]]


def test_a_finished_execution_without_an_end_time_counts_as_recent(clock):
    """An end time that cannot be read cannot be placed before the plan: the instance is read again."""
    api = FakeOos(clock)
    spec = Spec()
    execution_id = api.add(["i-1"], age=rn.CLOCK_SKEW + 60, duration=2)
    original = api.row
    api.row = lambda e: dict(original(e), EndDate="") if e["id"] == execution_id else original(e)
    runner(api, clock, spec).run(work("i-1"))
    assert spec.replanned == [["i-1"]]


def test_an_execution_that_started_and_ended_during_our_start_makes_ours_give_way(clock):
    """Job A starts on i-1 after our lookup and finishes while our (throttled) start is on its way: the listing
    right after our start shows it finished, not running. Ours is cancelled anyway, i-1 is read again (nothing
    left to do) and only i-2 is started again; i-1 is reported with what happened, not changed twice."""
    api = FakeOos(clock)
    spec = Spec()

    def other_job():
        api.add(["i-1"], age=0.0, duration=0.0, execution_id="exec-a")
        clock.sleep(3)
        spec.done.add("i-1")

    api.before_start = other_job
    run = runner(api, clock, spec).run(work("i-1", "i-2"))
    assert not run.timed_out
    ours = [e for e in api.executions if e != "exec-a"]
    assert api.executions[ours[0]]["forced"] == "Cancelled"
    assert [api.executions[e]["ids"] for e in ours[1:]] == [["i-2"]]
    assert run.work["i-1"].outcome[0] == "unchanged"
    assert ["i-1"] in spec.replanned or ["i-1", "i-2"] in spec.replanned


class HookedSpec(Spec):
    """A spec with the patch round's steps (given to the runner as ``before_start`` and ``after_batch``): ``refuse``
    instances fail the step before the start; ``after`` records each ended batch with its children, and fails
    ``break_after`` instances."""

    def __init__(self, refuse=(), break_after=()):
        super().__init__()
        self.refuse, self.break_after = set(refuse), set(break_after)
        self.before, self.after = [], []

    def before_start(self, batches, deadline):
        self.before.append([list(b.instance_ids) for b in batches])
        return {i: "refused" for b in batches for i in b.instance_ids if i in self.refuse}

    def after_batch(self, batch, children, deadline):
        self.after.append((batch.execution_id, sorted(children)))
        return len(self.break_after & set(batch.instance_ids))

    def steps(self):
        return dict(before_start=self.before_start, after_batch=self.after_batch)


def test_the_step_before_a_start_drops_refused_instances_from_the_batch(clock):
    api = FakeOos(clock)
    spec = HookedSpec(refuse={"i-2"})
    run = runner(api, clock, spec, max_running=1, **spec.steps()).run(work("i-1", "i-2", "i-3"))
    assert not run.timed_out
    assert run.work["i-2"].outcome == ("skipped", "refused") and run.work["i-2"].batch is None
    assert [covered(api, e) for e in api.executions] == [["i-1"], ["i-3"]]
    assert spec.before == [[["i-1", "i-2"]], [["i-3"]]]      # once per start round, right before it
    # The step after each batch ran once per ended execution of ours, with its children.
    assert spec.after == [(e, covered(api, e)) for e in api.executions]


def test_failures_of_the_step_after_a_batch_count_in_the_failure_budget(clock):
    api = FakeOos(clock)
    spec = HookedSpec(break_after={"i-1"})
    run = runner(api, clock, spec, max_running=1, guards=Guards(failure_allowance=0), **spec.steps())
    run.run(work("i-1", "i-2", "i-3", "i-4"))
    assert run.hook_failed == 1 and run.failed_count() == 1
    assert run.stop_kind == "failure_budget"
    assert [covered(api, e) for e in api.executions] == [["i-1", "i-2"]]


def test_the_run_is_not_finished_before_the_step_after_its_last_batch(clock):
    api = FakeOos(clock)
    spec = HookedSpec()
    run = runner(api, clock, spec, **spec.steps()).run(work("i-1"))
    assert not run.timed_out and spec.after == [("exec-001", ["i-1"])]
    children, _cancelled, _warnings = run.finish()
    assert list(children["exec-001"]) == ["i-1"]
    reads = [p for a, p in api.calls if a == "ListExecutions" and p.get("ParentExecutionId")]
    assert len(reads) == 1, "finish() reuses the children the step after the batch read"


def test_without_steps_the_runner_reads_children_only_at_the_end(clock):
    """A spec may have the methods, but only the steps given to the runner run."""
    api = FakeOos(clock)
    spec = HookedSpec(refuse={"i-1"})
    run = runner(api, clock, spec).run(work("i-1"))
    assert spec.before == [] and spec.after == [] and run.work["i-1"].batch is not None
    assert not [p for a, p in api.calls if a == "ListExecutions" and p.get("ParentExecutionId")]


def test_a_permission_error_reading_an_ended_batch_does_not_end_the_run(clock):
    """The step after a batch needs its children; a read that will not work (403) leaves the step out, the batch
    says why, and the run still finishes."""
    api = FakeOos(clock)
    spec = HookedSpec()
    original = api.ListExecutions

    def children_forbidden(p):
        if p.get("ParentExecutionId"):
            raise ApiError("Forbidden.RAM", 403)
        return original(p)

    api.ListExecutions = children_forbidden
    run = runner(api, clock, spec, **spec.steps()).run(work("i-1"))
    assert not run.timed_out and run._finished() and spec.after == []
    assert run.batches[0].error and "Forbidden.RAM" in run.batches[0].error[0]


def test_without_waiting_a_stale_plan_is_read_again_and_started(clock):
    """wait=false: an instance an execution changed since its plan was read (that execution has ended) is read
    again and started now; nothing is left waiting."""
    api = FakeOos(clock)
    spec = Spec()
    planned_at = EPOCH + timedelta(seconds=clock.now)
    api.add(["i-1"], age=0.0, duration=0.0)
    clock.sleep(5)
    run = runner(api, clock, spec, planned_at=planned_at, wait=False).run(work("i-1", "i-2"))
    assert spec.replanned == [["i-1"]]
    assert sorted(i for e in list(api.executions)[1:] for i in covered(api, e)) == ["i-1", "i-2"]
    assert run.work["i-1"].batch is not None and run.work["i-1"].outcome is None


# --- work handed over while the runner runs (reading while acting) ---------------------------------------------
class FakeSource:
    """Work that arrives on the fake clock: ``arrivals`` is [(moment, {instance id: action})] of region r; a
    ``problem`` at a moment stops the reads. ``begin`` records what the lookup showed and returns ``first``."""

    regions = ["r"]

    def __init__(self, clock, arrivals, first=None, problem=None, happenings=()):
        self.clock = clock
        self.happenings = sorted(happenings, key=lambda h: h[0])   # (moment, callable): the world moves meanwhile
        self.arrivals = sorted(arrivals, key=lambda a: a[0])
        self.first = dict(first or {})
        self.problem = problem          # (moment, text)
        self.covered = None
        self.started = self.closed = self.halted = False
        self.events = []                # (moment, what) in order

    def begin(self, covered):
        self.covered = set(covered)
        self.events.append((self.clock.now, "begin"))
        return {i: ("r", a) for i, a in self.first.items()}

    def start(self):
        self.started = True

    def _due(self):
        return [a for a in self.arrivals if a[0] <= self.clock.now]

    def reading(self, region):
        return not self.halted and (bool(self.arrivals) or self.problem is not None) or bool(self._due())

    def take(self):
        due = self._due()
        self.arrivals = [a for a in self.arrivals if a not in due]
        problem = None
        if self.problem and self.problem[0] <= self.clock.now:
            problem, self.problem = self.problem[1], None
            self.halted, self.arrivals = True, []
        return {i: ("r", a) for _t, w in due for i, a in w.items()}, problem

    def wait(self, seconds):
        moments = [a[0] for a in self.arrivals] + ([self.problem[0]] if self.problem else [])
        upcoming = [m for m in moments if self.clock.now < m <= self.clock.now + seconds]
        woken = bool(upcoming)
        if woken:
            self.clock.now = min(upcoming)
        else:
            self.clock.sleep(max(0.0, seconds))
        while self.happenings and self.happenings[0][0] <= self.clock.now:
            self.happenings.pop(0)[1]()
        return woken

    def stop(self):
        self.halted = True

    def close(self):
        self.closed = True

    def progress(self):
        return "read some"


def start_moments(api):
    return [(e["start"], e["ids"]) for e in api.executions.values()]


def test_a_source_starts_full_batches_as_they_fill_and_the_rest_when_reads_end(clock):
    """Batch size 2: a batch starts the moment its second instance arrives, not a poll interval later; the odd
    instance waits for the end of the reads; the lookup ran before anything was handed over."""
    api = FakeOos(clock, duration=3.0)
    t0 = clock.now
    source = FakeSource(clock, [(t0 + 0.3, {"i-1": "install"}), (t0 + 2.2, {"i-2": "install"}),
                                (t0 + 7.4, {"i-3": "install", "i-4": "install"}), (t0 + 9.1, {"i-5": "install"})])
    run = runner(api, clock, max_running=5, poll_interval=5.0, source=source).run({})
    assert not run.timed_out and run._finished() and source.started and source.closed
    assert [ids for _s, ids in start_moments(api)] == [["i-1", "i-2"], ["i-3", "i-4"], ["i-5"]]
    assert [round(s - t0, 1) for s, _ids in start_moments(api)] == [2.2, 7.4, 9.1]
    lookups = [n for n, (a, p) in enumerate(api.calls) if a == "ListExecutions" and not p.get("ParentExecutionId")]
    first_start = next(n for n, (a, _p) in enumerate(api.calls) if a == "StartExecution")
    assert len([n for n in lookups if n < first_start]) >= 3
    for n, (action, _p) in enumerate(api.calls):     # a listing right before every start round, one after
        if action == "StartExecution":
            assert any(m > n for m in lookups)
            assert api.calls[n - 1][0] in ("ListExecutions", "StartExecution")
    assert all(w.batch.execution["status"] == "Success" for w in run.work.values())


def test_a_source_gets_the_instances_the_lookup_found_and_busy_fail_raises_before_any_start(clock):
    api = FakeOos(clock)
    other = api.add(["i-9"], action="uninstall", status="Running")
    source = FakeSource(clock, [(clock.now + 1, {"i-1": "install", "i-2": "install"})], first={"i-9": "install"})
    with pytest.raises(rn.BusyError) as caught:
        runner(api, clock, on_busy="fail", source=source).run({})
    assert source.covered == {"i-9"} and list(caught.value.busy) == ["i-9"] and other in caught.value.busy["i-9"]
    assert not api.starts() and not source.started


def test_a_problem_of_the_source_stops_the_starts_and_later_work_is_not_started(clock):
    """A read that fails for good: the batches already started run to their end; what was handed over before and
    after is reported not started, with the reason; the runner does not wait for more."""
    api = FakeOos(clock, duration=3.0)
    t0 = clock.now
    source = FakeSource(clock, [(t0 + 0.5, {"i-1": "install", "i-2": "install"}), (t0 + 1.0, {"i-3": "install"})],
                        problem=(t0 + 1.5, "could not read the package states in r: Forbidden"))
    run = runner(api, clock, max_running=5, source=source).run({})
    assert not run.timed_out and run._finished() and run.stop_kind == "read_error"
    assert [ids for _s, ids in start_moments(api)] == [["i-1", "i-2"]]
    assert run.work["i-1"].batch.execution["status"] == "Success"
    assert run.work["i-3"].outcome == ("cancelled", "not started: could not read the package states in r: Forbidden")


def test_work_handed_over_after_a_stop_is_not_started(clock):
    api = FakeOos(clock, duration=3.0)
    source = FakeSource(clock, [(clock.now + 4.0, {"i-1": "install", "i-2": "install"})])
    run = runner(api, clock, source=source)
    run._begin({})
    run._stop("the window ended", kind="window", result="deferred")
    assert source.halted
    run._take({"i-1": ("r", "install")})
    assert run.work["i-1"].outcome == ("deferred", "not started: the window ended") and not api.starts()


def test_the_deadline_ends_a_run_whose_reads_go_on(clock):
    api = FakeOos(clock)
    source = FakeSource(clock, [(clock.now + 500, {"i-1": "install"})])
    run = runner(api, clock, timeout=30, source=source).run({})
    assert run.timed_out and source.closed and not api.starts()


def test_a_batch_started_on_a_wake_is_checked_by_a_listing_right_before_its_start(clock):
    """Another job starts an uninstall on i-3 after our lookup and after our last listing (more than a poll interval
    before); our batch with i-3 fills on a wake between two polls: the listing right before the start shows the
    uninstall, so i-3 waits for it (then is read again) instead of being started and cancelled by the tie-break."""
    api = FakeOos(clock, duration=3.0)
    t0 = clock.now
    theirs = []
    source = FakeSource(clock, [(t0 + 0.5, {"i-1": "install", "i-2": "install"}),
                                (t0 + 7.4, {"i-3": "install", "i-4": "install"})],
                        happenings=[(t0 + 7.3, lambda: theirs.append(api.add(["i-3"], action="uninstall")))])
    spec = Spec()
    run = runner(api, clock, spec, max_running=5, poll_interval=1.0, source=source).run({})
    assert not run.timed_out and run._finished()
    assert not [a for a, _p in api.calls if a == "CancelExecution"]
    assert run.work["i-3"].waited_for == theirs and spec.replanned == [["i-3"]]
    ours = [(e["start"], e["ids"]) for e in api.executions.values() if e["id"] not in theirs]
    assert [ids for _s, ids in ours] == [["i-1", "i-2"], ["i-4"], ["i-3"]]
    assert ours[2][0] >= t0 + 7.3 + 4      # i-3 started only once the uninstall had ended


def test_a_read_cut_by_the_deadline_is_reported_as_the_timeout_not_as_a_read_error(clock):
    api = FakeOos(clock)
    source = FakeSource(clock, [(clock.now + 500, {"i-1": "install"})],
                        problem=(clock.now + 31, "could not read the package states in r: the deadline passed"))
    run = runner(api, clock, timeout=30, source=source).run({})
    assert run.timed_out and run.stop_kind is None and run.stopped is None and not api.starts()
