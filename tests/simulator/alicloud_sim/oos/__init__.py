"""OOS 2019-06-01: templates and extensions, executions, package and patch states, patch baselines and
encryption parameters. Its targets are the ECS fleet (:mod:`alicloud_sim.ecs.fleet`)."""

from ..core.errors import ApiError
from ..core.products import Product, register_product
from ..ecs.models import REGIONS

# Simulated seconds of OOS work on an instance, unless the fleet file says otherwise.
DURATIONS = {
    "install": 20,        # extension install / update
    "uninstall": 10,      # extension uninstall
    "patch_scan": 15,
    "patch_install": 60,
    "start": 1,           # an OOS execution stays Started this long before it selects its targets
}


def _unknown_region(region):
    return ApiError("InvalidRegionId", f"The specified region {region} is not supported.")


# Published API quotas (Quota Center > API Rate Limits; help.aliyun.com/zh/oos/developer-reference/
# api-oos-2019-06-01-quota). Where no figure was found: the most common figure of that page.
QUOTAS = {
    "StartExecution": "300/60",
    "DeleteExecutions": "300/60",
    "CreateTemplate": "300/60",
    "UpdatePatchBaseline": "300/60",
    "ListPatchBaselines": "300/60",
    "ListInstancePatchStates": "20/1",
    "GetSecretParameters": "600/60",
    "GetParameters": "600/60",
    "ListActions": "300/60",
}
DEFAULT_QUOTA = "300/60"

PRODUCT = register_product(Product(
    name="oos", version="2019-06-01", host="oos.{region}.aliyuncs.com", regions=REGIONS,
    unknown_region=_unknown_region, recommend="Oos", durations=DURATIONS, quotas=QUOTAS, default_quota=DEFAULT_QUOTA))

from . import (executions, packages, patch_states, patching, regions, secret_parameters,  # noqa: E402,F401  pylint: disable=wrong-import-position
               task_executions, templates)
