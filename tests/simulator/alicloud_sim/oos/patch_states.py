"""ListInstancePatches and ListInstancePatchStates: what the last scan or install recorded.
Instances never scanned or patched have no patch list and no patch state."""

from ..core import clock
from ..core.errors import invalid_parameter
from ..core.params import page
from ..core.registry import action
from ..ecs.fleet import fleet
from .patch_catalogue import PATCH_STATUSES

_COUNT_FIELDS = (("Installed", "InstalledCount"), ("InstalledOther", "InstalledOtherCount"),
                 ("InstalledPendingReboot", "InstalledPendingRebootCount"),
                 ("InstalledRejected", "InstalledRejectedCount"), ("Missing", "MissingCount"),
                 ("Failed", "FailedCount"))


@action("oos", "ListInstancePatches")
def list_instance_patches(sim, req):
    p = req.params
    instance_id = p.str("InstanceId", required=True)
    max_results, offset = p.paging(default=50, minimum=1, maximum=100)
    statuses = [s.strip() for s in (p.str("PatchStatuses") or "").split(",") if s.strip()]
    unknown = [s for s in statuses if s not in PATCH_STATUSES]
    if unknown:
        raise invalid_parameter("PatchStatuses", f"Allowed values: {', '.join(PATCH_STATUSES)}.")
    store = sim.components["patching"]
    inst = fleet(sim).get(instance_id)
    patches = []
    if inst is not None and inst.region == req.region and instance_id in store.states:
        patches = [x for x in store.patches(inst) if x["status"] and (not statuses or x["status"] in statuses)]
    chunk, token = page(patches, max_results, offset)
    return {"MaxResults": max_results, "NextToken": token, "Patches": [
        {"Title": x["title"], "KBId": x["kb_id"], "Classification": x["classification"], "Severity": x["severity"],
         "Status": x["status"], "InstalledTime": clock.iso(x["installed_time"]) if x["installed"] else ""}
        for x in chunk]}


@action("oos", "ListInstancePatchStates")
def list_instance_patch_states(sim, req):
    p = req.params
    ids = p.json("InstanceIds", default=None, kind=list)
    if ids is not None and (len(ids) > 100 or not all(isinstance(i, str) for i in ids)):
        raise invalid_parameter("InstanceIds", "It must be a JSON array of at most 100 instance ids.")
    max_results, offset = p.paging(default=50, minimum=1, maximum=100)
    store = sim.components["patching"]
    wanted = ids if ids is not None else [i.id for i in fleet(sim).all(req.region)]
    rows = []
    for instance_id in dict.fromkeys(wanted):
        inst = fleet(sim).get(instance_id)
        state = store.states.get(instance_id)
        if inst is None or inst.region != req.region or state is None:
            continue
        row = {"InstanceId": instance_id, "BaselineId": state["baseline_id"], "PatchGroup": "",
               "OwnerInformation": "", "OperationType": state["operation"],
               "OperationStartTime": clock.iso(state["start"]), "OperationEndTime": clock.iso(state["end"])}
        row.update({field: str(state["counts"][status]) for status, field in _COUNT_FIELDS})
        rows.append(row)
    chunk, token = page(rows, max_results, offset)
    return {"MaxResults": max_results, "NextToken": token, "InstancePatchStates": chunk}
