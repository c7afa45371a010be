"""Response shapes of the Cloud Assistant Describe* actions."""

import json

from ..core.clock import iso
from .common import b64decode_strict, encode_output, tags_view
from .invocations import overall_status

# Deprecated InvokeStatus of an invocation, from its InvocationStatus.
INVOKE_STATUS = {"Pending": "Running", "Running": "Running", "Scheduled": "Running", "Success": "Finished",
                 "Failed": "Failed", "PartialFailed": "PartialFailed", "Stopped": "Stopped", "Stopping": "Stopping"}
# Deprecated per-instance InstanceInvokeStatus and DescribeInvocationResults' InvokeRecordStatus.
RECORD_STATUS = {"Pending": "Running", "Running": "Running", "Scheduled": "Running", "Success": "Finished",
                 "Failed": "Finished", "Timeout": "Failed", "Error": "Failed", "Aborted": "Failed",
                 "Invalid": "Failed", "Cancelled": "Stopped", "Terminated": "Stopped", "Stopping": "Stopping"}
OSS_FIELDS = {"OssOutputStatus": "", "OssOutputUri": "", "OssOutputErrorCode": "", "OssOutputErrorInfo": ""}


def content_view(content_b64, enc):
    return b64decode_strict(content_b64).decode("utf-8", "replace") if enc == "PlainText" else content_b64


def command_view(cmd, enc):
    names = list(cmd.parameter_names)
    return {
        "CommandId": cmd.id, "Name": cmd.name, "Type": cmd.type, "CommandContent": content_view(cmd.content, enc),
        "Description": cmd.description, "WorkingDir": cmd.working_dir, "Timeout": cmd.timeout,
        "EnableParameter": cmd.enable_parameter, "ParameterNames": {"ParameterName": names},
        "ParameterDefinitions": {"ParameterDefinition": [
            {"ParameterName": n, "Description": "", "DefaultValue": "", "Required": True, "PatternRegex": "",
             "PossibleValues": {"PossibleValue": []}} for n in names]},
        "InvokeTimes": cmd.invoke_times, "CreationTime": iso(cmd.creation_time), "Category": cmd.category,
        "Provider": cmd.provider, "Version": cmd.version, "Latest": cmd.latest, "Launcher": cmd.launcher, "ResourceGroupId": "",
        "Tags": tags_view(cmd.tags),
    }


def invocation_view(inv, enc, include_output, instance_id=None):
    cmd = inv.command
    status = overall_status(inv)
    items = [i for i in inv.items.values() if instance_id is None or i.instance_id == instance_id]
    return {
        "InvokeId": inv.id, "CommandId": cmd.id, "CommandName": cmd.name, "CommandType": cmd.type,
        "CommandContent": content_view(cmd.content, enc), "CommandDescription": cmd.description,
        "Parameters": json.dumps(inv.parameters, ensure_ascii=False), "RepeatMode": inv.schedule.repeat_mode,
        "Frequency": inv.schedule.frequency, "Timed": inv.schedule.kind != "once", "Timeout": inv.timeout,
        "Username": inv.username, "WorkingDir": inv.working_dir, **inv.extra,
        "CreationTime": iso(inv.creation_time), "InvocationStatus": status, "InvokeStatus": INVOKE_STATUS[status],
        "VmCount": len(inv.items), "Tags": tags_view(inv.tags),
        "InvokeInstances": {"InvokeInstance": [_invoke_instance(inv, i, enc, include_output) for i in items]},
    }


def _invoke_instance(inv, item, enc, include_output):
    return {
        "InstanceId": item.instance_id, "InvocationStatus": item.status,
        "InstanceInvokeStatus": RECORD_STATUS[item.status], "ExitCode": item.exit_code,
        "Output": encode_output(item.output, enc) if include_output else "", "Dropped": item.dropped,
        "ErrorCode": item.error_code, "ErrorInfo": item.error_info, "Repeats": item.repeats,
        "CreationTime": iso(item.created), "StartTime": iso(item.start_time), "FinishTime": iso(item.finish_time),
        "StopTime": iso(item.stop_time), "UpdateTime": iso(item.update_time),
        "Timed": inv.schedule.kind != "once", **OSS_FIELDS,
    }


def result_view(inv, item, enc, record=None):
    """One DescribeInvocationResults row: the item's latest state, or one ``record`` of its history."""
    if record is None:
        record = {"status": item.status, "exit_code": item.exit_code, "output": item.output,
                  "dropped": item.dropped, "error_code": item.error_code, "error_info": item.error_info,
                  "repeats": item.repeats, "start_time": item.start_time, "finish_time": item.finish_time}
    return {
        "InvokeId": inv.id, "CommandId": inv.command.id, "InstanceId": item.instance_id,
        "InvocationStatus": record["status"], "InvokeRecordStatus": RECORD_STATUS[record["status"]],
        "ExitCode": record["exit_code"], "Output": encode_output(record["output"], enc), "Dropped": record["dropped"],
        "ErrorCode": record["error_code"], "ErrorInfo": record["error_info"], "Repeats": record["repeats"],
        "StartTime": iso(record["start_time"]), "FinishedTime": iso(record["finish_time"]),
        "StopTime": iso(item.stop_time), "Username": inv.username, **inv.extra, **OSS_FIELDS,
        "Tags": tags_view(inv.tags),
    }
