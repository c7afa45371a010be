"""ECS DescribeInstances and RebootInstance."""

import re

from ..core.errors import ApiError
from ..core.registry import action
from .common import require_region, tag_filters, tags_match
from .fleet import fleet
from .models import INSTANCE_STATUSES
from .paging import ecs_page
from .views import instance_fields


def _name_matcher(pattern):
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(f"^{regex}$").match


def _network_match(p, view):
    """VpcId, VSwitchId, SecurityGroupId, ImageId, ResourceGroupId, InstanceTypeFamily, and the IP lists
    (PrivateIpAddresses, PublicIpAddresses: JSON arrays), compared with the instance's own view."""
    vpc = view["VpcAttributes"]
    single = {"VpcId": vpc["VpcId"], "VSwitchId": vpc["VSwitchId"], "ImageId": view["ImageId"],
              "ResourceGroupId": view["ResourceGroupId"], "InstanceTypeFamily": view["InstanceTypeFamily"]}
    for name, value in single.items():
        if p.str(name) and p.str(name) != value:
            return False
    if p.str("SecurityGroupId") and p.str("SecurityGroupId") not in view["SecurityGroupIds"]["SecurityGroupId"]:
        return False
    for name, have in (("PrivateIpAddresses", vpc["PrivateIpAddress"]["IpAddress"]),
                       ("PublicIpAddresses", view["PublicIpAddress"]["IpAddress"])):
        wanted = p.json(name, kind=list)
        if wanted is not None and not set(map(str, wanted)) & set(have):
            return False
    return True


@action("ecs", "DescribeInstances")
def describe_instances(sim, req):
    p = req.params
    region = require_region(req)
    items = fleet(sim).all(region)
    ids = p.json("InstanceIds", kind=list)
    if ids is not None:
        if len(ids) > 100:
            raise ApiError("InvalidInstanceIds.ValueNotSupported", "The specified InstanceIds exceed 100 items.")
        wanted = set(map(str, ids))
        items = [i for i in items if i.id in wanted]
    status = p.str("Status")
    if status is not None:
        if status not in INSTANCE_STATUSES:
            raise ApiError("InvalidStatus.ValueNotSupported", f"The specified Status {status} is not supported.")
        items = [i for i in items if i.status == status]
    if p.str("InstanceName"):
        match = _name_matcher(p.str("InstanceName"))
        items = [i for i in items if match(i.name)]
    for name, attr in (("ZoneId", "zone"), ("InstanceType", "instance_type")):
        if p.str(name):
            items = [i for i in items if getattr(i, attr) == p.str(name)]
    items = [i for i in items if _network_match(p, instance_fields(i))]
    filters = tag_filters(p)
    if len(filters) > 20:
        raise ApiError("InvalidTag.ExceedLimit", "The number of tags exceeds 20.")
    items = [i for i in items if tags_match(i.tags, filters)]
    chunk, fields = ecs_page(p, items, default=10, maximum=100, clamp=True)
    return {**fields, "Instances": {"Instance": [instance_fields(i) for i in chunk]}}


@action("ecs", "RebootInstance", mutating=True)
def reboot_instance(sim, req):
    """A Running instance goes Starting for ``durations.reboot`` seconds (its agent offline), then runs again with a
    new start time and boot id; commands pending or running on it end as for a stop."""
    p = req.params
    region = req.region      # the action has no RegionId: the endpoint's region
    inst = fleet(sim).get(p.str("InstanceId", required=True))
    if inst is None or inst.released or inst.region != region:
        raise ApiError("InvalidInstanceId.NotFound", "The specified InstanceId does not exist.", 404)
    if inst.status != "Running" or inst.down_until is not None:
        raise ApiError("IncorrectInstanceStatus", "The current status of the resource does not support this "
                       "operation.", 403)
    if p.bool("DryRun"):
        raise ApiError("DryRunOperation", "Request validation has been passed with DryRun flag set.")
    p.bool("ForceStop")
    fleet(sim).reboot(inst, sim.clock.now())
    return {}
