"""oos_patch_snapshot_cleanup against the simulator: only snapshots provably taken by oos_patch_run go."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_run
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_snapshot_cleanup as module
from unit_helpers import mutating, sim_args

FLEET = {"regions": {"cn-hangzhou": {"instances": [
    {"name": "web", "count": 4, "os_type": "linux", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
     "patches": [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important")]}]}}}


def last_seq(server):
    calls = server.calls()
    return calls[-1]["seq"] if calls else 0


def names(result, action=None):
    return sorted(e["snapshot_name"] for e in result["snapshots"] if action is None or e["action"] == action)


def console_install(server, instance_id):
    """An install with a snapshot started outside the collection (no ecs-ops-patch-run tag); its execution id."""
    from alibabacloud_oos20190601 import models

    oos = server.oos()
    params = {"action": "install", "whetherCreateSnapshot": True, "retentionDays": 30,
              "targets": {"Type": "ResourceIds", "ResourceIds": [instance_id], "RegionId": "cn-hangzhou"}}
    execution_id = oos.start_execution(models.StartExecutionRequest(
        template_name="ACS-ECS-BulkyApplyPatchBaseline", parameters=json.dumps(params))).body.execution.execution_id
    for _attempt in range(200):
        found = oos.list_executions(models.ListExecutionsRequest(execution_id=execution_id)).body.executions
        if found and found[0].status in ("Success", "Failed", "Cancelled"):
            return execution_id
        time.sleep(0.05)
    raise AssertionError("the console install did not finish")


@pytest.fixture
def fleet(sim_server_factory, run_module):
    """Two instances patched by oos_patch_run with snapshots (by child execution id), one by a console execution,
    and snapshots named after the collection's parent execution, after no execution, and freely; all ten days
    old but one named after the collection's execution and made now."""
    server = sim_server_factory(fleet=FLEET)
    ids = [i.id for i in server.sim.instances("cn-hangzhou")]
    rc, result = run_module(oos_patch_run.main, sim_args(server, action="install", instance_ids=ids[:2],
                                                         create_snapshot=True, snapshot_retention_days=30,
                                                         poll_interval=0.1))
    assert rc == 0 and result["summary"]["snapshots"] == 2, result.get("msg")
    console = console_install(server, ids[2])
    store = server.sim.components["snapshots"]
    inst = server.sim.instance(ids[3])
    now = server.sim.clock.now()
    parent = result["execution_ids"][0]
    store.create(inst, "Snapshot-%s" % parent, 30, now, 1)
    store.create(inst, "Snapshot-exec-0000000000000000dead", 30, now, 1)
    store.create(inst, "manual-backup", 30, now, 1)
    old = [s["id"] for s in store.all("cn-hangzhou")]
    server.admin("POST", "snapshots/backdate", {"snapshot_ids": old, "days": 10})
    store.create(inst, "Snapshot-%s" % parent, 30, server.sim.clock.now(), 1)      # young
    server.run = result
    child = server.sim.components["executions"].snapshot()[console]["children"][0]["execution_id"]
    server.console_snapshot = "Snapshot-%s" % child
    return server


def test_only_the_collections_old_snapshots_go_and_a_second_run_changes_nothing(fleet, run_module):
    task = sim_args(fleet, retention_days=7)
    ours = sorted("Snapshot-%s" % c for c in [e["child_execution_id"] for e in fleet.run["instances"].values()])
    parent = "Snapshot-%s" % fleet.run["execution_ids"][0]

    seq = last_seq(fleet)
    rc, check = run_module(module.main, task, check_mode=True)
    assert rc == 0 and check["changed"] and mutating(fleet, seq) == [], check.get("msg")
    assert names(check, "would_delete") == sorted(ours + [parent])
    assert check["summary"] == dict(found=6, deleted=0, would_delete=3, kept=3, failed=0)
    reasons = {e["snapshot_name"]: e["reason"] for e in check["snapshots"] if e["action"] == "kept"}
    assert "was not started by oos_patch_run (no ecs-ops-patch-run tag)" in reasons[fleet.console_snapshot]
    assert "no longer exists" in reasons["Snapshot-exec-0000000000000000dead"]
    assert "younger than retention_days" in reasons[parent]
    assert "manual-backup" not in names(check)
    wanted = {e["instance_id"] for e in check["snapshots"] if e["snapshot_name"] in ours}
    assert wanted == set(fleet.run["instances"])

    seq = last_seq(fleet)
    rc, real = run_module(module.main, task)
    assert rc == 0 and real["changed"] and real["summary"]["deleted"] == 3, real.get("msg")
    assert sorted(real["deleted_snapshot_ids"]) == sorted(check["deleted_snapshot_ids"])
    assert mutating(fleet, seq) == ["DeleteSnapshot"] * 3
    left = {s["name"] for s in fleet.sim.components["snapshots"].snapshot().values()}
    assert left == {"manual-backup", "Snapshot-exec-0000000000000000dead", parent, fleet.console_snapshot}

    seq = last_seq(fleet)
    rc, again = run_module(module.main, task)
    assert rc == 0 and not again["changed"] and mutating(fleet, seq) == [] and again["summary"]["kept"] == 3


def test_a_delete_the_api_refuses_fails_the_task_after_the_others(fleet, run_module):
    fleet.admin("POST", "faults", {"action": "DeleteSnapshot", "code": "SnapshotCreatedImage", "http_status": 403,
                                   "message": "The snapshot has been used to create user defined image(s).",
                                   "count": 1})
    rc, result = run_module(module.main, sim_args(fleet, retention_days=7))
    assert rc == 1 and result["msg"].startswith("Could not delete 1 snapshot(s): ")
    assert "SnapshotCreatedImage" in result["msg"] and result["summary"]["deleted"] == 2
    assert result["summary"]["failed"] == 1


@pytest.mark.parametrize("bad,fragment", [
    ({"retention_days": 0}, "retention_days must be from 1 to 65536, got 0"),
    ({"retention_days": 7, "regions": ["cn-hangzhou", "Hangzhou"]}, "regions must be a region id"),
    ({"retention_days": 7, "region": None}, "region is required"),
])
def test_bad_input_fails_before_any_call(sim_server, run_module, bad, fragment):
    rc, result = run_module(module.main, dict(sim_args(sim_server), **bad))
    assert rc == 1 and fragment in result["msg"], result["msg"]
    assert [c for c in sim_server.calls() if c["product"] in ("ecs", "oos")] == []
