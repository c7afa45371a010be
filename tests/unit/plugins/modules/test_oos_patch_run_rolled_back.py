"""oos_patch_run and an instance oos_patch_rollback reset to its pre-patch snapshot, against the simulator through
the real SDK: an install leaves it alone (``held``; no execution, hook or snapshot touches it, it does not count
in the failure budget), check mode says the same, a scan still runs on it, and ``rolled_back=patch`` patches it."""

from __future__ import annotations

import json

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_rollback
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_run as module
from unit_helpers import api_calls, mutating, sim_args, warnings_of

FLEET = {"regions": {"cn-hangzhou": {"instances": [
    {"name": "web", "count": 3, "os_type": "linux", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
     "patches": [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important")]}]}}}
FAST = dict(poll_interval=0.1, wait_timeout=120)
PRE_HOOK = dict(command="echo drained", timeout=30)


def last_seq(server):
    calls = server.calls()
    return calls[-1]["seq"] if calls else 0


def started_on(server, since, hooked=False):
    """The instances of the executions and Cloud Assistant commands started after call ``since`` (``hooked``: a
    hook ran, so there are commands to look at)."""
    touched = set()
    for call in api_calls(server, "StartExecution", since):
        touched.update(json.loads(call["params"]["Parameters"])["targets"]["ResourceIds"])
    commands = api_calls(server, "RunCommand", since)
    assert bool(commands) == hooked, "no hook ran: the test cannot see whether one touched the instance"
    for call in commands:
        # the SDK sends a list as InstanceId.1, InstanceId.2, ...
        touched.update(v for k, v in call["params"].items() if k.startswith("InstanceId."))
    return touched


@pytest.fixture
def fleet(sim_server_factory, run_module):
    """Three instances; the first one's install failed (it still fails) and it was rolled back to the snapshot the
    install took, so it carries ecs-ops-rolled-back=<snapshot id>."""
    server = sim_server_factory(fleet=FLEET)
    server.ids = [i.id for i in server.sim.instances("cn-hangzhou")]
    broken = server.ids[0]
    server.sim.components["instances"].change(broken, {"fail": ["patch"]})
    rc, install = run_module(module.main, sim_args(server, action="install", instance_ids=[broken], create_snapshot=True,
                                                   **FAST))
    assert rc == 1 and install["instances"][broken]["result"] == "failed", install.get("msg")
    rc, rollback = run_module(oos_patch_rollback.main, sim_args(server, instance_ids=[broken], **FAST))
    assert rc == 0 and rollback["instances"][broken]["result"] == "succeeded", rollback.get("msg")
    server.snapshot_id = rollback["instances"][broken]["snapshot_id"]
    assert server.sim.instance(broken).tags["ecs-ops-rolled-back"] == server.snapshot_id
    return server


def test_an_install_holds_the_rolled_back_instance_and_patches_the_others(fleet, run_module):
    broken, others = fleet.ids[0], fleet.ids[1:]
    # As a nightly round sets it: no failure allowed, snapshots, a pre-hook. Patching the broken one again would
    # fail the task; holding it must not.
    task = sim_args(fleet, action="install", instance_ids=fleet.ids, create_snapshot=True, max_failure_percent=0,
                    rate_control=dict(concurrency=3, max_errors="100%"), pre_hook=PRE_HOOK, **FAST)
    seq = last_seq(fleet)
    rc, check = run_module(module.main, task, check_mode=True)
    assert rc == 0 and mutating(fleet, seq) == [], check.get("msg")
    assert check["instances"][broken]["result"] == "held" and check["summary"]["held"] == 1
    assert [check["instances"][i]["result"] for i in others] == ["planned", "planned"]

    seq = last_seq(fleet)
    rc, result = run_module(module.main, task)
    assert rc == 0, result.get("msg")
    held = result["instances"][broken]
    assert held["result"] == "held" and held["message"] == check["instances"][broken]["message"]
    assert held["message"].startswith("held: rolled back to its pre-patch snapshot %s (tag ecs-ops-rolled-back=%s)"
                                      % (fleet.snapshot_id, fleet.snapshot_id))
    assert "remove the tag" in held["message"] and "rolled_back=patch" in held["message"]
    assert held["snapshot_ids"] == [] and held["hooks"] == {} and held["execution_id"] == ""
    assert held["compliant"] is False, "a rolled-back instance is not compliant"
    assert all(result["instances"][i]["result"] == "succeeded" for i in others)
    assert started_on(fleet, seq, hooked=True) == set(others), "an execution or a hook touched the rolled-back instance"
    assert not {"StopInstance", "ResetDisk", "StartInstance"} & set(mutating(fleet, seq))
    assert result["summary"]["held"] == 1 and result["summary"]["failed"] == 0 and result["summary"]["snapshots"] == 2
    assert any("1 instance(s) rolled back earlier were not patched: %s: held" % broken in w for w in warnings_of(result))

    # Alone, it starts nothing at all and changes nothing.
    seq = last_seq(fleet)
    rc, alone = run_module(module.main, dict(task, instance_ids=[broken]))
    assert rc == 0 and not alone["changed"] and alone["execution_ids"] == [] and mutating(fleet, seq) == []
    assert alone["instances"][broken]["result"] == "held"


def test_a_scan_still_runs_and_rolled_back_patch_patches_it(fleet, run_module):
    broken = fleet.ids[0]
    seq = last_seq(fleet)
    rc, scan = run_module(module.main, sim_args(fleet, action="scan", instance_ids=[broken], **FAST))
    assert rc == 0 and scan["instances"][broken]["result"] == "succeeded", scan.get("msg")
    assert started_on(fleet, seq) == {broken}
    assert scan["instances"][broken]["after"]["missing"] == 1, "the scan shows what the rollback took away"

    fleet.sim.components["instances"].change(broken, {"fail": []})   # investigated and fixed
    seq = last_seq(fleet)
    rc, result = run_module(module.main, sim_args(fleet, action="install", instance_ids=[broken], rolled_back="patch",
                                                  create_snapshot=True, **FAST))
    entry = result["instances"][broken]
    assert rc == 0 and entry["result"] == "succeeded" and entry["compliant"], result.get("msg")
    assert started_on(fleet, seq) == {broken} and entry["snapshot_ids"]
