"""R-audit-snap: oos_patch_snapshot_cleanup when runs overlap, are killed, or the API throttles.

Three instances were patched with pre-patch snapshots by oos_patch_run, ten days ago (the simulator backdates them).

- two cleanups at once (an AWX schedule and a manual launch), each slow to delete: both end well, every snapshot
  is gone, and neither reports a failure for a snapshot the other deleted;
- every DeleteSnapshot throttled beyond the retry budget: the task fails naming each snapshot it could not delete
  and deletes nothing it did not say; the next run deletes them and the one after changes nothing;

Evidence: the snapshots the simulator still keeps, and its call log.
"""

from __future__ import annotations

from harness import names_to_ids, run_module, run_module_async

MODULE = "oos_patch_snapshot_cleanup"
R = "cn-hangzhou"


def snapshots(sim):
    """{snapshot id: instance id} of the snapshots the simulator keeps."""
    return {i: s["instance_id"] for i, s in sim.state()["snapshots"].items()}


def patched(sim):
    ids = names_to_ids(sim)
    targets = [ids["web-1"], ids["web-2"], ids["web-3"]]
    rc, result, _out, err = run_module(sim, "oos_patch_run", dict(
        action="install", instance_ids=targets, region=R, create_snapshot=True, snapshot_retention_days=30,
        poll_interval=0.2))
    assert rc == 0, (result.get("msg"), err[-2000:])
    sim.admin("snapshots/backdate", {"days": 10})
    taken = snapshots(sim)
    assert sorted(taken.values()) == sorted(targets), taken
    return taken


def test_two_cleanups_at_once_both_end_well(sim):
    taken = patched(sim)
    sim.faults(dict(action="DeleteSnapshot", latency_ms=3000, count=6))
    mark = sim.mark()
    runs = [run_module_async(sim, MODULE, dict(region=R, retention_days=7), timeout=120) for _number in range(2)]
    try:
        results = [r.result() for r in runs]
    finally:
        for run in runs:
            run.stop()
    assert [rc for rc, _r, _o, _e in results] == [0, 0], [(r.get("msg"), e[-1000:]) for _rc, r, _o, e in results]
    assert snapshots(sim) == {}
    assert len(sim.calls(mark, action="DeleteSnapshot")) > 3        # they overlapped: some snapshot was deleted twice
    for _rc, result, _out, _err in results:
        assert result["summary"]["failed"] == 0 and set(result["deleted_snapshot_ids"]) <= set(taken), result


def test_a_throttled_delete_says_what_is_left_and_the_next_run_finishes(sim):
    taken = patched(sim)
    mark = sim.mark()
    sim.faults(dict(action="DeleteSnapshot", code="Throttling.User", count=6))
    rc, result, _out, _err = run_module(sim, MODULE, dict(region=R, retention_days=7, api_retries=1))
    assert rc == 1 and result["msg"].startswith("Could not delete 3 snapshot(s): "), result.get("msg")
    assert "Throttling.User" in result["msg"] and result["summary"]["failed"] == 3
    assert sorted(e["snapshot_id"] for e in result["snapshots"] if e["action"] == "failed") == sorted(taken)
    assert snapshots(sim) == taken                                   # nothing deleted that it did not say
    assert len(sim.calls(mark, action="DeleteSnapshot")) == 6
    sim.clear_faults()
    rc, result, _out, err = run_module(sim, MODULE, dict(region=R, retention_days=7))
    assert rc == 0 and result["changed"] and sorted(result["deleted_snapshot_ids"]) == sorted(taken), (result, err)
    assert snapshots(sim) == {}
    mark = sim.mark()
    rc, result, _out, _err = run_module(sim, MODULE, dict(region=R, retention_days=7))
    assert rc == 0 and not result["changed"] and result["summary"]["found"] == 0, result
    assert sim.mutating_calls(mark) == []
