"""R-audit-sched: a schedule is never run twice, and never lost, whatever happens to the task that changes it.

- a changed schedule (stop the old invocation, start the new one) whose start is throttled beyond the retry
  budget: the old schedule still runs when the task fails, and the failure says so;
- the same change killed (SIGKILL) between its two steps: the re-run ends with exactly the new schedule running;
- check mode of a change: the exact plan (replace, which invocation would stop) and no mutating call.

Evidence: the simulator's state (the invocations still active and their frequency) and its call log (every
mutating call), not only what the module says.
"""

from __future__ import annotations

import signal

from harness import names_to_ids, run_module, run_module_async, wait_until

NAME = "r-audit-nightly"
MODULE = "ecs_cloud_assistant_schedule"
ACTIVE = ("Pending", "Running", "Scheduled")
OLD, NEW = "0 30 2 * * ?", "0 45 3 * * ?"


def task(sim, frequency=OLD, **extra):
    ids = names_to_ids(sim)
    return dict(dict(name=NAME, command="echo nightly", instance_ids=[ids["web-1"], ids["web-2"]],
                     frequency=frequency, timezone="Asia/Shanghai"), **extra)


def active_ids(sim):
    """The invocations the simulator still runs (the fleet is reset before each test: all are the schedule's)."""
    return sorted(i for i, inv in sim.state()["commands"]["invocations"].items() if inv["status"] in ACTIVE)


def create(sim):
    rc, result, _out, err = run_module(sim, MODULE, task(sim))
    assert rc == 0 and result["action"] == "created", (result, err[-2000:])
    return result["schedule"]["invoke_id"]


def assert_settled(sim, frequency):
    """One invocation runs the schedule; a further run with ``frequency`` changes nothing and makes no mutating call
    (so the one left runs ``frequency``)."""
    running = active_ids(sim)
    assert len(running) == 1, running
    mark = sim.mark()
    rc, again, _out, err = run_module(sim, MODULE, task(sim, frequency))
    assert rc == 0 and again["action"] == "unchanged", (again, err[-2000:])
    assert again["schedule"]["invoke_id"] == running[0]
    assert again["schedule"]["frequency"].startswith(frequency)
    assert sim.mutating_calls(mark) == []


def test_a_change_whose_start_is_throttled_keeps_the_old_schedule(sim):
    old = create(sim)
    sim.faults(dict(action="RunCommand", code="Throttling.User", count=100))
    mark = sim.mark()
    rc, result, _out, _err = run_module(sim, MODULE, task(sim, NEW, api_retries=1))
    assert rc == 1 and "RunCommand" in result["msg"], result
    assert "still runs" in result["msg"] and old in result["msg"], result["msg"]
    assert result["changed"] is False and result.get("stopped_invoke_ids", []) == [], result
    assert [c["action"] for c in sim.mutating_calls(mark)] == ["RunCommand"] * 2   # never StopInvocation
    assert active_ids(sim) == [old]                                 # the old schedule still runs
    sim.clear_faults()
    rc, result, _out, err = run_module(sim, MODULE, task(sim, NEW))
    assert rc == 0 and result["action"] == "replaced" and result["stopped_invoke_ids"] == [old], (result, err)
    assert_settled(sim, NEW)


def test_a_change_killed_between_its_two_steps_converges_on_the_rerun(sim):
    old = create(sim)
    # The second step is slow; the task is killed while it waits for it.
    sim.faults(dict(action="StopInvocation", latency_ms=20000, count=1),
               dict(action="RunCommand", latency_ms=20000, count=1))
    mark = sim.mark()
    run = run_module_async(sim, MODULE, task(sim, NEW), timeout=120)
    try:
        wait_until(lambda: sim.calls(mark, action="StopInvocation") or sim.calls(mark, action="RunCommand"),
                   60, what="the first step of the change")
        run.send_signal(signal.SIGKILL)
        run.result()
    finally:
        run.stop()
    sim.clear_faults()
    wait_until(lambda: len(sim.mutating_calls(mark)) >= 1, 30, what="the first step to be logged")
    # Whatever the first step was, the old schedule or the new one runs; never none, never two afterwards.
    rc, result, _out, err = run_module(sim, MODULE, task(sim, NEW))
    assert rc == 0, (result, err[-2000:])
    assert result["action"] in ("replaced", "deduplicated"), result
    assert old in result["stopped_invoke_ids"], result
    assert_settled(sim, NEW)                                        # the one left runs the new frequency


def test_check_mode_of_a_change_plans_it_exactly_and_mutates_nothing(sim):
    old = create(sim)
    mark = sim.mark()
    rc, result, _out, err = run_module(sim, MODULE, dict(task(sim, NEW), _ansible_diff=True), check=True)
    assert rc == 0 and result["changed"] is True and result["action"] == "replaced", (result, err[-2000:])
    assert result["stopped_invoke_ids"] == [old] and result["differences"] == ["spec"]
    assert result["schedule"]["invoke_id"] == ""
    assert result["diff"]["before"]["frequency"].startswith(OLD) and result["diff"]["after"]["frequency"].startswith(NEW)
    assert sim.mutating_calls(mark) == []
    assert active_ids(sim) == [old]
