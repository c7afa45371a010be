"""Action and component registries.

A handler is ``fn(sim, req) -> dict`` registered with ``@action(product, "ActionName")``, plus
``mutating=True`` when the action changes state (the call log's ``mutating`` flag). It runs with ``sim.lock`` held, after every component has been advanced to the current
simulated time. It returns the response body without ``RequestId`` (the server adds it) and
raises :class:`alicloud_sim.core.errors.ApiError` for API errors.

A component is a piece of simulator state (executions, invocations, baselines, ...) registered
with ``@component("name")`` on a class whose constructor takes the simulator. It is rebuilt on
every reset and reached as ``sim.components["name"]``. Optional methods:
``advance(now)`` (move state forward to simulated time ``now``; called under the lock before
every handler and before admin reads), ``snapshot()`` (JSON-able dict for ``GET /_sim/state``),
``close()`` (stop threads on shutdown).
"""

from dataclasses import dataclass, field

VERSIONS = {"oos": "2019-06-01", "ecs": "2014-05-26"}
PRODUCT_BY_VERSION = {v: k for k, v in VERSIONS.items()}

ACTIONS = {}      # (product, action name) -> Action
COMPONENTS = {}


@dataclass
class Request:
    product: str          # "oos" | "ecs"
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


def component(name):
    def register(cls):
        COMPONENTS[name] = cls
        return cls
    return register


def load_all():
    """Import every handler module so the registries are filled."""
    from .. import oos, ecs  # noqa: F401  pylint: disable=unused-import
