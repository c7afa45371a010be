"""OOS DescribeRegions: a plain array, unlike ECS."""

from ..core.registry import action
from ..ecs.models import REGIONS, local_name
from . import PRODUCT


@action("oos", "DescribeRegions")
def describe_regions(sim, req):
    language = req.params.str("AcceptLanguage")
    return {"Regions": [{"RegionId": r, "LocalName": local_name(r, language),
                         "RegionEndpoint": PRODUCT.host_id(r)} for r in REGIONS]}
