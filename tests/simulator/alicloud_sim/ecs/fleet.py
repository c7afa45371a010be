"""The fleet (component ``instances``): every instance of the simulated account.

The instances are ECS state; other products reach them only through this interface:

- ``fleet(sim)`` is the component; ``.get(instance_id)`` gives an :class:`~.models.Instance` or None
  (released ones included), ``.all(region=None)`` the instances that are not released;
- an :class:`~.models.Instance` is read freely (``id``, ``region``, ``name``, ``os_type``, ``os_name``,
  ``platform``, ``status``, ``agent``, ``agent_online``, ``agent_installed``, ``tags``, ``fail``, ...);
  ``duration(kind, sim)`` is the simulated time a kind of work takes on it;
- what a product changes on an instance: ``packages`` (the extensions the guest holds) and a reboot
  (``start_reboot()`` then ``finish_reboot(t)`` when the product times it itself, or ``fleet(sim).reboot(inst,
  t, guest)``: ``durations.reboot`` seconds during which the agent is offline, the instance ``Starting`` unless
  the guest rebooted itself, after which it runs with a new boot id);
- a component of any product may define ``instance_changed(instance, changes)``: it is called, in
  component order, after the admin API changed an instance; ``changes`` holds the fields that changed
  plus ``"rebooted": True`` when the instance was rebooted or started again.
"""

from ..core.admin import AdminError
from ..core.errors import ApiError, missing_parameter
from ..core.registry import component
from .models import AGENT_STATES, INSTANCE_STATUSES, check_fleet, expand_fleet
from .views import instance_view


def fleet(sim):
    """The ``instances`` component of ``sim``."""
    return sim.components["instances"]


def listed_instances(sim, region, params, limit=50):
    """The instances of ``InstanceId.N`` (required, at most ``limit``), every one existing in ``region``."""
    ids = list(dict.fromkeys(params.repeat("InstanceId")))
    if not ids:
        raise missing_parameter("InstanceId")
    if len(ids) > limit:
        raise ApiError("InstanceIds.ExceedLimit", "The number of instance IDs exceeds the upper limit.", 403)
    instances = [fleet(sim).get(i) for i in ids]
    if any(i is None or i.released or i.region != region for i in instances):
        raise ApiError("InvalidInstance.NotFound", "The specified instance does not exist.", 404)
    return instances


@component("ecs", "instances")
class Fleet:
    def __init__(self, sim):
        self.sim = sim
        self._instances = {}
        self._rebooting = set()
        self.add(sim.fleet)

    def reboot(self, inst, t, guest=False):
        """A reboot begins at simulated time ``t``; it ends ``durations.reboot`` seconds later (``advance``). An API
        reboot (RebootInstance) makes the instance ``Starting``; a reboot from inside the guest (a script that asked
        for one) leaves it ``Running`` while its agent is offline."""
        if inst.down_until is not None:
            return
        inst.down_until = t + inst.duration("reboot", self.sim)
        if not guest:
            inst.start_reboot()
        self._rebooting.add(inst.id)

    def advance(self, now):
        for instance_id in sorted(self._rebooting):
            inst = self._instances[instance_id]
            if inst.down_until is None or now < inst.down_until:
                continue
            self._rebooting.discard(instance_id)
            ended, inst.down_until = inst.down_until, None
            if inst.status == "Starting":
                inst.finish_reboot(ended)
            else:
                inst.boots += 1
            for comp in self.sim.components.values():
                if comp is not self and hasattr(comp, "instance_changed"):
                    comp.instance_changed(inst, {"rebooted": True})

    def add(self, document):
        """Add the instances of a fleet document; returns them. Raises ValueError on a bad document."""
        with self.sim.lock:
            new = expand_fleet(document, self.sim.clock.now(), self._instances.keys())
            for inst in new:
                self._instances[inst.id] = inst
            return new

    def get(self, instance_id):
        """The instance with that id in any region, or None (released instances included)."""
        return self._instances.get(instance_id)

    def all(self, region=None):
        return [i for i in self._instances.values()
                if not i.released and (region is None or i.region == region)]

    def health(self):
        return {"instances": len(self.all())}

    def snapshot(self):
        return {i.id: instance_view(i) for i in self._instances.values()}

    # --- admin API: /_sim/instances ----------------------------------------------------
    def admin_request(self, method, path, body):
        """``POST instances`` adds a fleet's instances; ``GET instances/<id>`` shows one and
        ``PATCH``/``POST instances/<id>`` changes it."""
        if method == "POST" and not path:
            check_fleet(body)
            return {"instance_ids": [i.id for i in self.add(body)]}
        if len(path) == 1 and method in ("PATCH", "POST"):
            return self.change(path[0], body or {})
        if len(path) == 1 and method == "GET":
            return instance_view(self._require(path[0]))
        return NotImplemented

    def change(self, instance_id, data):
        """Apply an admin change (status, agent, tags, released, fail, reboot) at the current simulated time."""
        unknown = set(data) - {"status", "agent", "tags", "released", "fail", "reboot"}
        if unknown:
            raise ValueError(f"unknown instance fields: {', '.join(sorted(unknown))}")
        sim = self.sim
        with sim.lock:
            inst = self._require(instance_id)
            sim.advance()   # settle everything up to now under the old state
            changes = {}
            if "status" in data:
                if data["status"] not in INSTANCE_STATUSES:
                    raise ValueError(f"status must be one of {sorted(INSTANCE_STATUSES)}")
                if data["status"] == "Running" and inst.status != "Running":
                    inst.start_time = sim.clock.now()
                    inst.boots += 1
                    changes["rebooted"] = True
                changes["status"] = inst.status = data["status"]
            if "agent" in data:
                if data["agent"] not in AGENT_STATES:
                    raise ValueError(f"agent must be one of {sorted(AGENT_STATES)}")
                changes["agent"] = inst.agent = data["agent"]
            if "tags" in data:
                changes["tags"] = inst.tags = {str(k): str(v) for k, v in dict(data["tags"]).items()}
            if "released" in data:
                changes["released"] = inst.released = bool(data["released"])
            if "fail" in data:
                inst.fail = set(data["fail"] or ())
                changes["fail"] = sorted(inst.fail)
            if data.get("reboot"):
                inst.start_time = sim.clock.now()
                inst.boots += 1
                changes["rebooted"] = True
            for comp in sim.components.values():
                if hasattr(comp, "instance_changed"):
                    comp.instance_changed(inst, changes)
            sim.advance()
            return instance_view(inst)

    def _require(self, instance_id):
        inst = self.get(instance_id)
        if inst is None:
            raise AdminError(404, f"no instance {instance_id}")
        return inst
