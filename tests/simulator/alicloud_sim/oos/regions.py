"""OOS DescribeRegions: a plain array, unlike ECS."""

from ..ecs.regions import local_name
from ..core.registry import action
from ..core.state import REGIONS


@action("oos", "DescribeRegions")
def describe_regions(sim, req):
    language = req.params.str("AcceptLanguage")
    return {"Regions": [{"RegionId": r, "LocalName": local_name(r, language),
                         "RegionEndpoint": f"oos.{r}.aliyuncs.com"} for r in REGIONS]}
