"""The Cloud Assistant agent: DescribeCloudAssistantStatus and InstallCloudAssistant.

An installed agent reports a heartbeat every 60 s from the instance's start time. Installing
leaves the agent ``offline`` until the instance is rebooted or started again (admin
``PATCH /_sim/instances/<id>`` with ``{"reboot": true}`` or a Stopped -> Running change), as
the real installation needs a reboot.
"""

from ..core.errors import ApiError
from ..core.registry import action
from .common import require_region
from .fleet import fleet, listed_instances
from .models import AGENT_VERSION
from .paging import ecs_page
from .views import OS_TYPES, agent_status_view


@action("ecs", "DescribeCloudAssistantStatus")
def describe_cloud_assistant_status(sim, req):
    p = req.params
    region = require_region(req)
    ids = list(dict.fromkeys(p.repeat("InstanceId")))
    os_type = (p.str("OSType") or "").lower()
    if os_type and os_type not in OS_TYPES:
        raise ApiError("InvalidOSType.NotFound", "The specified OSType does not exist.", 404)
    if ids:
        if len(ids) > 50:
            raise ApiError("InstanceIds.ExceedLimit", "The number of instance IDs exceeds the upper limit.", 403)
        found = [fleet(sim).get(i) for i in ids]
        items = [i for i in found if i is not None and not i.released and i.region == region]
    else:
        items = fleet(sim).all(region)
    items = [i for i in items if not os_type or i.os_type == os_type]
    if ids:
        fields = {"TotalCount": len(items), "PageNumber": 1, "PageSize": len(items), "NextToken": ""}
    else:
        items, fields = ecs_page(p, items)
    now = sim.clock.now()
    return {**fields, "InstanceCloudAssistantStatusSet": {
        "InstanceCloudAssistantStatus": [agent_status_view(i, sim.components["commands"], now) for i in items]}}


@action("ecs", "InstallCloudAssistant", mutating=True)
def install_cloud_assistant(sim, req):
    region = require_region(req)
    instances = listed_instances(sim, region, req.params)
    for inst in instances:
        if inst.status != "Running":
            raise ApiError("IncorrectInstanceStatus",
                           "The current status of the resource does not support this operation.", 403)
    for inst in instances:
        if not inst.agent_installed:
            inst.agent, inst.agent_version = "offline", AGENT_VERSION
            sim.components["commands"].install_pending.add(inst.id)
    return {}
