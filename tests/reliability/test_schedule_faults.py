"""R-sched: a schedule converges to exactly one invocation when production gets in the way.

- the lookup (DescribeInvocations) is throttled and the answer of the start (RunCommand) is lost once: the
  retries end with one invocation, and the next run changes nothing;
- every answer of the start is lost, so the run gives up: the invocation it did start is found by its tags on the
  next run, never started twice;
- two runs race (both look up before either starts): both start one, and the run whose invocation is younger
  stops its own at once, with a warning; one invocation runs when both have ended.

Evidence: the module results, the call log (faults fired, the ClientToken of every retry) and the simulator's state
(how many invocations of the schedule are still active), not only the exit codes.
"""

from __future__ import annotations

from harness import names_to_ids, run_module, run_module_async

NAME = "r-nightly"
MODULE = "ecs_cloud_assistant_schedule"
ACTIVE = ("Pending", "Running", "Scheduled")


def task(sim, **extra):
    ids = names_to_ids(sim)
    return dict(dict(name=NAME, command="echo nightly", instance_ids=[ids["web-1"], ids["web-2"]],
                     frequency="0 30 2 * * ?", timezone="Asia/Shanghai"), **extra)


def active(sim):
    """The invocations the simulator still runs (the fleet is reset before each test: all are the schedule's)."""
    return sorted(i for i, inv in sim.state()["commands"]["invocations"].items() if inv["status"] in ACTIVE)


def listed(sim):
    """The active schedules as ecs_cloud_assistant_schedule_info lists them."""
    rc, result, _out, err = run_module(sim, "ecs_cloud_assistant_schedule_info", {"name": NAME})
    assert rc == 0, (result, err[-2000:])
    return sorted(s["invoke_id"] for s in result["schedules"])


def assert_settled(sim, invoke_id):
    """One invocation runs the schedule, and a further run changes nothing and makes no mutating call."""
    assert active(sim) == [invoke_id] == listed(sim)
    mark = sim.mark()
    rc, again, _out, err = run_module(sim, MODULE, task(sim))
    assert rc == 0 and again["action"] == "unchanged" and again["schedule"]["invoke_id"] == invoke_id, (again, err)
    assert sim.mutating_calls(mark) == []


def test_throttled_lookup_and_a_lost_answer(sim):
    sim.faults(dict(action="DescribeInvocations", code="Throttling.User", count=3),
               dict(action="RunCommand", drop="after", count=1))
    mark = sim.mark()
    rc, result, _out, err = run_module(sim, MODULE, task(sim))
    assert rc == 0 and result["action"] == "created", (result, err[-2000:])
    lookups = sim.calls(mark, action="DescribeInvocations")
    assert [c["error_code"] for c in lookups[:3]] == ["Throttling.User"] * 3 and not lookups[3]["error_code"]
    starts = sim.calls(mark, action="RunCommand")
    assert len(starts) == 2 and starts[0]["dropped"] and not starts[1]["dropped"]
    assert starts[0]["params"]["ClientToken"] == starts[1]["params"]["ClientToken"]
    sim.clear_faults()
    assert_settled(sim, result["schedule"]["invoke_id"])


def test_a_run_that_gives_up_after_its_start_was_made(sim):
    sim.faults(dict(action="RunCommand", drop="after", count=100))
    mark = sim.mark()
    rc, result, _out, _err = run_module(sim, MODULE, task(sim, api_retries=2))
    assert rc == 1 and "RunCommand" in result["msg"], result
    starts = sim.calls(mark, action="RunCommand")
    assert len(starts) == 3 and len({c["params"]["ClientToken"] for c in starts}) == 1
    started = active(sim)
    assert len(started) == 1                    # the retries with the same ClientToken started nothing more
    sim.clear_faults()
    assert_settled(sim, started[0])


def test_two_runs_that_race_leave_one_invocation(sim):
    # Both runs look up first (nothing yet), then read the instances slowly, then start: both start one, read the
    # schedule again, and the run whose invocation is younger stops its own before it ever runs.
    sim.faults(dict(action="DescribeInstances", latency_ms=4000, count=2))
    mark = sim.mark()
    runs = [run_module_async(sim, MODULE, task(sim), timeout=120) for _number in range(2)]
    try:
        results = [r.result() for r in runs]
    finally:
        for run in runs:
            run.stop()
    assert all(rc == 0 for rc, _r, _o, _e in results), results
    assert len(sim.calls(mark, action="RunCommand")) == 2          # the race really happened: both started one
    kept = active(sim)
    assert len(kept) == 1 and listed(sim) == kept
    outcomes = sorted((r["action"], r["changed"]) for _rc, r, _o, _e in results)
    assert outcomes == [("created", True), ("unchanged", False)], results
    assert {r["schedule"]["invoke_id"] for _rc, r, _o, _e in results} == set(kept)
    loser = next(r for _rc, r, _o, _e in results if r["action"] == "unchanged")
    assert len(loser["stopped_invoke_ids"]) == 1 and loser["stopped_invoke_ids"][0] not in kept
    assert [c["params"]["InvokeId"] for c in sim.calls(mark, action="StopInvocation")] == loser["stopped_invoke_ids"]
    assert any("at the same time as this one" in str(w) for w in loser.get("warnings", [])), loser
    assert_settled(sim, kept[0])
