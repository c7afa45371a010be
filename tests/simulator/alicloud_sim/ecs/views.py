"""Response shapes of the ECS actions (and the admin API's view of an instance)."""

import json
import math
import uuid

from ..core.clock import iso
from .common import b64decode_strict, encode_output, hex_digest, tags_view
from .models import HEARTBEAT, SYSTEM_DISK_GIB, endpoint, local_name
from .records import overall_status

# Deprecated InvokeStatus of an invocation, from its InvocationStatus.
INVOKE_STATUS = {"Pending": "Running", "Running": "Running", "Scheduled": "Running", "Success": "Finished",
                 "Failed": "Failed", "PartialFailed": "PartialFailed", "Stopped": "Stopped", "Stopping": "Stopping"}
# Deprecated per-instance InstanceInvokeStatus and DescribeInvocationResults' InvokeRecordStatus.
RECORD_STATUS = {"Pending": "Running", "Running": "Running", "Scheduled": "Running", "Success": "Finished",
                 "Failed": "Finished", "Timeout": "Failed", "Error": "Failed", "Aborted": "Failed",
                 "Invalid": "Failed", "Cancelled": "Stopped", "Terminated": "Stopped", "Stopping": "Stopping"}
OSS_FIELDS = {"OssOutputStatus": "", "OssOutputUri": "", "OssOutputErrorCode": "", "OssOutputErrorInfo": ""}
OS_TYPES = {"linux": "Linux", "windows": "Windows", "freebsd": "FreeBSD"}
CPUS = {"small": 1, "medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32}
GIB_PER_CPU = {"c": 2, "g": 4, "r": 8}
IMAGES = {
    "AliyunLinux": "aliyun_3_x64_20G_alibase_20240819.vhd",
    "CentOS": "centos_7_9_x64_20G_alibase_20240628.vhd",
    "Ubuntu": "ubuntu_22_04_x64_20G_alibase_20240807.vhd",
    "Debian": "debian_12_6_x64_20G_alibase_20240823.vhd",
}
WINDOWS_IMAGE = "win2022_21H2_x64_dtc_en-us_40G_alibase_20240816.vhd"


def instance_view(inst):
    """An instance as the admin API and ``GET /_sim/state`` show it."""
    return {
        "id": inst.id, "region": inst.region, "name": inst.name, "os_type": inst.os_type,
        "os_name": inst.os_name, "platform": inst.platform, "status": inst.status,
        "agent": inst.agent, "tags": dict(inst.tags), "released": inst.released, "boot_id": inst.boot_id,
        "rebooting": inst.down_until is not None,
        "packages": {k: {"version": v["version"], "parameters": v["parameters"]}
                     for k, v in inst.packages.items()},
    }


def region_view(region, language):
    return {"RegionId": region, "LocalName": local_name(region, language), "RegionEndpoint": endpoint(region),
            "Status": "available"}


def image_id(inst):
    if inst.os_type == "windows":
        return WINDOWS_IMAGE
    return IMAGES.get(inst.platform, f"{inst.platform.lower().replace(' ', '_')}_x64_20G_alibase_20240801.vhd")


def instance_fields(inst):
    family, _, size = inst.instance_type.rpartition(".")
    cpu = CPUS.get(size, 2)
    letter = family.split(".")[-1][:1]
    abbr = inst.id[2:4]
    return {
        "InstanceId": inst.id, "InstanceName": inst.name, "HostName": f"iZ{inst.id[2:]}Z",
        "Description": "", "Status": inst.status, "OSType": inst.os_type, "OSName": inst.os_name,
        "OSNameEn": inst.os_name, "RegionId": inst.region, "ZoneId": inst.zone, "ImageId": image_id(inst),
        "InstanceType": inst.instance_type, "InstanceTypeFamily": family, "Cpu": cpu,
        "Memory": cpu * GIB_PER_CPU.get(letter, 4) * 1024, "InstanceChargeType": "PostPaid",
        "InternetChargeType": "PayByTraffic", "InstanceNetworkType": "vpc", "IoOptimized": True,
        "CreationTime": iso(inst.creation_time, minutes=True), "StartTime": iso(inst.start_time, minutes=True),
        "ExpiredTime": "2099-12-31T15:59Z", "ResourceGroupId": "", "KeyPairName": "",
        "SerialNumber": str(uuid.uuid5(uuid.NAMESPACE_URL, inst.id)), "DeletionProtection": False,
        "StoppedMode": "KeepCharging" if inst.status == "Stopped" else "Not-applicable",
        "VpcAttributes": {"VpcId": f"vpc-{abbr}{hex_digest(inst.region, 17)}",
                          "VSwitchId": f"vsw-{abbr}{hex_digest(inst.zone, 17)}",
                          "PrivateIpAddress": {"IpAddress": [inst.private_ip]}, "NatIpAddress": ""},
        "PublicIpAddress": {"IpAddress": [inst.public_ip] if inst.public_ip else []}, "InnerIpAddress": {"IpAddress": []},
        "EipAddress": {"AllocationId": "", "IpAddress": "", "Bandwidth": 0, "InternetChargeType": ""},
        "SecurityGroupIds": {"SecurityGroupId": [f"sg-{abbr}{hex_digest(inst.region + '/sg', 17)}"]},
        "Tags": tags_view(inst.tags), "OperationLocks": {"LockReason": []},
    }


def agent_status_view(inst, ca, now):
    """One DescribeCloudAssistantStatus row; ``ca`` is the ``commands`` component."""
    online = inst.agent_online
    if online:
        heartbeat = now - ((now - inst.start_time) % HEARTBEAT)
    else:
        heartbeat = inst.start_time if inst.agent_installed else None
    count, last = ca.invoked.get(inst.id, (0, None))
    return {
        "InstanceId": inst.id, "CloudAssistantStatus": "true" if online else "false",
        "CloudAssistantVersion": inst.agent_version if inst.agent_installed and inst.status == "Running" else "",
        "OSType": OS_TYPES[inst.os_type], "LastHeartbeatTime": iso(heartbeat), "LastInvokedTime": iso(last),
        "ActiveTaskCount": ca.active_tasks(inst.id), "InvocationCount": count,
        "SupportSessionManager": inst.agent_installed,
    }


def snapshot_view(snap, now):
    """One DescribeSnapshots row as of simulated time ``now``."""
    elapsed = now - snap["start"]
    done = elapsed >= snap["seconds"]
    pct = 100 if done else max(0, min(99, math.floor(100 * elapsed / snap["seconds"])))
    expires = snap["start"] + snap["retention_days"] * 86400
    return {
        "SnapshotId": snap["id"], "SnapshotName": snap["name"], "Description": snap["description"],
        "SourceDiskId": snap["disk_id"], "SourceDiskType": "system", "SourceDiskSize": str(SYSTEM_DISK_GIB),
        "SourceStorageType": "disk", "Category": "standard", "SnapshotType": "user", "Usage": "none",
        "RetentionDays": snap["retention_days"], "RemainTime": 0 if done else math.ceil(snap["seconds"] - elapsed),
        "Status": "accomplished" if done else "progressing", "Progress": f"{pct}%",
        "Available": done, "InstantAccess": False, "Encrypted": False, "ProductCode": "",
        "RegionId": snap["region"], "ResourceGroupId": "", "SnapshotSN": "64" + hex_digest(snap["id"], 18),
        "CreationTime": iso(snap["start"]),
        "LastModifiedTime": iso(snap["start"] + (snap["seconds"] if done else 0)),
        "ExpiredTime": iso(expires), "Tags": {"Tag": []},
    }


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
