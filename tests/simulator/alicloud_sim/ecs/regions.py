"""ECS DescribeRegions."""

from ..core.registry import action
from .models import REGIONS
from .views import region_view


@action("ecs", "DescribeRegions")
def describe_regions(sim, req):
    language = req.params.str("AcceptLanguage")
    return {"Regions": {"Region": [region_view(r, language) for r in REGIONS]}}
