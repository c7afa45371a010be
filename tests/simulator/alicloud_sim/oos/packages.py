"""ListInstancePackageStates and UpdateInstancePackageState: the extensions recorded on an instance
(``Instance.packages``; extension executions update the same record)."""

import json

from ..core import clock
from ..core.errors import ApiError, invalid_parameter
from ..core.params import page
from ..core.registry import action
from ..ecs.fleet import fleet


def _row(sim, region, name, state):
    tpl = sim.components["templates"].get(name, region)
    ver = tpl.find(state["version"]) if tpl else None
    return {
        "TemplateId": tpl.id if tpl else "", "TemplateName": name, "TemplateVersion": state["version"],
        "TemplateVersionName": tpl.version_name(ver) if tpl and ver else "", "TemplateCategory": "Package",
        "Publisher": tpl.publisher if tpl else "", "Description": tpl.description if tpl else "",
        "Parameters": json.dumps(state.get("parameters") or {}, ensure_ascii=False),
        "ConfigurationInfo": state.get("configuration_info") or "",
        "UpdateTime": clock.iso(state.get("update_time"), zulu=False),
    }


@action("oos", "ListInstancePackageStates")
def list_instance_package_states(sim, req):
    p = req.params
    instance_id = p.str("InstanceId", required=True)
    max_results, offset = p.paging(default=50, minimum=1, maximum=100)
    names = p.json("TemplateNames", default=None, kind=list)
    if names is not None and not all(isinstance(n, str) for n in names):
        raise invalid_parameter("TemplateNames", "It must be a JSON array of template names.")
    inst = fleet(sim).get(instance_id)
    rows = []
    if inst is not None and not inst.released and inst.region == req.region:
        rows = [_row(sim, req.region, name, state) for name, state in sorted(inst.packages.items())
                if names is None or name in names]
    chunk, token = page(rows, max_results, offset)
    return {"MaxResults": str(max_results), "NextToken": token, "PackageStates": chunk}


@action("oos", "UpdateInstancePackageState", mutating=True)
def update_instance_package_state(sim, req):
    p = req.params
    instance_id = p.str("InstanceId", required=True)
    name = p.str("TemplateName", required=True)
    configure = p.str("ConfigureAction", required=True).lower()
    if configure not in ("install", "uninstall"):
        raise invalid_parameter("ConfigureAction", "Allowed values: install, uninstall.")
    values = p.json("Parameters", default={}, kind=dict)
    inst = fleet(sim).get(instance_id)
    if inst is None or inst.released or inst.region != req.region:
        raise ApiError("InvalidInstance.NotFound", f"The specified instance {instance_id} does not exist.", 404)
    if configure == "uninstall":
        inst.packages.pop(name, None)
        return {}
    _, ver = sim.components["templates"].require(name, req.region, p.str("TemplateVersion"))
    inst.packages[name] = {"version": ver.name, "parameters": values,
                           "update_time": sim.components["executions"].now,
                           "configuration_info": p.str("ConfigurationInfo", default="")}
    return {}
