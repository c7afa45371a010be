"""Action and component registries.

A handler is ``fn(sim, req) -> dict`` registered with ``@action(product, "ActionName")``, plus
``mutating=True`` when the action changes state (the call log's ``mutating`` flag). It runs with
``sim.lock`` held, after every component has been advanced to the current simulated time. It
returns the response body without ``RequestId`` (the server adds it) and raises
:class:`alicloud_sim.core.errors.ApiError` for API errors.

A component is a piece of simulator state (a store of one kind of resource and its state machines)
registered with ``@component(product, "name")`` on a class whose constructor takes the simulator
(and must not reach other components). It is rebuilt on every reset and reached as
``sim.components["name"]``; components are created, advanced and asked product by product, in the
simulator's product order, and within a product in the order they were registered. Optional methods:
``advance(now)`` (move state forward to simulated time ``now``; called under the lock before every
handler and before admin reads), ``snapshot()`` (JSON-able value for ``GET /_sim/state``, under the
component's name), ``health()`` (a dict merged into ``GET /_sim/health``), ``close()`` (stop threads
on reset and shutdown), and the admin hooks of :mod:`alicloud_sim.core.admin`.
"""

from dataclasses import dataclass, field

ACTIONS = {}      # (product, action name) -> Action
COMPONENTS = {}   # component name -> class, in registration order
_COMPONENT_PRODUCT = {}


@dataclass
class Request:
    product: str
    action: str
    region: str           # RegionId parameter, else the region of the endpoint ("cn-hangzhou" by default)
    params: "object"      # alicloud_sim.core.params.Params
    access_key: str = ""
    request_id: str = ""
    user_agent: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    product: str
    name: str
    handler: "object"     # fn(sim, req) -> dict
    mutating: bool = False


def action(product, name, mutating=False):
    """Register the decorated function as the handler of ``product``'s action ``name``."""
    def register(fn):
        ACTIONS[(product, name)] = Action(product, name, fn, mutating)
        return fn
    return register


def is_mutating(product, name):
    """Whether the registered action changes state (False for an unknown one)."""
    found = ACTIONS.get((product, name))
    return bool(found and found.mutating)


def component(product, name):
    """Register the decorated class as ``product``'s component ``name``."""
    def register(cls):
        COMPONENTS[name] = cls
        _COMPONENT_PRODUCT[name] = product
        return cls
    return register


def ordered_components(products):
    """(name, class) of every registered component, product by product in the order of ``products``
    (product names), each product's in registration order; components of other products come last."""
    rank = {name: index for index, name in enumerate(products)}
    return sorted(COMPONENTS.items(), key=lambda item: rank.get(_COMPONENT_PRODUCT.get(item[0]), len(rank)))
