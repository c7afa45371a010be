"""Patch approval, patch baselines, scan/install executions, patch states and snapshots."""

import json

import pytest

from alicloud_sim.core.errors import ApiError
from alicloud_sim.ecs.fleet import fleet
from alicloud_sim.oos import patch_catalogue as pc
from oos_support import PATCH_TEMPLATE, REGION, Direct, linux

NOW = 1_800_000_000.0
LINUX_RULES = {"PatchRules": [{"PatchFilterGroup": [
    {"Key": "Product", "Values": ["*"]}, {"Key": "Classification", "Values": ["Security", "Bugfix"]},
    {"Key": "Severity", "Values": ["Critical", "Important"]}], "ApproveAfterDays": 7, "ApproveUntilDate": "",
    "EnableNonSecurity": False, "ComplianceLevel": "Unspecified"}]}


def patch(kb="curl.x86_64", classification="Security", severity="Important", days=30, installed=False):
    return pc.make_patch(kb, f"{kb}:1.0-1", classification, severity, False, installed, days, NOW)


def baseline(rules=None, approved=(), rejected=()):
    return {"ApprovalRules": rules or LINUX_RULES, "ApprovedPatches": list(approved), "RejectedPatches": list(rejected)}


def rule(classes=("*",), severities=("*",), days=0, until="", non_security=False, product=("*",)):
    return {"PatchRules": [{"PatchFilterGroup": [
        {"Key": "Product", "Values": list(product)}, {"Key": "Classification", "Values": list(classes)},
        {"Key": "Severity", "Values": list(severities)}], "ApproveAfterDays": days, "ApproveUntilDate": until,
        "EnableNonSecurity": non_security}]}


@pytest.mark.parametrize("item, base, expected", [
    (patch(), baseline(), "approved"),
    (patch(severity="Low"), baseline(), "not_approved"),
    (patch(classification="Enhancement"), baseline(), "not_approved"),
    (patch(days=3), baseline(), "not_approved"),
    (patch(days=7), baseline(), "approved"),
    (patch(classification="bugfix", severity="critical"), baseline(), "approved"),
    (patch(classification="Enhancement", severity="Low"), baseline(rule()), "approved"),
    (patch(days=1), baseline(rule(days=2)), "not_approved"),
    (patch(days=30), baseline(rule(until="2026-12-31")), "approved"),
    (patch(days=0), baseline(rule(until="2020-01-01")), "not_approved"),
    (patch(severity="Low"), baseline(approved=["curl.x86_64"]), "approved"),
    (patch(severity="Low"), baseline(approved=["curl.x86_64:1.0-1"]), "approved"),
    (patch(), baseline(rejected=["curl.x86_64"]), "rejected"),
    (patch(), baseline(approved=["curl.x86_64"], rejected=["curl.x86_64"]), "rejected"),
    (patch(classification=""), baseline(rule()), "not_approved"),
    (patch(classification=""), baseline(rule(non_security=True)), "approved"),
    (patch(), baseline(rule(product=["Ubuntu"])), "not_approved"),
    (patch(), baseline(rule(product=["Alibaba Cloud Linux"])), "approved"),
    (patch(), baseline({"PatchRules": []}), "not_approved"),
])
def test_decide(item, base, expected):
    assert pc.decide(item, base, NOW, "linux", "Alibaba Cloud Linux 3.2104 LTS 64 bit") == expected


def test_decide_windows_filters():
    update = patch("KB5030000", "Security Updates", "Critical")
    rules = {"PatchRules": [{"PatchFilterGroup": [
        {"Key": "PatchSet", "Values": ["OS"]}, {"Key": "ProductFamily", "Values": ["Windows"]},
        {"Key": "Classification", "Values": ["Security Updates"]}, {"Key": "Severity", "Values": ["*"]}],
        "ApproveAfterDays": 0}]}
    assert pc.decide(update, baseline(rules), NOW, "windows") == "approved"
    rules["PatchRules"][0]["PatchFilterGroup"][0]["Values"] = ["Application"]
    assert pc.decide(update, baseline(rules), NOW, "windows") == "not_approved"


@pytest.mark.parametrize("installed, pending, failed, decision, action, expected", [
    (True, False, False, "approved", "ALLOW_AS_DEPENDENCY", "Installed"),
    (True, True, False, "approved", "ALLOW_AS_DEPENDENCY", "InstalledPendingReboot"),
    (True, False, False, "not_approved", "BLOCK", "InstalledOther"),
    (True, False, False, "rejected", "BLOCK", "InstalledRejected"),
    (True, False, False, "rejected", "ALLOW_AS_DEPENDENCY", "InstalledOther"),
    (False, False, False, "approved", "BLOCK", "Missing"),
    (False, False, True, "approved", "BLOCK", "Failed"),
    (False, False, False, "not_approved", "BLOCK", None),
    (False, False, False, "rejected", "BLOCK", None),
])
def test_status_of(installed, pending, failed, decision, action, expected):
    item = patch(installed=installed)
    item.update(pending_reboot=pending, failed=failed)
    assert pc.status_of(item, decision, action) == expected


@pytest.mark.parametrize("rules, words", [
    ([], "JSON object"),
    ({"PatchRules": []}, "1 to 10"),
    ({"PatchRules": [{"PatchFilterGroup": []}]}, "non-empty list"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Colour", "Values": ["x"]}]}]}, "not valid for linux"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": []}]}]}, "non-empty list of strings"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Classification", "Values": ["Security Updates"]}]}]},
     "are not valid"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": ["*"]},
                                           {"Key": "Severity", "Values": ["Low"]}]}]}, "appears twice"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": ["*"]}], "ApproveAfterDays": 101}]},
     "ApproveAfterDays"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": ["*"]}], "ApproveAfterDays": "7"}]},
     "ApproveAfterDays"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": ["*"]}], "ApproveAfterDays": 3,
                      "ApproveUntilDate": "2026-01-01"}]}, "not both"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": ["*"]}], "ApproveUntilDate": "soon"}]},
     "ApproveUntilDate"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": ["*"]}], "ComplianceLevel": "Meh"}]},
     "ComplianceLevel"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": ["*"]}], "EnableNonSecurity": "yes"}]},
     "EnableNonSecurity"),
    ({"PatchRules": [{"PatchFilterGroup": [{"Key": "Severity", "Values": ["*"]}], "Extra": 1}]}, "unknown keys"),
])
def test_validate_rules_rejects(rules, words):
    with pytest.raises(ApiError) as info:
        pc.validate_rules(rules, "CentOS")
    assert info.value.code == "InvalidParameter" and words in info.value.message


def test_validate_rules_accepts_the_documented_examples():
    windows = {"PatchRules": [{"PatchFilterGroup": [
        {"Key": "PatchSet", "Values": ["OS"]}, {"Key": "ProductFamily", "Values": ["Windows"]},
        {"Key": "Product", "Values": ["Windows 10", "Windows 7"]},
        {"Key": "Classification", "Values": ["Security Updates", "Updates", "Update Rollups", "Critical Updates"]},
        {"Key": "Severity", "Values": ["Critical", "Important", "Moderate"]}],
        "ApproveAfterDays": 7, "ApproveUntilDate": "", "EnableNonSecurity": True, "ComplianceLevel": "Medium"}]}
    assert pc.validate_rules(windows, "Windows") is windows
    assert pc.validate_rules(LINUX_RULES, "AliyunLinux") is LINUX_RULES
    with pytest.raises(ApiError):
        pc.validate_rules(windows, "Ubuntu")


def test_generated_patches_are_deterministic():
    first = pc.generate("i-abc", "linux", "CentOS 7.9 64 bit", NOW)
    assert first == pc.generate("i-abc", "linux", "CentOS 7.9 64 bit", NOW)
    assert 6 <= len(first) <= 15 and {p["classification"] for p in first} <= {"Security", "Bugfix", "Enhancement"}
    win = pc.generate("i-win", "windows", "Windows Server 2022 DataCenter 64bit", NOW)
    assert all(p["kb_id"].startswith("KB") for p in win)
    assert {p["severity"] for p in win} <= set(pc.SEVERITIES["windows"])


# --- baselines --------------------------------------------------------------------------
@pytest.fixture(name="oos")
def oos_fixture():
    direct = Direct(PATCH_FLEET)
    yield direct
    direct.close()


def create(oos, name="web-baseline", system="CentOS", **kw):
    return oos("CreatePatchBaseline", Name=name, OperationSystem=system,
               ApprovalRules=json.dumps(kw.pop("rules", LINUX_RULES)), **kw)["PatchBaseline"]


def test_public_default_baselines(oos):
    listed = oos("ListPatchBaselines", ShareType="Public")["PatchBaselines"]
    assert {b["Name"] for b in listed} == {f"ACS-{s}-DefaultPatchBaseline" for s in pc.SYSTEM_DEFAULT_SYSTEMS}
    assert all(b["IsDefault"] and b["Id"].startswith("pb-") for b in listed)
    assert all("ApprovalRules" not in b and "RejectedPatches" not in b for b in listed)
    got = oos("GetPatchBaseline", Name="ACS-Windows-DefaultPatchBaseline")["PatchBaseline"]
    assert isinstance(got["ApprovalRules"], dict) and got["ShareType"] == "Public" and got["IsDefault"] is True
    err = oos.error("UpdatePatchBaseline", Name="ACS-CentOS-DefaultPatchBaseline", Description="x")
    assert (err.code, err.status) == ("Forbidden.PublicPatchBaseline", 403)
    assert oos.error("DeletePatchBaseline", Name="ACS-CentOS-DefaultPatchBaseline").status == 403


def test_create_get_update_delete(oos):
    created = create(oos, Description="web servers", ApprovedPatches='["KB1"]', RejectedPatches='["openssl"]',
                     RejectedPatchesAction="BLOCK", Sources='["[main]"]', ApprovedPatchesEnableNonSecurity=True,
                     Tags='[{"Key": "env", "Value": "prod"}]')
    assert created["ApprovalRules"] == LINUX_RULES and created["ShareType"] == "Private"
    assert created["Tags"] == [{"TagKey": "env", "TagValue": "prod"}] and "IsDefault" not in created
    assert (created["ApprovedPatches"], created["RejectedPatches"]) == (["KB1"], ["openssl"])
    assert created["RejectedPatchesAction"] == "BLOCK" and created["ApprovedPatchesEnableNonSecurity"] is True
    got = oos("GetPatchBaseline", Name="web-baseline")["PatchBaseline"]
    assert got["IsDefault"] is False and got["Id"] == created["Id"] and got["CreatedBy"].startswith("root(")
    new_rules = {"PatchRules": [dict(LINUX_RULES["PatchRules"][0], ApproveAfterDays=3)]}
    oos.advance(60)
    updated = oos("UpdatePatchBaseline", Name="web-baseline", ApprovalRules=json.dumps(new_rules),
                  Description="changed", Tags='[]')["PatchBaseline"]
    assert updated["ApprovalRules"] == new_rules and updated["Description"] == "changed" and updated["Tags"] == []
    assert updated["UpdatedDate"] > updated["CreatedDate"] and updated["RejectedPatches"] == ["openssl"]
    err = oos.error("UpdatePatchBaseline", Name="web-baseline", OperationSystem="Ubuntu")
    assert err.code == "InvalidParameter" and "cannot be changed" in err.message
    oos("DeletePatchBaseline", Name="web-baseline")
    err = oos.error("GetPatchBaseline", Name="web-baseline")
    assert (err.code, err.status) == ("EntityNotExists.PatchBaseline", 404)
    assert oos.error("DeletePatchBaseline", Name="web-baseline").status == 404


@pytest.mark.parametrize("kw, code", [
    ({"Name": "ACS-mine"}, "InvalidParameter"),
    ({"Name": "bad name"}, "InvalidParameter"),
    ({"OperationSystem": "Solaris"}, "InvalidParameter"),
    ({"ApprovalRules": "{}"}, "InvalidParameter"),
    ({"ApprovalRules": "nope"}, "InvalidParameter"),
    ({"RejectedPatchesAction": "DROP"}, "InvalidParameter"),
    ({"ApprovedPatches": '"KB1"'}, "InvalidParameter"),
    ({"Tags": '[{"Value": "x"}]'}, "InvalidParameter"),
])
def test_create_validation(oos, kw, code):
    params = {"Name": "b1", "OperationSystem": "CentOS", "ApprovalRules": json.dumps(LINUX_RULES)}
    params.update(kw)
    assert oos.error("CreatePatchBaseline", **params).code == code
    assert oos.error("CreatePatchBaseline", Name="b1", OperationSystem="CentOS").code == "MissingParameter"


def test_names_are_unique_per_region_and_client_token(oos):
    first = create(oos, ClientToken="t1")
    assert create(oos, ClientToken="t1")["Id"] == first["Id"]
    assert oos.error("CreatePatchBaseline", Name="web-baseline", OperationSystem="CentOS", ClientToken="t1",
                     ApprovalRules=json.dumps(LINUX_RULES), Description="x").code == "IdempotentParameterMismatch"
    err = oos.error("CreatePatchBaseline", Name="web-baseline", OperationSystem="Ubuntu",
                    ApprovalRules=json.dumps(LINUX_RULES))
    assert err.code == "EntityAlreadyExists.PatchBaseline"
    assert oos("CreatePatchBaseline", Name="web-baseline", OperationSystem="CentOS", region="cn-shanghai",
               ApprovalRules=json.dumps(LINUX_RULES))["PatchBaseline"]["Id"] != first["Id"]


def test_register_default(oos):
    create(oos)
    registered = oos("RegisterDefaultPatchBaseline", Name="web-baseline")["PatchBaseline"]
    assert registered["Name"] == "web-baseline" and registered["ApprovalRules"] == LINUX_RULES
    assert oos("GetPatchBaseline", Name="web-baseline")["PatchBaseline"]["IsDefault"] is True
    assert oos("GetPatchBaseline", Name="ACS-CentOS-DefaultPatchBaseline")["PatchBaseline"]["IsDefault"] is False
    err = oos.error("DeletePatchBaseline", Name="web-baseline")
    assert (err.code, err.status) == ("Forbidden.DefaultPatchBaseline", 403)
    oos("RegisterDefaultPatchBaseline", Name="ACS-CentOS-DefaultPatchBaseline")
    oos("DeletePatchBaseline", Name="web-baseline")
    assert oos.error("RegisterDefaultPatchBaseline", Name="web-baseline").status == 404


def test_list_filters_and_paging(oos):
    create(oos, "a-centos", Tags='[{"Key": "team", "Value": "web"}]', ApprovedPatches='["KB1", "KB2"]')
    create(oos, "b-ubuntu", "Ubuntu", Sources='["deb http://mirror"]')

    def listed(**kw):
        return [b["Name"] for b in oos("ListPatchBaselines", **kw)["PatchBaselines"]]

    assert listed(ShareType="Private") == ["a-centos", "b-ubuntu"]
    assert set(listed(OperationSystem="Ubuntu")) == {"b-ubuntu", "ACS-Ubuntu-DefaultPatchBaseline"}
    assert listed(Name="centos", ShareType="Private") == ["a-centos"]
    assert listed(Tags='[{"Key": "team", "Value": "web"}]') == ["a-centos"]
    assert listed(ApprovedPatches='["KB2"]') == ["a-centos"]
    assert listed(Sources='["deb http://mirror"]') == ["b-ubuntu"]
    first = oos("ListPatchBaselines", MaxResults=5)
    names = [b["Name"] for b in first["PatchBaselines"]]
    token = first["NextToken"]
    while token:
        nxt = oos("ListPatchBaselines", MaxResults=5, NextToken=token)
        names += [b["Name"] for b in nxt["PatchBaselines"]]
        token = nxt["NextToken"]
    assert len(names) == len(set(names)) == 10
    assert oos.error("ListPatchBaselines", OperationSystem="BeOS").code == "InvalidParameter"


# --- executions ----------------------------------------------------------------------------
PATCHES = [
    {"kb_id": "kernel.x86_64", "classification": "Security", "severity": "Critical", "needs_reboot": True,
     "released_days_ago": 30},
    {"kb_id": "curl.x86_64", "classification": "Security", "severity": "Important", "released_days_ago": 30},
    {"kb_id": "vim.x86_64", "classification": "Enhancement", "severity": "Low", "released_days_ago": 30},
    {"kb_id": "bash.x86_64", "classification": "Security", "severity": "Critical", "released_days_ago": 2},
    {"kb_id": "openssl.x86_64", "classification": "Security", "severity": "Important", "installed": True,
     "released_days_ago": 60},
    {"kb_id": "sudo.x86_64", "classification": "Bugfix", "severity": "Low", "installed": True},
]
PATCH_FLEET = {"regions": {REGION: {"instances": [
    linux("i-p1", patches=PATCHES, os_name="CentOS 7.9 64 bit", platform="CentOS"),
    linux("i-p2", patches=PATCHES, os_name="CentOS 7.9 64 bit", platform="CentOS"),
    linux("i-pfail", patches=PATCHES, os_name="CentOS 7.9 64 bit", platform="CentOS", fail=["patch"]),
    linux("i-slow", patches=PATCHES, os_name="CentOS 7.9 64 bit", platform="CentOS", durations={"patch_install": 9000}),
    linux("i-odd", os_name="Plan 9 from Bell Labs", platform="Plan9"),
    {"id": "i-w1", "os_type": "windows"},
    linux("i-gen"),
]}}}


def instance_status(oos, iid):
    """The status DescribeInstances reports (the ECS view of a reboot)."""
    rows = oos("DescribeInstances", product="ecs", RegionId=REGION, InstanceIds=[iid])["Instances"]["Instance"]
    return rows[0]["Status"]


def states(oos, *ids):
    rows = oos("ListInstancePatchStates", InstanceIds=list(ids))["InstancePatchStates"]
    return {r["InstanceId"]: r for r in rows}


def statuses(oos, iid, **kw):
    return {p["KBId"]: p["Status"] for p in oos("ListInstancePatches", InstanceId=iid, **kw)["Patches"]}


def counts(row):
    return {k: row[k] for k in ("InstalledCount", "InstalledOtherCount", "InstalledPendingRebootCount",
                                "InstalledRejectedCount", "MissingCount", "FailedCount")}


def test_scan_then_install_without_reboot(oos):
    assert states(oos, "i-p1") == {} and statuses(oos, "i-p1") == {}
    view = oos.finish(oos.patch(["i-p1"]))
    assert view["Status"] == "Success"
    row = states(oos, "i-p1")["i-p1"]
    assert row["OperationType"] == "scan" and row["BaselineId"] == oos(
        "GetPatchBaseline", Name="ACS-CentOS-DefaultPatchBaseline")["PatchBaseline"]["Id"]
    assert counts(row) == {"InstalledCount": "1", "InstalledOtherCount": "1", "InstalledPendingRebootCount": "0",
                           "InstalledRejectedCount": "0", "MissingCount": "2", "FailedCount": "0"}
    assert statuses(oos, "i-p1") == {"kernel.x86_64": "Missing", "curl.x86_64": "Missing",
                                     "openssl.x86_64": "Installed", "sudo.x86_64": "InstalledOther"}
    assert statuses(oos, "i-p1", PatchStatuses="Missing") == {"kernel.x86_64": "Missing", "curl.x86_64": "Missing"}
    outputs = json.loads(json.loads(view["Outputs"])["commandOutput"])
    assert len(outputs) == 1 and "Missing 2" in outputs[0]
    view = oos.finish(oos.patch(["i-p1"], action="install"))
    assert view["Status"] == "Success"
    row = states(oos, "i-p1")["i-p1"]
    assert row["OperationType"] == "install" and row["InstalledPendingRebootCount"] == "1"
    assert row["MissingCount"] == "0" and row["InstalledCount"] == "2"
    assert statuses(oos, "i-p1")["kernel.x86_64"] == "InstalledPendingReboot"
    assert instance_status(oos, "i-p1") == "Running"
    fleet(oos.sim).change("i-p1", {"reboot": True})
    assert statuses(oos, "i-p1")["kernel.x86_64"] == "InstalledPendingReboot"
    oos.finish(oos.patch(["i-p1"]))
    assert statuses(oos, "i-p1")["kernel.x86_64"] == "Installed"
    assert oos("DescribeSnapshots", product="ecs", RegionId=REGION)["TotalCount"] == 0


def test_install_with_snapshot_and_reboot(oos):
    exe_id = oos.patch(["i-p1"], action="install", whetherCreateSnapshot=True, retentionDays=3, rebootIfNeed=True)
    oos.advance(1)
    snaps = oos("DescribeSnapshots", product="ecs", RegionId=REGION, InstanceId="i-p1")["Snapshots"]["Snapshot"]
    assert len(snaps) == 1 and snaps[0]["Status"] == "progressing" and snaps[0]["Progress"] == "0%"
    oos.advance(10)
    snap = oos("DescribeSnapshots", product="ecs", RegionId=REGION, InstanceId="i-p1")["Snapshots"]["Snapshot"][0]
    child = oos.children(exe_id)["i-p1"]["ExecutionId"]
    assert snap["Status"] == "accomplished" and snap["Progress"] == "100%" and snap["RetentionDays"] == 3
    assert snap["SnapshotName"] == f"Snapshot-{child}" and snap["SourceDiskType"] == "system"
    assert snap["SnapshotId"].startswith("s-") and snap["SourceDiskId"].startswith("d-")
    oos.advance(60)
    assert instance_status(oos, "i-p1") == "Starting"
    assert oos.execution(exe_id)["Status"] == "Running"
    oos.advance(30)
    assert instance_status(oos, "i-p1") == "Running"
    assert oos.execution(exe_id)["Status"] == "Success"
    row = states(oos, "i-p1")["i-p1"]
    assert (row["InstalledPendingRebootCount"], row["InstalledCount"]) == ("0", "3")
    tasks = oos("ListTaskExecutions", ExecutionId=child)["TaskExecutions"]
    assert [t["TaskName"] for t in tasks] == ["checkInstanceReady", "createSnapshot", "installPatches",
                                              "rebootInstance"]
    assert json.loads(tasks[1]["Outputs"]) == {"snapshotId": snap["SnapshotId"]}


def test_reboot_is_a_high_risk_action(oos):
    params = {"action": "install", "rebootIfNeed": True,
              "targets": {"Type": "ResourceIds", "ResourceIds": ["i-p1", "i-p2"]}}
    exe_id = oos.start(PATCH_TEMPLATE, params)
    oos.advance(100)
    view = oos.execution(exe_id)
    assert view["Status"] == "Waiting" and view["Counters"]["Waiting"] == 2
    children = oos.children(exe_id)
    assert children["i-p1"]["Status"] == "Waiting" and instance_status(oos, "i-p1") == "Running"
    oos("NotifyExecution", ExecutionId=children["i-p1"]["ExecutionId"], NotifyType="Approve")
    oos("NotifyExecution", ExecutionId=children["i-p2"]["ExecutionId"], NotifyType="Reject")
    view = oos.finish(exe_id)
    assert view["Status"] == "Failed" and "rebootInstance was rejected" in view["StatusMessage"]
    assert states(oos, "i-p1", "i-p2")["i-p1"]["InstalledPendingRebootCount"] == "0"
    assert states(oos, "i-p1", "i-p2")["i-p2"]["InstalledPendingRebootCount"] == "1"


def test_injected_patch_failure(oos):
    view = oos.finish(oos.patch(["i-pfail", "i-p1"], action="install",
                                rateControl={"Mode": "Concurrency", "Concurrency": 2, "MaxErrors": 1}))
    assert view["Status"] == "Success" and view["Counters"]["Failed"] == 1
    child = oos.children(view["ExecutionId"])["i-pfail"]
    assert child["Status"] == "Failed" and "patch_manager exited with code 1" in child["StatusMessage"]
    row = states(oos, "i-pfail")["i-pfail"]
    assert row["OperationType"] == "install" and row["FailedCount"] == "2" and row["MissingCount"] == "0"
    assert statuses(oos, "i-pfail", PatchStatuses="Failed") == {"kernel.x86_64": "Failed", "curl.x86_64": "Failed"}


def test_timeout_and_unsupported_os(oos):
    view = oos.finish(oos.patch(["i-slow", "i-odd"], action="install", timeout=600,
                                rateControl={"Mode": "Concurrency", "Concurrency": 2, "MaxErrors": 2}))
    children = oos.children(view["ExecutionId"])
    assert "ExecutionTimeout" in children["i-slow"]["StatusMessage"]
    assert "not supported by patch management" in children["i-odd"]["StatusMessage"]


def test_custom_default_baseline_changes_the_decision(oos):
    create(oos, "strict", rules=rule(classes=("Security",), severities=("Critical",)),
           ApprovedPatches='["vim.x86_64"]', RejectedPatches='["openssl.x86_64"]', RejectedPatchesAction="BLOCK")
    oos("RegisterDefaultPatchBaseline", Name="strict")
    oos.finish(oos.patch(["i-p2"]))
    row = states(oos, "i-p2")["i-p2"]
    assert row["BaselineId"] == oos("GetPatchBaseline", Name="strict")["PatchBaseline"]["Id"]
    assert statuses(oos, "i-p2") == {"kernel.x86_64": "Missing", "vim.x86_64": "Missing", "bash.x86_64": "Missing",
                                     "openssl.x86_64": "InstalledRejected", "sudo.x86_64": "InstalledOther"}


def test_windows_and_generated_patches(oos):
    view = oos.finish(oos.patch(["i-w1", "i-gen"]))
    assert view["Status"] == "Success"
    rows = states(oos, "i-w1", "i-gen")
    windows_baseline = oos("GetPatchBaseline", Name="ACS-Windows-DefaultPatchBaseline")["PatchBaseline"]["Id"]
    assert rows["i-w1"]["BaselineId"] == windows_baseline
    assert all(kb.startswith("KB") for kb in statuses(oos, "i-w1"))


def test_patch_state_listing_errors_and_scope(oos):
    oos.finish(oos.patch(["i-p1"]))
    assert oos.error("ListInstancePatchStates", InstanceIds=[f"i-{n}" for n in range(101)]).code == "InvalidParameter"
    assert oos.error("ListInstancePatches", InstanceId="i-p1", PatchStatuses="Broken").code == "InvalidParameter"
    assert oos.error("ListInstancePatches").code == "MissingParameter"
    assert [r["InstanceId"] for r in oos("ListInstancePatchStates")["InstancePatchStates"]] == ["i-p1"]
    assert oos("ListInstancePatchStates", region="cn-shanghai")["InstancePatchStates"] == []
    assert oos("ListInstancePatches", InstanceId="i-p1", region="cn-shanghai")["Patches"] == []
    page = oos("ListInstancePatches", InstanceId="i-p1", MaxResults=3)
    assert len(page["Patches"]) == 3 and page["NextToken"]


def test_form_style_tags(oos):
    tags = {"Tags.1.Key": "env", "Tags.1.Value": "prod", "Tags.2.Key": "team", "Tags.2.Value": "ops"}
    created = oos("CreatePatchBaseline", Name="form-tags", OperationSystem="Debian",
                  ApprovalRules=json.dumps(LINUX_RULES), **tags)["PatchBaseline"]
    assert created["Tags"] == [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "ops"}]
