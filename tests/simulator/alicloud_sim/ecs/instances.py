"""ECS DescribeInstances."""

import hashlib
import re
import uuid

from ..core.clock import iso
from ..core.errors import ApiError
from ..core.registry import action
from .common import require_region, tag_filters, tags_match, tags_view
from .paging import ecs_page

STATUSES = {"Pending", "Running", "Starting", "Stopping", "Stopped"}
CPUS = {"small": 1, "medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32}
GIB_PER_CPU = {"c": 2, "g": 4, "r": 8}
IMAGES = {
    "AliyunLinux": "aliyun_3_x64_20G_alibase_20240819.vhd",
    "CentOS": "centos_7_9_x64_20G_alibase_20240628.vhd",
    "Ubuntu": "ubuntu_22_04_x64_20G_alibase_20240807.vhd",
    "Debian": "debian_12_6_x64_20G_alibase_20240823.vhd",
}
WINDOWS_IMAGE = "win2022_21H2_x64_dtc_en-us_40G_alibase_20240816.vhd"


def _short(seed, n=17):
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


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
        "VpcAttributes": {"VpcId": f"vpc-{abbr}{_short(inst.region)}", "VSwitchId": f"vsw-{abbr}{_short(inst.zone)}",
                          "PrivateIpAddress": {"IpAddress": [inst.private_ip]}, "NatIpAddress": ""},
        "PublicIpAddress": {"IpAddress": []}, "InnerIpAddress": {"IpAddress": []},
        "EipAddress": {"AllocationId": "", "IpAddress": "", "Bandwidth": 0, "InternetChargeType": ""},
        "SecurityGroupIds": {"SecurityGroupId": [f"sg-{abbr}{_short(inst.region + '/sg')}"]},
        "Tags": tags_view(inst.tags), "OperationLocks": {"LockReason": []},
    }


def _name_matcher(pattern):
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(f"^{regex}$").match


@action("ecs", "DescribeInstances")
def describe_instances(sim, req):
    p = req.params
    region = require_region(req)
    items = sim.instances(region)
    ids = p.json("InstanceIds", kind=list)
    if ids is not None:
        if len(ids) > 100:
            raise ApiError("InvalidInstanceIds.ValueNotSupported", "The specified InstanceIds exceed 100 items.")
        wanted = set(map(str, ids))
        items = [i for i in items if i.id in wanted]
    status = p.str("Status")
    if status is not None:
        if status not in STATUSES:
            raise ApiError("InvalidStatus.ValueNotSupported", f"The specified Status {status} is not supported.")
        items = [i for i in items if i.status == status]
    if p.str("InstanceName"):
        match = _name_matcher(p.str("InstanceName"))
        items = [i for i in items if match(i.name)]
    for name, attr in (("ZoneId", "zone"), ("InstanceType", "instance_type")):
        if p.str(name):
            items = [i for i in items if getattr(i, attr) == p.str(name)]
    filters = tag_filters(p)
    if len(filters) > 20:
        raise ApiError("InvalidTag.ExceedLimit", "The number of tags exceeds 20.")
    items = [i for i in items if tags_match(i.tags, filters)]
    chunk, fields = ecs_page(p, items, default=10, maximum=100, clamp=True)
    return {**fields, "Instances": {"Instance": [instance_fields(i) for i in chunk]}}
