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


PRODUCT = register_product(Product(
    name="oos", version="2019-06-01", host="oos.{region}.aliyuncs.com", regions=REGIONS,
    unknown_region=_unknown_region, recommend="Oos", durations=DURATIONS))

from . import (executions, packages, patch_states, patching, regions, secret_parameters,  # noqa: E402,F401  pylint: disable=wrong-import-position
               task_executions, templates)
