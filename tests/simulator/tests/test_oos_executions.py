"""Execution engine: rate control, MaxErrors, ClientToken, cancel, batch pauses, listings."""

import json

import pytest

from alicloud_sim.core import clock
from alicloud_sim.ecs.fleet import fleet
from oos_support import FLEET, NODE, PACKAGE_TEMPLATE, REGION, Direct, linux
from oos_support import oos_fixture  # noqa: F401  pylint: disable=unused-import

FIVE = ["i-lin1", "i-lin2", "i-lin3", "i-lin4", "i-lin5"]
RATE2 = {"Mode": "Concurrency", "Concurrency": 2, "MaxErrors": 0}


def times(row):
    return clock.parse_iso(row["StartDate"]), clock.parse_iso(row["EndDate"])


def test_start_response_shape(oos):
    result = oos("StartExecution", TemplateName=PACKAGE_TEMPLATE, Tags={"team": "ops"}, Description="d",
                 Parameters={"packageName": NODE, "targets": {"Type": "ResourceIds", "ResourceIds": ["i-lin1"]}})
    exe = result["Execution"]
    assert exe["Status"] == "Started" and exe["IsParent"] is True and exe["ExecutionId"].startswith("exec-")
    assert len(exe["ExecutionId"]) == 25 and exe["Outputs"] == "" and exe["Counters"] == {}
    assert exe["Mode"] == "Automatic" and exe["LoopMode"] == "Automatic"
    assert exe["SafetyCheck"] == "ConfirmEveryHighRiskAction" and exe["Tags"] == {"team": "ops"}
    params = json.loads(exe["Parameters"])
    assert params["regionId"] == REGION and params["action"] == "install" and params["packageVersion"] == ""
    assert params["rateControl"] == {"Mode": "Concurrency", "MaxErrors": 0, "Concurrency": 10}
    assert params["targets"] == {"Type": "ResourceIds", "ResourceIds": ["i-lin1"]} and params["parameters"] == {}
    assert exe["CreateDate"].endswith("Z") and exe["EndDate"] == ""


def test_rate_control_concurrency_two_on_five(oos):
    exe_id = oos.install(FIVE, rate=RATE2)
    assert oos.execution(exe_id)["Status"] == "Started"
    oos.advance(1)
    view = oos.execution(exe_id)
    assert view["Status"] == "Running" and view["CurrentTasks"][0]["TaskName"] == "configurePackage"
    assert view["Counters"]["Running"] == 2 and view["Counters"]["Queued"] == 3
    oos.advance(20)
    assert oos.execution(exe_id)["Counters"]["Success"] == 2
    view = oos.finish(exe_id)
    assert view["Status"] == "Success" and view["Counters"]["Success"] == 5
    items = oos.loop_items(exe_id)
    starts = sorted(times(items[i])[0] for i in FIVE)
    base = starts[0]
    assert [s - base for s in starts] == [0, 0, 20, 20, 40]
    for iid in FIVE:
        start, end = times(items[iid])
        assert end - start == 20
    assert [items[i]["LoopBatchNumber"] for i in FIVE] == [1, 1, 2, 2, 3]
    assert times(view)[1] - base == 60
    assert json.loads(view["ResourceStatus"]) == {"Success": 5}
    outputs = json.loads(view["Outputs"])
    assert [o["InstanceId"] for o in outputs["commandOutput"]] == FIVE
    assert outputs["commandOutput"][0]["InstanceResult"] == [
        {"Package": NODE, "PackageResult": "install node v22.13.1 success"}]
    assert len(outputs["configurationOutput"]) == 5


def test_percentage_concurrency(oos):
    exe_id = oos.install(FIVE, rate={"Mode": "Concurrency", "Concurrency": "40%", "MaxErrors": "0%"})
    oos.advance(1)
    assert oos.execution(exe_id)["Counters"]["Running"] == 2


FAST_FAIL_FLEET = {"regions": {REGION: {"instances": [
    linux("i-bad", fail=["install"], durations={"install": 5}), *[linux(f"i-ok{n}") for n in range(1, 5)]]}}}


def test_max_errors_zero_stops_new_items_and_lets_running_ones_finish():
    direct = Direct(FAST_FAIL_FLEET)
    try:
        exe_id = direct.install(["i-bad", "i-ok1", "i-ok2", "i-ok3", "i-ok4"], rate=RATE2)
        view = direct.finish(exe_id, step=1)
        assert view["Status"] == "Failed"
        assert "i-bad" in view["StatusMessage"] and "MaxErrors (0)" in view["StatusMessage"]
        assert view["Counters"] == {"Total": 5, "Success": 1, "Failed": 1, "Running": 0, "Waiting": 0,
                                    "Cancelled": 0, "Skipped": 3, "Queued": 0}
        children = direct.children(exe_id)
        assert set(children) == {"i-bad", "i-ok1"}
        assert children["i-ok1"]["Status"] == "Success" and children["i-bad"]["Status"] == "Failed"
        assert "exited with code 1" in children["i-bad"]["StatusMessage"]
        assert times(view)[1] - times(direct.loop_items(exe_id)["i-ok1"])[0] == 20
        assert NODE in direct.packages("i-ok1") and NODE not in direct.packages("i-ok2")
    finally:
        direct.close()


def test_max_errors_above_zero_tolerates_failures(oos):
    exe_id = oos.install(["i-lin1", "i-failinst", "i-lin2"], rate={"Mode": "Concurrency", "Concurrency": 1,
                                                                   "MaxErrors": 1})
    view = oos.finish(exe_id)
    assert view["Status"] == "Success"
    assert (view["Counters"]["Success"], view["Counters"]["Failed"]) == (2, 1)
    outputs = json.loads(view["Outputs"])
    assert [o["InstanceId"] for o in outputs["commandOutput"]] == ["i-lin1", "i-lin2"]


def test_client_token(oos):
    kw = {"ClientToken": "tok-1", "Parameters": {"packageName": NODE, "targets": {"ResourceIds": ["i-lin1"]}}}
    first = oos("StartExecution", TemplateName=PACKAGE_TEMPLATE, **kw)["Execution"]
    oos.advance(5)
    again = oos("StartExecution", TemplateName=PACKAGE_TEMPLATE, **kw)["Execution"]
    assert again["ExecutionId"] == first["ExecutionId"] and again["Status"] == "Running"
    assert oos("ListExecutions")["TotalCount"] == 1
    kw["Parameters"]["action"] = "uninstall"
    err = oos.error("StartExecution", TemplateName=PACKAGE_TEMPLATE, **kw)
    assert (err.code, err.status) == ("IdempotentParameterMismatch", 403)
    other = oos("StartExecution", TemplateName=PACKAGE_TEMPLATE, ClientToken="tok-2",
                Parameters=kw["Parameters"])["Execution"]
    assert other["ExecutionId"] != first["ExecutionId"]


def test_cancel(oos):
    exe_id = oos.install(FIVE, rate=RATE2)
    oos.advance(10)
    oos("CancelExecution", ExecutionId=exe_id)
    view = oos.execution(exe_id)
    assert view["Status"] == "Cancelled" and view["EndDate"]
    assert view["Counters"]["Cancelled"] == 5 and view["CurrentTasks"] == []
    assert {c["Status"] for c in oos.children(exe_id).values()} == {"Cancelled"}
    oos.advance(100)
    assert oos.execution(exe_id)["Status"] == "Cancelled"
    assert all(NODE not in oos.packages(i) for i in FIVE)
    err = oos.error("CancelExecution", ExecutionId=exe_id)
    assert (err.code, err.status) == ("InvalidStatus.Execution", 400)
    err = oos.error("CancelExecution", ExecutionId="exec-00000000000000000000")
    assert (err.code, err.status) == ("EntityNotExists.Execution", 404)


def test_cancel_one_child_counts_as_an_error(oos):
    exe_id = oos.install(["i-lin1", "i-lin2"], rate={"Mode": "Concurrency", "Concurrency": 2, "MaxErrors": 0})
    oos.advance(5)
    child = oos.children(exe_id)["i-lin1"]["ExecutionId"]
    oos("CancelExecution", ExecutionId=child)
    view = oos.finish(exe_id)
    assert view["Status"] == "Failed" and view["Counters"]["Cancelled"] == 1 and view["Counters"]["Success"] == 1


def test_first_batch_pause_then_approve(oos):
    exe_id = oos.install(FIVE, rate=RATE2, LoopMode="FirstBatchPause")
    oos.advance(21)
    view = oos.execution(exe_id)
    assert view["Status"] == "Waiting" and view["Counters"]["Success"] == 2 and view["Counters"]["Queued"] == 3
    oos.advance(500)
    assert oos.execution(exe_id)["Status"] == "Waiting" and len(oos.children(exe_id)) == 2
    oos("NotifyExecution", ExecutionId=exe_id, NotifyType="Approve")
    assert oos.execution(exe_id)["Status"] == "Running"
    oos.advance(40)
    view = oos.finish(exe_id)
    assert view["Status"] == "Success" and view["Counters"]["Success"] == 5
    logs = [log["Message"] for log in oos("ListExecutionLogs", ExecutionId=exe_id, MaxResults=100)["ExecutionLogs"]]
    assert any("waiting for NotifyExecution" in m for m in logs) and any("Approved" in m for m in logs)


def test_first_batch_pause_then_reject(oos):
    exe_id = oos.install(FIVE, rate=RATE2, LoopMode="FirstBatchPause")
    oos.advance(21)
    oos("NotifyExecution", ExecutionId=exe_id, NotifyType="Reject", NotifyNote="canary broke")
    view = oos.execution(exe_id)
    assert view["Status"] == "Failed"
    assert "rejected" in view["StatusMessage"] and "canary broke" in view["StatusMessage"]
    assert view["Counters"]["Skipped"] == 3 and view["Counters"]["Success"] == 2
    assert [NODE in oos.packages(i) for i in FIVE] == [True, True, False, False, False]


def test_every_batch_pause(oos):
    exe_id = oos.install(FIVE, rate=RATE2, LoopMode="EveryBatchPause")
    for done in (2, 4):
        oos.advance(21)
        view = oos.execution(exe_id)
        assert view["Status"] == "Waiting" and view["Counters"]["Success"] == done
        oos("NotifyExecution", ExecutionId=exe_id, NotifyType="Approve")
    oos.advance(21)
    assert oos.execution(exe_id)["Status"] == "Success"


def test_notify_errors(oos):
    exe_id = oos.install(["i-lin1"])
    oos.advance(2)
    assert oos.error("NotifyExecution", ExecutionId=exe_id, NotifyType="Approve").code == "InvalidStatus.Execution"
    assert oos.error("NotifyExecution", ExecutionId=exe_id, NotifyType="Bogus").code == "InvalidParameter"
    assert oos.error("NotifyExecution", ExecutionId=exe_id).code == "MissingParameter"
    assert oos.error("NotifyExecution", ExecutionId="exec-x", NotifyType="Approve").status == 404


@pytest.mark.parametrize("kw, code", [
    ({"TemplateName": "ACS-ECS-Nope"}, "EntityNotExists.Template"),
    ({"TemplateName": NODE}, "InvalidParameter"),
    ({"Mode": "Fast"}, "InvalidParameter"),
    ({"LoopMode": "Sometimes"}, "InvalidParameter"),
    ({"SafetyCheck": "Never"}, "InvalidParameter"),
    ({"SafetyCheck": "Skip", "Mode": "Debug"}, "InvalidParameter"),
    ({"Parameters": "{not json"}, "InvalidParameter"),
    ({"Parameters": "[]"}, "InvalidParameter"),
    ({"Parameters": {"packageName": NODE, "color": "red"}}, "InvalidParameter.NotDefined"),
    ({"Parameters": {"action": "install"}}, "InvalidParameter.Required"),
    ({"Parameters": {"packageName": NODE, "action": "remove"}}, "InvalidParameter.AllowedValues"),
    ({"Parameters": {"packageName": NODE, "rateControl": "10"}}, "InvalidParameter.Type"),
    ({"Parameters": {"packageName": NODE, "parameters": "x"}}, "InvalidParameter.Type"),
    ({"Parameters": {"packageName": NODE, "rateControl": {"Mode": "Batch"}}}, "InvalidParameter"),
    ({"TemplateContent": "{}"}, "InvalidParameter"),
    ({"TemplateVersion": "v99"}, "EntityNotExists.TemplateVersion"),
    ({"Tags": "[1]"}, "InvalidParameter"),
])
def test_start_execution_validation(oos, kw, code):
    params = {"TemplateName": PACKAGE_TEMPLATE, "Parameters": {"packageName": NODE}}
    params.update(kw)
    err = oos.error("StartExecution", **params)
    assert err.code == code
    assert err.status == (404 if code.startswith("EntityNotExists") else 400)
    assert oos("ListExecutions")["TotalCount"] == 0


def test_patch_template_number_and_boolean_must_be_json_types(oos):
    base = {"action": "install", "targets": {"ResourceIds": ["i-lin1"]}}
    for bad in ({"retentionDays": "7"}, {"whetherCreateSnapshot": "true"}, {"retentionDays": 70000}):
        err = oos.error("StartExecution", TemplateName="ACS-ECS-BulkyApplyPatchBaseline", Parameters={**base, **bad})
        assert err.code.startswith("InvalidParameter.") and list(bad)[0] in err.message


def test_targets_by_tags_and_unknown_instances(oos):
    exe_id = oos.start(PACKAGE_TEMPLATE, {"packageName": NODE, "targets": {
        "Type": "Tags", "RegionId": REGION, "Tags": [{"Key": "role", "Value": "web"}]}})
    assert set(oos.children(exe_id)) == set() and oos.finish(exe_id)["Status"] == "Success"
    assert set(oos.children(exe_id)) == {"i-lin1", "i-lin2", "i-lin3"}
    exe_id = oos.install(["i-nope", "i-sh1"], rate={"Mode": "Concurrency", "Concurrency": 2, "MaxErrors": 2})
    view = oos.finish(exe_id)
    children = oos.children(exe_id)
    assert view["Status"] == "Success" and view["Counters"]["Failed"] == 2
    assert all("InvalidInstance.NotFound" in c["StatusMessage"] for c in children.values())


def test_targets_selecting_nothing_fail_the_execution(oos):
    for targets in ({"Type": "ResourceIds", "ResourceIds": []}, {"Type": "Tags", "Tags": [{"Key": "none"}]},
                    {"Type": "ApplicationGroup", "ApplicationName": "x"}):
        exe_id = oos.start(PACKAGE_TEMPLATE, {"packageName": NODE, "targets": targets})
        view = oos.finish(exe_id)
        assert view["Status"] == "Failed" and view["StatusMessage"].startswith("Task getInstanceFromTargets failed")
        tasks = oos("ListTaskExecutions", ExecutionId=exe_id)["TaskExecutions"]
        assert [(t["TaskName"], t["Status"]) for t in tasks] == [("getInstanceFromTargets", "Failed")]


def test_list_executions_filters_and_paging(oos):
    install = oos.install(["i-lin1", "i-lin2"], Tags={"env": "prod"})
    oos.advance(100)
    scan = oos.patch(["i-lin1"])
    oos.advance(100)
    assert oos("ListExecutions", ExecutionId="exec-unknown")["Executions"] == []
    listed = oos("ListExecutions")
    assert listed["TotalCount"] == 2 and [e["ExecutionId"] for e in listed["Executions"]] == [scan, install]
    assert [e["ExecutionId"] for e in oos("ListExecutions", SortOrder="Ascending")["Executions"]] == [install, scan]
    assert [e["ExecutionId"] for e in oos("ListExecutions", TemplateName="patch")["Executions"]] == [scan]
    assert [e["ExecutionId"] for e in oos("ListExecutions", Tags={"env": "prod"})["Executions"]] == [install]
    assert oos("ListExecutions", Status="Running")["TotalCount"] == 0
    assert oos("ListExecutions", IncludeChildExecution=True)["TotalCount"] == 5
    assert oos("ListExecutions", Depth="FirstChildDepth")["TotalCount"] == 5
    assert oos("ListExecutions", Depth="RootDepth")["TotalCount"] == 2
    assert oos("ListExecutions", ResourceId="i-lin2")["TotalCount"] == 1
    assert oos("ListExecutions", region="cn-shanghai")["TotalCount"] == 0
    view = oos.execution(install)
    assert view["StartDate"] <= view["EndDate"]
    assert oos("ListExecutions", StartDateAfter=view["StartDate"], EndDateBefore=view["EndDate"])["TotalCount"] == 1
    first = oos("ListExecutions", IncludeChildExecution=True, MaxResults=10)
    assert first["NextToken"] == "" and len(first["Executions"]) == 5
    assert oos.error("ListExecutions", MaxResults=5).code == "InvalidParameter"
    child = oos.children(install)["i-lin1"]
    assert child["IsParent"] is False and child["ParentExecutionId"] == install
    assert child["TemplateName"] == "ACS::ECS::ConfigureOOSPackageWithTemporaryURLFullActions"
    assert child["Parameters"]["instanceId"] == "i-lin1"
    assert json.loads(child["Outputs"])["commandOutput"] == "install node v22.13.1 success"


def test_list_executions_pages(oos):
    ids = [oos.install(["i-lin1"]) for _ in range(12)]
    first = oos("ListExecutions", MaxResults=10, SortOrder="Ascending")
    second = oos("ListExecutions", MaxResults=10, SortOrder="Ascending", NextToken=first["NextToken"])
    assert first["TotalCount"] == 12 and second["NextToken"] == ""
    assert [e["ExecutionId"] for e in first["Executions"] + second["Executions"]] == ids


def test_task_executions(oos):
    exe_id = oos.install(["i-lin1", "i-lin2"])
    oos.finish(exe_id)
    top = oos("ListTaskExecutions", ExecutionId=exe_id)["TaskExecutions"]
    assert [(t["TaskName"], t["TaskAction"], t["Status"]) for t in top] == [
        ("getInstanceFromTargets", "ACS::SelectTargets", "Success"),
        ("configurePackage", "ACS::ECS::ConfigureOOSPackageWithTemporaryURLFullActions", "Success")]
    assert json.loads(top[0]["Outputs"]) == {"instanceIds": ["i-lin1", "i-lin2"]}
    loop = top[1]
    assert loop["Loop"]["Items"] == 2 and loop["Loop"]["Counters"]["Success"] == 2
    assert set(json.loads(loop["Outputs"])) == {"commandOutputs", "configurationOutputs"}
    kids = oos("ListTaskExecutions", ExecutionId=exe_id,
               ParentTaskExecutionId=loop["TaskExecutionId"])["TaskExecutions"]
    assert [k["LoopItem"] for k in kids] == ["i-lin1", "i-lin2"]
    assert all(k["ChildExecutionId"].startswith("exec-") and k["LoopBatchNumber"] == 1 for k in kids)
    assert json.loads(kids[0]["Properties"])["instanceId"] == "i-lin1"
    assert len(oos("ListTaskExecutions", ExecutionId=exe_id, IncludeChildTaskExecution=True)["TaskExecutions"]) == 4
    one = oos("ListTaskExecutions", TaskExecutionId=kids[1]["TaskExecutionId"])["TaskExecutions"]
    assert [t["LoopItem"] for t in one] == ["i-lin2"]
    child_tasks = oos("ListTaskExecutions", ExecutionId=kids[0]["ChildExecutionId"])["TaskExecutions"]
    assert [t["TaskName"] for t in child_tasks] == ["checkInstanceReady", "getPackage", "installPackage"]
    assert oos("ListTaskExecutions", ExecutionId=exe_id, Status="Failed")["TaskExecutions"] == []
    assert oos.error("ListTaskExecutions", ExecutionId="exec-nope").status == 404
    assert oos.error("ListTaskExecutions", ExecutionId=exe_id, MaxResults=10).code == "InvalidParameter"


def test_execution_logs(oos):
    exe_id = oos.install(["i-lin1", "i-stopped"], rate={"Mode": "Concurrency", "Concurrency": 2, "MaxErrors": 1})
    oos.finish(exe_id)
    logs = oos("ListExecutionLogs", ExecutionId=exe_id, MaxResults=100)
    messages = [log["Message"] for log in logs["ExecutionLogs"]]
    assert messages[0] == f"Execution {exe_id} started." and "completed with status Success" in messages[-1]
    assert any("i-stopped" in m and "Stopped" in m for m in messages)
    assert all(log["LogType"] == "System" and log["Timestamp"].endswith("Z") for log in logs["ExecutionLogs"])
    assert logs["IsTruncated"] is False
    page = oos("ListExecutionLogs", ExecutionId=exe_id, MaxResults=2)
    assert page["IsTruncated"] is True and len(page["ExecutionLogs"]) == 2
    task_id = f"{exe_id}.t0001"
    only = oos("ListExecutionLogs", ExecutionId=exe_id, TaskExecutionId=task_id)["ExecutionLogs"]
    assert only and all(log["TaskExecutionId"] == task_id for log in only)
    assert oos.error("ListExecutionLogs").code == "MissingParameter"


def test_delete_executions(oos):
    running = oos.install(["i-lin1"])
    done = oos.install(["i-lin2"])
    oos.finish(done)
    running = oos.install(["i-lin3"])
    err = oos.error("DeleteExecutions", ExecutionIds=[running, done])
    assert err.code == "InvalidStatus.Execution" and running in err.message
    assert oos("ListExecutions", ExecutionId=done)["Executions"]
    oos("DeleteExecutions", ExecutionIds=[done, "exec-unknown"])
    assert oos("ListExecutions", ExecutionId=done)["Executions"] == []
    assert oos("ListExecutions", ParentExecutionId=done)["Executions"] == []
    oos("DeleteExecutions", ExecutionIds=[running], Force=True)
    assert oos("ListExecutions", ExecutionId=running)["Executions"] == []
    assert oos.error("DeleteExecutions", ExecutionIds=[f"exec-{n}" for n in range(101)]).code == "InvalidParameter"
    assert oos.error("DeleteExecutions", ExecutionIds="exec-1").code == "InvalidParameter"
    assert oos.error("DeleteExecutions").code == "MissingParameter"


def test_default_fleet_has_no_surprises():
    direct = Direct(FLEET)
    try:
        assert {i.id for i in direct.sim.instances(REGION)} >= set(FIVE)
    finally:
        direct.close()


def test_stopping_an_instance_fails_its_running_item(oos):
    exe_id = oos.install(["i-lin1", "i-lin2"])
    oos.advance(5)
    fleet(oos.sim).change("i-lin1", {"status": "Stopped"})
    fleet(oos.sim).change("i-lin2", {"tags": {"x": "y"}})
    view = oos.execution(exe_id)
    assert view["Counters"]["Failed"] == 1 and view["Counters"]["Running"] == 1
    child = oos.children(exe_id)["i-lin1"]
    assert child["Status"] == "Failed" and "changed during the task" in child["StatusMessage"]
    assert oos.finish(exe_id)["Status"] == "Failed"
    assert NODE in oos.packages("i-lin2") and NODE not in oos.packages("i-lin1")
