"""The neutral simulator: the clock, the state lock, the credentials and the components of the products it serves."""

import shutil
import tempfile
import threading

from . import products as product_registry
from .clock import SimClock
from .errors import ApiError
from .quotas import QuotaBook, check_config as check_quotas
from .registry import ACTIONS, ordered_components

DEFAULT_CREDENTIALS = {
    # access key id -> {"secret": ..., "token": required STS token or None}
    "sim-access-key": {"secret": "sim-secret-key", "token": None},
    "STS.sim-access-key": {"secret": "sim-sts-secret", "token": "sim-sts-token"},
}


class Simulator:
    """All state behind one simulated endpoint. Handlers run under ``self.lock``.

    ``product_packages`` (product name -> the package that declares it) names the products served;
    their order is the order in which their components are created, advanced and asked.
    """

    product_packages = {}

    def __init__(self, fleet=None, time_scale=1.0, credentials=None, workdir=None, durations=None, quotas=None):
        self.products = {p.name: p for p in product_registry.load(self.product_packages)}
        self.lock = threading.RLock()
        self.clock = SimClock(time_scale)
        self.credentials = dict(credentials or DEFAULT_CREDENTIALS)
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="alicloud-sim-")
        self.base_durations = dict(durations or {})
        self.components = {}
        self.calls = []      # call log, appended by the server
        self.faults = []     # active fault rules, managed by the server's fault injector
        self.quotas = QuotaBook(quotas, sim_clock=self.clock.now)   # API flow control; ``quotas`` outlives resets
        try:
            self.reset(fleet)
        except Exception:
            self.close()     # a bad fleet must not leak the scratch directory
            raise

    def product_of_version(self, version):
        """The served product whose API version is ``version``, or None."""
        return next((p for p in self.products.values() if p.version == version), None)

    def default_fleet(self):
        return product_registry.default_fleet(self.products.values())

    def check_fleet(self, fleet):
        """Raise ValueError when a product refuses the fleet document (admin API bodies)."""
        if not isinstance(fleet, dict):
            raise ValueError("a fleet is a JSON object")
        check_quotas(fleet.get("quotas"))
        for product in self.products.values():
            if product.check_fleet is not None:
                product.check_fleet(fleet)

    # --- reset -------------------------------------------------------------------------
    def reset(self, fleet=None):
        """New state: every component is rebuilt from the fleet document (the products' default without one)."""
        check_quotas((fleet or {}).get("quotas"))   # before anything is torn down
        with self.lock:
            for comp in self.components.values():
                if hasattr(comp, "close"):
                    comp.close()
            fleet = self.default_fleet() if fleet is None else fleet
            self.fleet = fleet   # the document of the last reset; components read their options from it
            self.durations = product_registry.default_durations(self.products.values())
            self.durations.update(self.base_durations)
            self.durations.update(fleet.get("durations") or {})
            components = {name: cls(self) for name, cls in ordered_components(self.products)}
            self.quotas.apply(fleet.get("quotas"))
            self.calls = []
            self.faults = []
            self.components = components

    # --- dispatch ------------------------------------------------------------------------
    def advance(self):
        now = self.clock.now()
        for comp in self.components.values():
            if hasattr(comp, "advance"):
                comp.advance(now)
        return now

    def dispatch(self, req):
        found = ACTIONS.get((req.product, req.action))
        if found is None:
            raise ApiError("InvalidAction.NotFound",
                           "Specified api is not found, please check your url and method.", 404)
        with self.lock:
            self.advance()
            return found.handler(self, req)

    def health(self):
        """What the components add to ``GET /_sim/health``."""
        result = {}
        for comp in self.components.values():
            if hasattr(comp, "health"):
                result.update(comp.health())
        return result

    def snapshot(self):
        with self.lock:
            self.advance()
            return {"now": self.clock.now(),
                    **{name: comp.snapshot() for name, comp in self.components.items() if hasattr(comp, "snapshot")}}

    def close(self):
        with self.lock:
            for comp in self.components.values():
                if hasattr(comp, "close"):
                    comp.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
