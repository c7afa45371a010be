"""Product registration: all the core knows of a product is what the product declares here.

A product package declares itself when it is imported, before it imports its handler modules::

    register_product(Product(name="vpc", version="2016-04-28", host="vpc.{region}.aliyuncs.com",
                             regions=REGIONS, unknown_region=unknown_region, recommend="Vpc"))

The server routes a request to the product whose ``version`` it names, checks its ``RegionId``
against ``regions`` (``unknown_region(region)`` is the error), and fills an error's ``HostId`` from
``host`` and its ``Recommend`` URL from ``recommend``. A reset starts from the products'
``default_fleet`` and ``durations``; the admin API checks a fleet body with ``check_fleet``.
"""

import copy
import importlib
from dataclasses import dataclass, field

DEFAULT_REGION = "cn-hangzhou"   # the region of a request without RegionId (the endpoint's own region)


@dataclass(frozen=True)
class Product:
    name: str                    # the product key of actions, components, the call log and faults
    version: str                 # the API version a request names (Version / x-acs-version)
    host: object                 # the API host of a region: a pattern with {region}, or fn(region) -> str
    regions: object              # the RegionId values the product accepts (a collection)
    unknown_region: object       # fn(region) -> ApiError for any other RegionId
    recommend: str               # the product as an error's Recommend URL names it
    default_fleet: dict = field(default_factory=dict)   # merged into the fleet of a reset without one
    durations: dict = field(default_factory=dict)       # default simulated seconds per kind of work
    check_fleet: object = None   # fn(document): raises ValueError for a fleet body the admin API refuses
    quotas: dict = field(default_factory=dict)   # published API quotas by action ("300/60"), with their source
    default_quota: str = None    # the quota of an action without a published figure (None: FALLBACK_DEFAULT)

    def host_id(self, region):
        """The ``HostId`` of an error answered in ``region``."""
        return self.host(region) if callable(self.host) else self.host.format(region=region)


PRODUCTS = {}


def register_product(product):
    """Declare ``product`` (a :class:`Product`); registering a name again replaces it."""
    PRODUCTS[product.name] = product
    return product


def load(packages):
    """Import the product packages (module names) so that they register; return their products in that order.

    ``packages`` maps a product name to the package that declares it.
    """
    for name, package in packages.items():
        importlib.import_module(package)
        if name not in PRODUCTS:
            raise RuntimeError(f"{package} does not declare the product {name!r}")
    return [PRODUCTS[name] for name in packages]


def default_fleet(products):
    """A fresh copy of the products' default fleet documents, merged."""
    fleet = {}
    for product in products:
        fleet.update(copy.deepcopy(product.default_fleet))
    return fleet


def default_durations(products):
    """The products' default durations, merged."""
    durations = {}
    for product in products:
        durations.update(product.durations)
    return durations
