"""``targets`` of the bulky templates (ACS::SelectTargets) and the per-instance readiness check
both child templates start with."""

from ..ecs.fleet import fleet
from .engine import TargetError
from .secret_parameters import Unresolved

CHECK_FAIL_SECONDS = 1.0   # a failing readiness / package check ends the item after this long


def target_region(exe):
    targets = exe.parameters.get("targets")
    region = targets.get("RegionId") if isinstance(targets, dict) else None
    return region or exe.parameters.get("regionId") or exe.region


def select_targets(sim, exe):
    """Instance ids selected by ``targets`` (``ResourceIds`` or ``Tags``), in request order."""
    targets = exe.parameters.get("targets")
    if not isinstance(targets, dict):
        raise TargetError("targets must be a JSON object.")
    kind = targets.get("Type", "ResourceIds")
    region = target_region(exe)
    if kind == "ResourceIds":
        ids = targets.get("ResourceIds") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise TargetError("targets.ResourceIds must be a list of instance ids.")
        selected = list(dict.fromkeys(ids))
    elif kind == "Tags":
        tags = targets.get("Tags") or []
        if not isinstance(tags, list) or not tags or not all(isinstance(t, dict) and t.get("Key") for t in tags):
            raise TargetError('targets.Tags must be a non-empty list of {"Key": ..., "Value": ...}.')
        selected = [i.id for i in fleet(sim).all(region) if all(
            t["Key"] in i.tags and ("Value" not in t or i.tags[t["Key"]] == t["Value"]) for t in tags)]
    else:
        raise TargetError(f"The targets Type {kind} is not supported; use ResourceIds or Tags.")
    if not selected:
        raise TargetError(f"No instance in region {region} matches the targets.")
    return selected


def instance_problem(sim, instance_id, region):
    """Why ``instance_id`` cannot run a Cloud Assistant task now, or "" when it can."""
    inst = fleet(sim).get(instance_id)
    if inst is None or inst.released or inst.region != region:
        return (f"InvalidInstance.NotFound: The specified instance {instance_id} does not exist "
                f"in region {region}.")
    if inst.status != "Running":
        return (f"Instance {instance_id} is {inst.status}; timed out waiting for the instance status "
                "to become Running.")
    if inst.agent == "none":
        return (f"Cloud Assistant is not installed on instance {instance_id} "
                "(CloudAssistantStatus false); install the Cloud Assistant agent first.")
    if inst.agent != "online":
        return (f"The Cloud Assistant agent on instance {instance_id} is offline (no heartbeat since the "
                "instance started); the command cannot be delivered.")
    return ""


class TargetRunner:
    """What the template runners share: targets come from the ``targets`` parameter, and the loop
    task's properties are the template parameters named in ``property_keys``."""

    property_keys = ()

    def __init__(self, sim):
        self.sim = sim

    def select_targets(self, exe):
        return select_targets(self.sim, exe)

    def loop_properties(self, exe):
        return {k: exe.parameters.get(k) for k in self.property_keys}

    def resolve(self, exe, values):
        """(:class:`Resolution` of the references in ``values``, "") or (None, why one does not resolve)."""
        try:
            return self.sim.components["secret_parameters"].resolve(exe.region, values), ""
        except Unresolved as err:
            return None, str(err)
