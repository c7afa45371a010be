"""Response shapes of executions and task executions."""

import json
import math

from ..core import clock
from ..core.errors import invalid_parameter
from .catalogue import ACCOUNT_UID
from .engine import TERMINAL


def in_range(value, p, before, after):
    """Whether ``value`` (epoch or None) lies within the ISO bounds of ``before``/``after``,
    compared at the one-second precision the API shows."""
    for name, outside in ((before, lambda v, b: v > b), (after, lambda v, b: v < b)):
        if p.str(name) and (value is None or outside(math.floor(value), parse_time(p, name))):
            return False
    return True


def parse_time(p, name):
    try:
        return clock.parse_iso(p.str(name))
    except ValueError:
        raise invalid_parameter(name, "It must be an ISO-8601 time such as 2026-01-01T00:00:00Z.") from None


def counters(exe):
    """Loop item counts of a parent; task counts of a child."""
    if exe.run is not None:
        return exe.run.counters() if exe.status != "Started" else {}
    counts = {"Total": len(exe.tasks), "Success": 0, "Failed": 0, "Running": 0, "Cancelled": 0}
    for task in exe.tasks:
        counts[task.status] = counts.get(task.status, 0) + 1
    return counts


def _current_tasks(exe):
    if exe.status in TERMINAL or exe.status == "Started":
        return []
    running = [t for t in exe.tasks if t.status == "Running" and not t.parent_task_id]
    return [{"TaskName": t.name, "TaskAction": t.action, "TaskExecutionId": t.id} for t in running]


def _outputs(exe):
    return json.dumps(exe.outputs, ensure_ascii=False) if exe.status in TERMINAL and exe.outputs else "{}"


def _common(exe):
    return {
        "ExecutionId": exe.id, "TemplateId": exe.template_id, "TemplateName": exe.template_name,
        "TemplateVersion": exe.template_version, "Mode": exe.mode, "LoopMode": exe.loop_mode,
        "SafetyCheck": exe.safety_check, "Status": exe.status, "StatusMessage": exe.status_message,
        "Counters": counters(exe), "CurrentTasks": _current_tasks(exe), "ExecutedBy": exe.executed_by,
        "RamRole": exe.parameters.get("OOSAssumeRole", "") or "", "IsParent": exe.is_parent,
        "ParentExecutionId": exe.parent_id, "Description": exe.description, "Tags": dict(exe.tags),
        "ResourceGroupId": "", "CreateDate": clock.iso(exe.created), "StartDate": clock.iso(exe.created),
        "UpdateDate": clock.iso(exe.updated or exe.created), "EndDate": clock.iso(exe.end),
    }


def start_view(exe):
    """StartExecution's ``Execution``: ``Parameters`` is a JSON string."""
    view = _common(exe)
    view["Parameters"] = json.dumps(exe.parameters, ensure_ascii=False)
    view["Outputs"] = _outputs(exe) if exe.status in TERMINAL else ""
    return view


def _resource_status(exe):
    if exe.run is None:
        return json.dumps({exe.status: 1})
    return json.dumps({k: v for k, v in exe.run.counters().items() if k != "Total" and v})


def list_view(exe):
    """A ListExecutions item: ``Parameters`` is an object, ``Outputs``/``Targets`` JSON strings."""
    view = _common(exe)
    view.update({
        "Parameters": exe.parameters, "Outputs": _outputs(exe), "Targets": exe.targets,
        "ResourceStatus": _resource_status(exe), "StatusReason": "", "WaitingStatus": "",
        "Category": "Other", "AccountId": ACCOUNT_UID, "LastTriggerTime": "",
        "LastSuccessfulTriggerTime": "", "LastTriggerStatus": "", "LastTriggerStatusMessage": "",
        "LastTriggerOutputs": "", "NextScheduleTime": "",
    })
    return view


def task_view(task):
    return {
        "TaskExecutionId": task.id, "ExecutionId": task.execution_id, "TaskName": task.name,
        "TaskAction": task.action, "Status": task.status, "StatusMessage": task.message,
        "Properties": json.dumps(task.properties, ensure_ascii=False),
        "Outputs": json.dumps(task.outputs, ensure_ascii=False), "ExtraData": {},
        "ChildExecutionId": task.child_execution_id, "ParentTaskExecutionId": task.parent_task_id,
        "Loop": task.loop() if task.loop else {}, "LoopItem": task.loop_item,
        "LoopBatchNumber": task.loop_batch, "TemplateId": task.template_id,
        "CreateDate": clock.iso(task.start), "StartDate": clock.iso(task.start),
        "EndDate": clock.iso(task.end), "UpdateDate": clock.iso(task.end if task.end is not None else task.start),
    }
