"""ECS TagResources for instances (``ResourceType=instance``): adds or overwrites tags, which DescribeInstances
then shows and filters by. Other resource types are not simulated (``InvalidResourceType.NotSupported``).

As the API reference says: ``ResourceId.N`` 1 to 50, ``Tag.N`` 1 to 20, a key 1 to 128 characters that does not
start with ``aliyun`` or ``acs:``; an instance holds at most 20 tags. The reference gives no code for a tag
limit exceeded; the simulator answers ``InvalidTagCount`` (decisions, README)."""

from ..core.errors import ApiError, missing_parameter
from ..core.registry import action
from .common import require_region, tag_filters
from .fleet import fleet

MAX_RESOURCES = 50
MAX_TAGS = 20


@action("ecs", "TagResources", mutating=True)
def tag_resources(sim, req):
    p = req.params
    region = require_region(req)
    if p.str("ResourceType", required=True) != "instance":
        raise ApiError("InvalidResourceType.NotSupported", "The specified ResourceType is not supported.")
    ids = list(dict.fromkeys(p.repeat("ResourceId")))
    if not ids:
        raise missing_parameter("ResourceId")
    if len(ids) > MAX_RESOURCES:
        raise ApiError("InvalidResourceId.ExceedLimit", "The number of ResourceId exceeds 50.")
    tags = tag_filters(p)
    if not tags:
        raise missing_parameter("Tag")
    if len(tags) > MAX_TAGS:
        raise ApiError("InvalidTag.ExceedLimit", "The number of tags exceeds 20.")
    for key, value in tags:
        if len(key) > 128 or key.lower().startswith(("aliyun", "acs:")):
            raise ApiError("InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid.")
        if value is not None and (len(value) > 128 or value.lower().startswith(("aliyun", "acs:"))):
            raise ApiError("InvalidTagValue.Malformed", "The specified Tag.n.Value is not valid.")
    instances = [fleet(sim).get(i) for i in ids]
    if any(i is None or i.released or i.region != region for i in instances):
        raise ApiError("InvalidResourceId.NotFound", "The specified ResourceIds are not found in our records.", 404)
    for inst in instances:
        if len(set(inst.tags) | {k for k, _ in tags}) > MAX_TAGS:
            raise ApiError("InvalidTagCount", "The number of tags on the resource exceeds 20.")
    for inst in instances:
        inst.tags.update({k: v or "" for k, v in tags})
    return {}
