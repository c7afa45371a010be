"""Conformance: every OOS action of the extension/patch half and ECS DescribeSnapshots through the
real typed SDK clients, signed with V3 (default) and V2; errors raise the SDK exception."""

import json
import time

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_oos20190601 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from oos_support import NODE, PACKAGE_TEMPLATE, PATCH_TEMPLATE, REGION

FLEET = {"regions": {REGION: {"instances": [
    {"id": f"i-sdk{n}", "os_type": "linux", "os_name": "CentOS 7.9 64 bit", "platform": "CentOS"}
    for n in range(1, 5)]}}}
RULES = {"PatchRules": [{"PatchFilterGroup": [{"Key": "Product", "Values": ["*"]},
                                              {"Key": "Classification", "Values": ["Security"]},
                                              {"Key": "Severity", "Values": ["*"]}],
                         "ApproveAfterDays": 0, "ApproveUntilDate": "", "EnableNonSecurity": False,
                         "ComplianceLevel": "Medium"}]}


@pytest.fixture(name="sim", params=["v3", "v2"])
def sim_fixture(request, sim_server_factory):
    server = sim_server_factory(fleet=FLEET, time_scale=0.001)
    server.signing = request.param
    return server


def clients(sim):
    extra = {"signature_algorithm": "v2"} if sim.signing == "v2" else {}
    return sim.oos(**extra), sim.ecs(**extra)


def fields(model, names):
    """Every name is present and not None in the SDK model's map."""
    data = model.to_map()
    missing = [n for n in names if data.get(n) is None]
    assert not missing, f"missing {missing} in {sorted(data)}"
    return data


def wait(oos, exe_id, statuses=("Success", "Failed", "Cancelled"), timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        exe = oos.list_executions(m.ListExecutionsRequest(execution_id=exe_id)).body.executions[0]
        if exe.status in statuses:
            return exe
        assert time.monotonic() < deadline, f"{exe_id} stuck in {exe.status}"
        time.sleep(0.01)


def targets(*ids):
    return {"Type": "ResourceIds", "ResourceIds": list(ids), "RegionId": REGION}


TEMPLATE_FIELDS = ["TemplateId", "TemplateName", "TemplateVersion", "VersionName", "TemplateFormat", "TemplateType",
                   "ShareType", "Description", "Hash", "HasTrigger", "CreatedBy", "CreatedDate", "UpdatedBy",
                   "UpdatedDate", "ResourceGroupId", "Tags"]


def test_templates(sim):
    oos, _ = clients(sim)
    body = oos.list_templates(m.ListTemplatesRequest(template_type="Package", share_type="Public", max_results=10,
                                                     tags={})).body
    assert body.max_results == 10 and body.next_token and len(body.templates) == 10
    for tpl in body.templates:
        fields(tpl, TEMPLATE_FIELDS + ["Category", "Constraints", "Publisher", "Popularity", "TotalExecutionCount",
                                       "IsFavorite"])
    more = oos.list_templates(m.ListTemplatesRequest(template_type="Package", share_type="Public", max_results=10,
                                                     next_token=body.next_token)).body
    assert more.next_token == "" and {t.template_name for t in more.templates}.isdisjoint(
        {t.template_name for t in body.templates})
    got = oos.get_template(m.GetTemplateRequest(template_name=NODE, template_version="v26")).body
    fields(got.template, TEMPLATE_FIELDS)
    assert got.template.template_version == "v26" and json.loads(got.content)["Parameters"]["version"]
    assert oos.get_template(m.GetTemplateRequest(template_name=PATCH_TEMPLATE)).body.template.template_format == "YAML"


EXECUTION_FIELDS = ["ExecutionId", "TemplateId", "TemplateName", "TemplateVersion", "Mode", "SafetyCheck", "Status",
                    "StatusMessage", "Counters", "CurrentTasks", "Parameters", "Outputs", "ExecutedBy", "IsParent",
                    "ParentExecutionId", "Description", "Tags", "CreateDate", "StartDate", "UpdateDate", "EndDate"]


def test_extension_execution_and_package_states(sim):
    oos, _ = clients(sim)
    params = {"action": "install", "packageName": NODE, "parameters": {"version": "v20.18.1"},
              "targets": targets("i-sdk1", "i-sdk2"),
              "rateControl": {"Mode": "Concurrency", "Concurrency": 1, "MaxErrors": 0}}
    request = m.StartExecutionRequest(template_name=PACKAGE_TEMPLATE, parameters=json.dumps(params),
                                      safety_check="Skip", tags={"ansible": "true"}, client_token="sdk-token-1",
                                      description="sdk test")
    started = oos.start_execution(request).body.execution
    fields(started, EXECUTION_FIELDS + ["LoopMode"])
    assert isinstance(started.parameters, str) and started.status == "Started"
    assert oos.start_execution(request).body.execution.execution_id == started.execution_id
    exe = wait(oos, started.execution_id)
    data = fields(exe, EXECUTION_FIELDS + ["Targets", "ResourceStatus", "Category"])
    assert exe.status == "Success" and isinstance(data["Parameters"], dict) and exe.tags == {"ansible": "true"}
    assert exe.counters["Success"] == 2 and len(json.loads(exe.outputs)["commandOutput"]) == 2
    children = oos.list_executions(m.ListExecutionsRequest(parent_execution_id=exe.execution_id)).body
    assert children.total_count == 2 and all(not c.is_parent for c in children.executions)
    tasks = oos.list_task_executions(m.ListTaskExecutionsRequest(
        execution_id=exe.execution_id, include_child_task_execution=True, max_results=20)).body
    loop_items = [t for t in tasks.task_executions if t.loop_item]
    assert len(tasks.task_executions) == 4 and {t.loop_item for t in loop_items} == {"i-sdk1", "i-sdk2"}
    for task in tasks.task_executions:
        fields(task, ["TaskExecutionId", "ExecutionId", "TaskName", "TaskAction", "Status", "Properties", "Outputs",
                      "ChildExecutionId", "ParentTaskExecutionId", "Loop", "LoopItem", "LoopBatchNumber",
                      "StartDate", "EndDate", "UpdateDate", "CreateDate"])
    logs = oos.list_execution_logs(m.ListExecutionLogsRequest(execution_id=exe.execution_id, max_results=5)).body
    assert logs.is_truncated is True and len(logs.execution_logs) == 5
    fields(logs.execution_logs[0], ["Timestamp", "Message", "LogType", "TaskExecutionId"])
    states = oos.list_instance_package_states(m.ListInstancePackageStatesRequest(
        instance_id="i-sdk1", template_names=json.dumps([NODE]))).body
    assert states.max_results == "50"
    row = fields(states.package_states[0], ["TemplateId", "TemplateName", "TemplateVersion", "TemplateVersionName",
                                            "TemplateCategory", "Publisher", "Description", "Parameters",
                                            "ConfigurationInfo", "UpdateTime"])
    assert json.loads(row["Parameters"]) == {"version": "v20.18.1"} and not row["UpdateTime"].endswith("Z")
    oos.update_instance_package_state(m.UpdateInstancePackageStateRequest(
        instance_id="i-sdk3", template_name=NODE, configure_action="Install", template_version="v27",
        parameters={"version": "v22.13.1"}))
    again = oos.list_instance_package_states(m.ListInstancePackageStatesRequest(instance_id="i-sdk3")).body
    assert again.package_states[0].parameters == '{"version": "v22.13.1"}'
    oos.update_instance_package_state(m.UpdateInstancePackageStateRequest(
        instance_id="i-sdk3", template_name=NODE, configure_action="UnInstall"))
    assert oos.list_instance_package_states(
        m.ListInstancePackageStatesRequest(instance_id="i-sdk3")).body.package_states == []


def test_notify_cancel_delete(sim):
    oos, _ = clients(sim)
    params = json.dumps({"packageName": NODE, "targets": targets("i-sdk1", "i-sdk2", "i-sdk3"),
                         "rateControl": {"Mode": "Concurrency", "Concurrency": 1, "MaxErrors": 0}})
    paused = oos.start_execution(m.StartExecutionRequest(template_name=PACKAGE_TEMPLATE, parameters=params,
                                                         loop_mode="FirstBatchPause")).body.execution
    assert wait(oos, paused.execution_id, ("Waiting",)).counters["Success"] == 1
    oos.notify_execution(m.NotifyExecutionRequest(execution_id=paused.execution_id, notify_type="Approve"))
    assert wait(oos, paused.execution_id).status == "Success"
    sim.sim.durations["install"] = 100000
    running = oos.start_execution(m.StartExecutionRequest(template_name=PACKAGE_TEMPLATE,
                                                          parameters=params)).body.execution
    oos.cancel_execution(m.CancelExecutionRequest(execution_id=running.execution_id))
    assert wait(oos, running.execution_id).status == "Cancelled"
    oos.delete_executions(m.DeleteExecutionsRequest(
        execution_ids=json.dumps([paused.execution_id, running.execution_id]), force=True))
    listed = oos.list_executions(m.ListExecutionsRequest(max_results=10)).body
    assert listed.total_count == 0 and listed.executions == []


BASELINE_FIELDS = ["Id", "Name", "OperationSystem", "Description", "ShareType", "ApprovedPatches",
                   "ApprovedPatchesEnableNonSecurity", "Sources", "ResourceGroupId", "Tags", "CreatedBy",
                   "CreatedDate", "UpdatedBy", "UpdatedDate"]


def test_patch_baselines(sim):
    oos, _ = clients(sim)
    created = oos.create_patch_baseline(m.CreatePatchBaselineRequest(
        name="sdk-centos", operation_system="CentOS", approval_rules=json.dumps(RULES), approved_patches=["KB1"],
        rejected_patches=["bad.x86_64"], rejected_patches_action="BLOCK", sources=[], description="sdk",
        approved_patches_enable_non_security=True, client_token="pb-token",
        tags=[m.CreatePatchBaselineRequestTags(key="env", value="test")])).body.patch_baseline
    fields(created, BASELINE_FIELDS + ["ApprovalRules", "RejectedPatches", "RejectedPatchesAction"])
    assert created.tags[0].tag_key == "env" and created.approved_patches == ["KB1"]
    got = oos.get_patch_baseline(m.GetPatchBaselineRequest(name="sdk-centos")).body.patch_baseline
    assert got.is_default is False and json.loads(json.dumps(got.approval_rules)) == RULES
    updated = oos.update_patch_baseline(m.UpdatePatchBaselineRequest(
        name="sdk-centos", description="changed", rejected_patches=[])).body.patch_baseline
    assert updated.description == "changed" and updated.rejected_patches == []
    registered = oos.register_default_patch_baseline(
        m.RegisterDefaultPatchBaselineRequest(name="sdk-centos")).body.patch_baseline
    fields(registered, ["Id", "Name", "OperationSystem", "ApprovalRules", "ShareType", "CreatedDate"])
    listed = oos.list_patch_baselines(m.ListPatchBaselinesRequest(
        operation_system="CentOS", tags=[m.ListPatchBaselinesRequestTags(key="env", value="test")])).body
    assert [b.name for b in listed.patch_baselines] == ["sdk-centos"] and listed.patch_baselines[0].is_default
    fields(listed.patch_baselines[0], BASELINE_FIELDS + ["IsDefault"])
    oos.register_default_patch_baseline(m.RegisterDefaultPatchBaselineRequest(name="ACS-CentOS-DefaultPatchBaseline"))
    oos.delete_patch_baseline(m.DeletePatchBaselineRequest(name="sdk-centos"))
    assert len(oos.list_patch_baselines(m.ListPatchBaselinesRequest(max_results=50)).body.patch_baselines) == 8


SYSTEM_DEFAULTS = ["AliyunLinux", "AlmaLinux", "Anolis", "CentOS", "Debian", "RedhatEnterpriseLinux", "Ubuntu",
                   "Windows"]


def test_system_default_baselines_exist_for_eight_systems_only(sim_server_factory):
    server = sim_server_factory(fleet={"regions": {REGION: {"instances": [
        {"id": "i-fedora", "os_type": "linux", "os_name": "Fedora 39 64 bit", "platform": "Fedora"}]}}},
        time_scale=0.001)
    oos = server.oos()
    public = oos.list_patch_baselines(m.ListPatchBaselinesRequest(share_type="Public")).body.patch_baselines
    assert sorted((b.operation_system, b.name, b.is_default) for b in public) == [
        (s, f"ACS-{s}-DefaultPatchBaseline", True) for s in SYSTEM_DEFAULTS]
    with pytest.raises(ClientException) as info:
        oos.get_patch_baseline(m.GetPatchBaselineRequest(name="ACS-Fedora-DefaultPatchBaseline"))
    assert (info.value.code, info.value.status_code) == ("EntityNotExists.PatchBaseline", 404)

    def scan():
        started = oos.start_execution(m.StartExecutionRequest(template_name=PATCH_TEMPLATE, parameters=json.dumps(
            {"action": "scan", "targets": targets("i-fedora")}))).body.execution
        wait(oos, started.execution_id)
        children = oos.list_executions(m.ListExecutionsRequest(parent_execution_id=started.execution_id)).body
        return children.executions[0]
    child = scan()
    assert child.status == "Failed" and "There is no default patch baseline for Fedora" in child.status_message
    created = oos.create_patch_baseline(m.CreatePatchBaselineRequest(
        name="fedora", operation_system="Fedora", approval_rules=json.dumps(RULES))).body.patch_baseline
    assert oos.get_patch_baseline(m.GetPatchBaselineRequest(name="fedora")).body.patch_baseline.is_default is False
    oos.register_default_patch_baseline(m.RegisterDefaultPatchBaselineRequest(name="fedora"))
    assert scan().status == "Success"
    states = oos.list_instance_patch_states(m.ListInstancePatchStatesRequest(instance_ids='["i-fedora"]')).body
    assert states.instance_patch_states[0].baseline_id == created.id
    with pytest.raises(ClientException) as info:
        oos.delete_patch_baseline(m.DeletePatchBaselineRequest(name="fedora"))
    assert (info.value.code, info.value.status_code) == ("Forbidden.DefaultPatchBaseline", 403)


def test_patch_run_states_and_snapshots(sim):
    oos, ecs = clients(sim)
    params = {"action": "install", "whetherCreateSnapshot": True, "retentionDays": 5, "rebootIfNeed": True,
              "targets": targets("i-sdk1", "i-sdk2")}
    started = oos.start_execution(m.StartExecutionRequest(template_name=PATCH_TEMPLATE, safety_check="Skip",
                                                          parameters=json.dumps(params))).body.execution
    assert wait(oos, started.execution_id).status == "Success"
    states = oos.list_instance_patch_states(m.ListInstancePatchStatesRequest(
        instance_ids=json.dumps(["i-sdk1", "i-sdk2"]))).body
    assert len(states.instance_patch_states) == 2
    row = fields(states.instance_patch_states[0], [
        "InstanceId", "BaselineId", "PatchGroup", "OwnerInformation", "OperationType", "OperationStartTime",
        "OperationEndTime", "InstalledCount", "InstalledOtherCount", "InstalledPendingRebootCount",
        "InstalledRejectedCount", "MissingCount", "FailedCount"])
    assert row["OperationType"] == "install" and row["InstalledPendingRebootCount"] == "0"
    patches = oos.list_instance_patches(m.ListInstancePatchesRequest(instance_id="i-sdk1", max_results=50)).body
    assert patches.patches and {p.status for p in patches.patches} <= {"Installed", "InstalledOther"}
    fields(patches.patches[0], ["Title", "KBId", "Classification", "Severity", "Status", "InstalledTime"])
    snaps = ecs.describe_snapshots(ecs_models.DescribeSnapshotsRequest(region_id=REGION, instance_id="i-sdk1")).body
    assert snaps.total_count == 1
    snap = fields(snaps.snapshots.snapshot[0], ["SnapshotId", "SnapshotName", "SourceDiskId", "SourceDiskType",
                                                "RetentionDays", "Status", "Progress", "CreationTime"])
    assert snap["SnapshotName"].startswith("Snapshot-exec-") and snap["RetentionDays"] == 5
    by_id = ecs.describe_snapshots(ecs_models.DescribeSnapshotsRequest(
        region_id=REGION, snapshot_ids=json.dumps([snap["SnapshotId"]]))).body
    assert by_id.snapshots.snapshot[0].snapshot_id == snap["SnapshotId"]
    deleted = ecs.delete_snapshot(ecs_models.DeleteSnapshotRequest(snapshot_id=snap["SnapshotId"], force=False)).body
    assert deleted.request_id
    ecs.delete_snapshot(ecs_models.DeleteSnapshotRequest(snapshot_id=snap["SnapshotId"]))   # gone: ignored
    left = ecs.describe_snapshots(ecs_models.DescribeSnapshotsRequest(region_id=REGION)).body.snapshots.snapshot
    assert len(left) == 1 and left[0].snapshot_id != snap["SnapshotId"]    # the other instance's snapshot


def test_list_executions_takes_the_documented_status_filters_only(sim):
    oos, _ = clients(sim)
    started = oos.start_execution(m.StartExecutionRequest(template_name=PATCH_TEMPLATE, parameters=json.dumps(
        {"action": "scan", "targets": targets("i-sdk1")}))).body.execution
    wait(oos, started.execution_id)

    def listed(status):
        return [e.execution_id for e in oos.list_executions(m.ListExecutionsRequest(status=status)).body.executions]
    assert listed("Success") == [started.execution_id]
    for status in ("Running", "Started", "Failed", "Waiting", "Cancelled", "Pending", "Skipped"):
        assert listed(status) == []
    for status in ("Queued", "success", "Finished"):
        with pytest.raises(ClientException) as info:
            listed(status)
        assert (info.value.code, info.value.status_code) == ("InvalidParameter", 400)
        assert 'The specified parameter "Status" is not valid. Allowed values: Running, Started' in info.value.message


@pytest.mark.parametrize("call, code, status", [
    (lambda o: o.get_template(m.GetTemplateRequest(template_name="no-such-template")), "EntityNotExists.Template", 404),
    (lambda o: o.get_template(m.GetTemplateRequest(template_name=NODE, template_version="v0")),
     "EntityNotExists.TemplateVersion", 404),
    (lambda o: o.list_templates(m.ListTemplatesRequest(max_results=5)), "InvalidParameter", 400),
    (lambda o: o.start_execution(m.StartExecutionRequest(template_name=PACKAGE_TEMPLATE, parameters="{}")),
     "InvalidParameter.Required", 400),
    (lambda o: o.start_execution(m.StartExecutionRequest(
        template_name=PATCH_TEMPLATE, parameters='{"targets": {}, "rebootIfNeed": "yes"}')),
     "InvalidParameter.Type", 400),
    (lambda o: o.cancel_execution(m.CancelExecutionRequest(execution_id="exec-0123456789abcdef0123")),
     "EntityNotExists.Execution", 404),
    (lambda o: o.notify_execution(m.NotifyExecutionRequest(execution_id="exec-1", notify_type="Approve")),
     "EntityNotExists.Execution", 404),
    (lambda o: o.list_execution_logs(m.ListExecutionLogsRequest()), "MissingParameter", 400),
    (lambda o: o.list_task_executions(m.ListTaskExecutionsRequest(execution_id="exec-1")),
     "EntityNotExists.Execution", 404),
    (lambda o: o.delete_executions(m.DeleteExecutionsRequest(execution_ids="not-json")), "InvalidParameter", 400),
    (lambda o: o.list_instance_package_states(m.ListInstancePackageStatesRequest()), "MissingParameter", 400),
    (lambda o: o.update_instance_package_state(m.UpdateInstancePackageStateRequest(
        instance_id="i-sdk1", template_name=NODE, configure_action="upgrade")), "InvalidParameter", 400),
    (lambda o: o.get_patch_baseline(m.GetPatchBaselineRequest(name="nope")), "EntityNotExists.PatchBaseline", 404),
    (lambda o: o.create_patch_baseline(m.CreatePatchBaselineRequest(
        name="x", operation_system="CentOS", approval_rules='{"PatchRules": []}')), "InvalidParameter", 400),
    (lambda o: o.update_patch_baseline(m.UpdatePatchBaselineRequest(
        name="ACS-CentOS-DefaultPatchBaseline", description="x")), "Forbidden.PublicPatchBaseline", 403),
    (lambda o: o.delete_patch_baseline(m.DeletePatchBaselineRequest(name="ACS-Ubuntu-DefaultPatchBaseline")),
     "Forbidden.PublicPatchBaseline", 403),
    (lambda o: o.register_default_patch_baseline(m.RegisterDefaultPatchBaselineRequest(name="nope")),
     "EntityNotExists.PatchBaseline", 404),
    (lambda o: o.list_patch_baselines(m.ListPatchBaselinesRequest(share_type="Shared")), "InvalidParameter", 400),
    (lambda o: o.list_instance_patches(m.ListInstancePatchesRequest()), "MissingParameter", 400),
    (lambda o: o.list_instance_patch_states(m.ListInstancePatchStatesRequest(
        instance_ids=json.dumps([f"i-{n}" for n in range(101)]))), "InvalidParameter", 400),
])
def test_errors(sim, call, code, status):
    oos, _ = clients(sim)
    with pytest.raises(ClientException) as info:
        call(oos)
    assert (info.value.code, info.value.status_code) == (code, status)
    assert info.value.request_id and info.value.data["Message"]


def test_more_errors(sim):
    oos, ecs = clients(sim)
    body = {"packageName": NODE, "targets": targets("i-sdk1")}
    oos.start_execution(m.StartExecutionRequest(template_name=PACKAGE_TEMPLATE, parameters=json.dumps(body),
                                                client_token="dup"))
    body["action"] = "uninstall"
    with pytest.raises(ClientException) as info:
        oos.start_execution(m.StartExecutionRequest(template_name=PACKAGE_TEMPLATE, parameters=json.dumps(body),
                                                    client_token="dup"))
    assert (info.value.code, info.value.status_code) == ("IdempotentParameterMismatch", 403)
    request = m.CreatePatchBaselineRequest(name="dup", operation_system="Ubuntu", approval_rules=json.dumps(RULES))
    oos.create_patch_baseline(request)
    with pytest.raises(ClientException) as info:
        oos.create_patch_baseline(request)
    assert info.value.code == "EntityAlreadyExists.PatchBaseline"
    with pytest.raises(ClientException) as info:
        ecs.describe_snapshots(ecs_models.DescribeSnapshotsRequest(region_id=REGION, page_size=1000))
    assert (info.value.code, info.value.status_code) == ("InvalidParameter", 400)
