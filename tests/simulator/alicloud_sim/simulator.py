"""The simulator this package serves: the neutral core with the ECS and OOS products."""

from .core import products
from .core.state import Simulator as CoreSimulator
from .ecs.fleet import fleet

PRODUCTS = {"ecs": "alicloud_sim.ecs", "oos": "alicloud_sim.oos"}


def default_fleet():
    """A fresh copy of the fleet a simulator starts with when given none."""
    return products.default_fleet(products.load(PRODUCTS))


class Simulator(CoreSimulator):
    """ECS and OOS behind one endpoint, with shortcuts to the fleet for tests."""

    product_packages = PRODUCTS

    def instance(self, instance_id):
        """The instance with that id in any region, or None (released instances included)."""
        return fleet(self).get(instance_id)

    def instances(self, region=None):
        """The instances that are not released, in one region or all."""
        return fleet(self).all(region)
