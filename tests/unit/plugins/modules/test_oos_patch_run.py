"""oos_patch_run and oos_patch_compliance_info against the simulator, through the real SDK."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_compliance_info as compliance
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_run as module
from unit_helpers import mutating, sim_args, sim_args as conn

PATCHES = [dict(kb_id="kernel.x86_64", classification="Security", severity="Critical", needs_reboot=True),
           dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important"),
           dict(kb_id="curl.x86_64", classification="Security", severity="Important", installed=True)]
FLEET = {"regions": {
    "cn-hangzhou": {"instances": [
        {"name": "al", "count": 45, "os_type": "linux", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
         "patches": PATCHES},
        {"name": "ub", "count": 35, "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit", "patches": PATCHES},
        {"name": "down", "os_type": "linux", "os_name": "CentOS 7.9 64 bit", "status": "Stopped"}]},
    "cn-shanghai": {"instances": [{"name": "sh", "count": 2, "os_type": "linux", "os_name": "CentOS 7.9 64 bit",
                                   "patches": PATCHES}]}}}


def args(server, **extra):
    return sim_args(server, **dict(dict(poll_interval=0.1, wait_timeout=60), **extra))


def ids(server, prefix, region="cn-hangzhou"):
    return [i.id for i in server.sim.instances(region) if i.name.startswith(prefix)]


def last_seq(server):
    calls = server.calls()
    return calls[-1]["seq"] if calls else 0


@pytest.fixture
def fleet(sim_server_factory):
    return sim_server_factory(fleet=FLEET)


def test_scan_then_install_80_instances_with_snapshots(fleet, run_module):
    targets = ids(fleet, "al") + ids(fleet, "ub")
    assert len(targets) == 80
    _rc, before = run_module(compliance.main, conn(fleet, instance_ids=targets))
    assert _rc == 0, before
    assert before["summary"]["never_scanned"] == 80 and before["summary"]["compliant"] == 0

    rc, check = run_module(module.main, args(fleet, action="scan", instance_ids=targets), check_mode=True)
    assert rc == 0 and not check["changed"] and check["summary"]["planned"] == 80 and mutating(fleet) == []

    rc, scan = run_module(module.main, args(fleet, action="scan", instance_ids=targets))
    assert rc == 0 and scan["changed"] is False, scan.get("msg")
    assert len(scan["execution_ids"]) == 2 and scan["summary"]["succeeded"] == 80
    entry = scan["instances"][targets[0]]
    assert entry["after"]["missing"] == 2 and entry["after"]["installed"] == 1 and entry["compliance"] == "non_compliant"

    seq = last_seq(fleet)
    rc, check = run_module(module.main, args(fleet, action="install", instance_ids=targets, create_snapshot=True),
                           check_mode=True)
    assert rc == 0 and check["changed"] and check["summary"]["planned"] == 80 and mutating(fleet, seq) == []
    assert sorted(p["kb_id"] for p in check["instances"][targets[0]]["missing_patches"]) == [
        "kernel.x86_64", "openssl-libs.x86_64"]

    rc, install = run_module(module.main, args(fleet, action="install", instance_ids=targets, create_snapshot=True,
                                               snapshot_retention_days=3, rate_control={"concurrency": 20}))
    assert rc == 0 and install["changed"], install.get("msg")
    summary = install["summary"]
    assert summary["succeeded"] == 80 and summary["patches_installed"] == 160 and summary["snapshots"] == 80
    assert summary["reboot_required"] == 80 and summary["compliant"] == 0
    entry = install["instances"][targets[-1]]
    assert entry["after"]["installed_pending_reboot"] == 1 and entry["after"]["missing"] == 0
    assert entry["reboot_required"] and entry["snapshot_ids"][0].startswith("s-") and entry["child_execution_id"]
    params = [c["params"] for c in fleet.calls(product="oos", action="StartExecution")][-1]
    assert '"retentionDays":3' in params["Parameters"] and '"rebootIfNeed":false' in params["Parameters"]

    seq = last_seq(fleet)
    rc, again = run_module(module.main, args(fleet, action="install", instance_ids=targets, create_snapshot=True))
    assert rc == 0 and again["changed"] is False and again["summary"]["unchanged"] == 80
    assert mutating(fleet, seq) == [] and again["summary"]["snapshots"] == 0, "a re-run started or snapshotted"
    assert "a reboot is pending" in again["instances"][targets[0]]["message"]

    _rc, report = run_module(compliance.main, conn(fleet, instance_ids=targets[:2] + [ids(fleet, "down")[0]],
                                                   patch_statuses=["InstalledPendingReboot"]))
    assert report["summary"] == dict(total=3, compliant=0, non_compliant=2, never_scanned=1, reboot_required=2,
                                     missing=0, failed=0)
    assert [p["kb_id"] for p in report["instances"][targets[0]]["patches"]] == ["kernel.x86_64"]


def test_install_with_reboot_is_compliant_across_regions(fleet, run_module):
    targets = {"cn-hangzhou": ids(fleet, "al")[:2], "cn-shanghai": ids(fleet, "sh", "cn-shanghai")}
    rc, result = run_module(module.main, args(fleet, action="install", instance_ids=targets, reboot_if_need=True))
    assert rc == 0 and result["summary"]["compliant"] == 4 and result["summary"]["reboot_required"] == 0
    assert {e["region"] for e in result["executions"]} == {"cn-hangzhou", "cn-shanghai"}
    _rc, report = run_module(compliance.main, conn(fleet, instance_ids=targets))
    assert report["summary"]["compliant"] == 4

    # A nightly re-run on the compliant fleet: no execution, no snapshot, no change; force runs anyway.
    seq = last_seq(fleet)
    task = args(fleet, action="install", instance_ids=targets, reboot_if_need=True, create_snapshot=True)
    rc, again = run_module(module.main, task)
    assert rc == 0 and not again["changed"] and again["summary"]["unchanged"] == 4 and again["execution_ids"] == []
    assert mutating(fleet, seq) == [] and "compliant at the last install" in again["instances"][targets["cn-hangzhou"][0]]["message"]
    rc, forced = run_module(module.main, dict(task, force=True))
    assert rc == 0 and forced["changed"] and forced["summary"]["snapshots"] == 4, forced.get("msg")


def test_unreachable_fail_and_skip(fleet, run_module):
    targets = ids(fleet, "al")[:2] + ids(fleet, "down") + ["i-bpmissing00000001"]
    rc, result = run_module(module.main, args(fleet, action="scan", instance_ids=targets))
    assert rc == 1 and "2 instance(s) cannot be patched" in result["msg"] and "Stopped" in result["msg"]
    assert mutating(fleet) == []
    rc, result = run_module(module.main, args(fleet, action="scan", instance_ids=targets, unreachable="skip"))
    assert rc == 0 and result["summary"]["unreachable"] == 2 and result["summary"]["succeeded"] == 2
    assert "does not exist" in result["instances"]["i-bpmissing00000001"]["message"]


def test_canary_success(fleet, run_module):
    targets = ids(fleet, "al")[:8]
    rc, result = run_module(module.main, args(fleet, action="install", instance_ids=targets, canary=True,
                                              batch_size=5, rate_control={"concurrency": 2}))
    assert rc == 0 and result["summary"]["succeeded"] == 8, result.get("msg")
    assert [e["canary"] for e in result["executions"]] == [True, False]
    notes = fleet.calls(product="oos", action="NotifyExecution")
    assert len(notes) == 1 and notes[0]["params"]["NotifyType"] == "Approve"
    starts = fleet.calls(product="oos", action="StartExecution")
    assert starts[0]["params"]["LoopMode"] == "FirstBatchPause" and "LoopMode" not in starts[1]["params"]


def test_canary_failure_cancels_and_starts_nothing_else(fleet, run_module):
    targets = ids(fleet, "al")[:8]
    fleet.admin("POST", "instances/%s" % targets[0], {"fail": ["patch"]})
    rc, result = run_module(module.main, args(fleet, action="install", instance_ids=targets, canary=True,
                                              batch_size=5, rate_control={"concurrency": 2}))
    assert rc == 1 and targets[0] in result["msg"]
    assert "The canary wave failed on 1 of 2 instance(s), 6 instance(s) were not patched" in result["msg"]
    assert len(fleet.calls(product="oos", action="StartExecution")) == 1
    assert fleet.calls(product="oos", action="NotifyExecution") == []
    assert result["instances"][targets[0]]["result"] == "failed"
    # Not attempted, so not counted as failed: only the canary instance failed.
    assert [i for i in targets if result["instances"][i]["result"] == "cancelled"] == targets[2:]
    assert result["summary"]["failed"] == 1 and result["summary"]["cancelled"] == 6


def test_timeout_cancels(fleet, run_module):
    targets = ids(fleet, "al")[:3]
    fleet.admin("POST", "clock", {"time_scale": 1.0})
    rc, result = run_module(module.main, args(fleet, action="install", instance_ids=targets, wait_timeout=1,
                                              poll_interval=0.2, cancel_on_timeout=True))
    assert rc == 1 and result["timed_out"] and "Timed out after 1s" in result["msg"]
    assert fleet.calls(product="oos", action="CancelExecution")
    assert result["execution_ids"]


def test_lost_start_and_throttling_are_retried_without_a_second_execution(fleet, run_module):
    fleet.admin("POST", "faults", {"action": "StartExecution", "drop": "after", "count": 1})
    fleet.admin("POST", "faults", {"action": "ListInstancePatchStates", "code": "Throttling.User", "count": 2})
    targets = ids(fleet, "al")[:3]
    rc, result = run_module(module.main, args(fleet, action="scan", instance_ids=targets))
    assert rc == 0 and result["summary"]["succeeded"] == 3, result.get("msg")
    assert len(fleet.calls(product="oos", action="StartExecution")) == 2       # the dropped one was retried
    assert list(fleet.sim.components["executions"].snapshot()) == result["execution_ids"]   # one execution


def test_wait_false_returns_ids(fleet, run_module):
    # At real speed the scan cannot have ended when the task reads it once (at the fleet's fast default clock it
    # sometimes had, on a loaded machine, and the instances were no longer pending).
    fleet.admin("POST", "clock", {"time_scale": 1.0})
    rc, result = run_module(module.main, args(fleet, action="scan", instance_ids=ids(fleet, "al")[:2], wait=False))
    assert rc == 0 and len(result["execution_ids"]) == 1 and result["summary"]["pending"] == 2


@pytest.mark.parametrize("bad,fragment", [
    ({"instance_ids": ["web-1"]}, "is not an instance id"),
    ({"instance_ids": []}, "must not be empty"),
    ({"instance_ids": {"Hangzhou": ["i-bp1aaaa"]}}, "is not a region id"),
    ({"snapshot_retention_days": 0}, "snapshot_retention_days must be from 1 to 65536"),
    ({"snapshot_retention_days": 65537}, "snapshot_retention_days must be from 1 to 65536"),
    ({"action": "scan", "create_snapshot": True}, "create_snapshot only applies to action=install"),
    ({"batch_size": 51}, "batch_size must be between 1 and 50"),
    ({"rate_control": {"concurrency": "lots"}}, "rate_control.concurrency"),
    ({"rate_control": {"max_errors": -1}}, "rate_control.max_errors"),
    ({"canary": True, "wait": False}, "canary needs wait=true"),
    ({"wait_timeout": 0}, "wait_timeout must be at least 1"),
    ({"client_token": "a b"}, "client_token must be"),
    ({"action": "patch"}, "value of action must be one of"),
])
def test_bad_input_fails_before_any_call(fleet, run_module, bad, fragment):
    params = dict(args(fleet, action="install", instance_ids=["i-bp1aaaa"]), **bad)
    rc, result = run_module(module.main, params)
    assert rc == 1 and fragment in result["msg"], result["msg"]
    assert [c for c in fleet.calls() if c["product"] in ("ecs", "oos")] == []


def test_compliance_whole_region(sim_server, run_module):
    _rc, result = run_module(compliance.main, conn(sim_server, include_patches=True))
    assert result["summary"]["never_scanned"] == result["summary"]["total"] == len(sim_server.sim.instances("cn-hangzhou"))
    assert all(e["patches"] == [] for e in result["instances"].values())
