"""ECS 2014-05-26: regions, instances (the fleet other products reach through :mod:`.fleet`), Cloud
Assistant and snapshots."""

from ..core.errors import ApiError
from ..core.products import Product, register_product
from .models import DEFAULT_FLEET, DURATIONS, REGIONS, check_fleet, endpoint


def _unknown_region(_region):
    return ApiError("InvalidRegionId.NotFound", "The specified RegionId does not exist.", 404)


# Published API quotas (Quota Center > API Rate Limits; alibabacloud.com/help/en/ecs/developer-reference/
# api-ecs-2014-05-26-quota). Where no figure was found: the lowest figure the page shows for ordinary operations,
# so that the simulator errs on the strict side.
QUOTAS = {"CreateCommand": "1000/60"}
DEFAULT_QUOTA = "500/60"

PRODUCT = register_product(Product(
    name="ecs", version="2014-05-26", host=endpoint, regions=REGIONS, unknown_region=_unknown_region,
    recommend="Ecs", default_fleet=DEFAULT_FLEET, durations=DURATIONS, check_fleet=check_fleet,
    quotas=QUOTAS, default_quota=DEFAULT_QUOTA))

from . import agent, cloud_assistant, disks, fleet, instances, regions, send_file, snapshots, tags  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position
