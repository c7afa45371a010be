"""Helpers for the OOS behaviour tests: a simulator driven in-process with a frozen clock."""

import json

import pytest

from alicloud_sim.core.errors import ApiError
from alicloud_sim.core.params import Params
from alicloud_sim.core.registry import Request
from alicloud_sim.simulator import Simulator

PACKAGE_TEMPLATE = "ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL"
PATCH_TEMPLATE = "ACS-ECS-BulkyApplyPatchBaseline"
NODE = "ACS-Extension-node-1853370294850618"
BAOTA = "ACS-Extension-BaoTaPanelFree-One-Click-1853370294850618"
IIS = "ACS-Extension-IIS-1853370294850618"
GIT = "ACS-Extension-Git-1853370294850618"
REGION = "cn-hangzhou"


def linux(iid, **kw):
    return {"id": iid, "os_type": "linux", **kw}


FLEET = {"regions": {
    REGION: {"instances": [
        linux("i-lin1", name="web-1", tags={"role": "web"}),
        linux("i-lin2", name="web-2", tags={"role": "web"}),
        linux("i-lin3", name="web-3", tags={"role": "web"}),
        linux("i-lin4", name="app-1", tags={"role": "app"}),
        linux("i-lin5", name="app-2", tags={"role": "app"}),
        linux("i-ubu1", name="db", os_name="Ubuntu 22.04 64 bit", platform="Ubuntu"),
        {"id": "i-win1", "name": "win", "os_type": "windows"},
        linux("i-noagent", agent="none"),
        linux("i-offline", agent="offline"),
        linux("i-stopped", status="Stopped"),
        linux("i-failinst", fail=["install", "update", "uninstall"]),
    ]},
    "cn-shanghai": {"instances": [linux("i-sh1")]},
}}


class Direct:
    """Call handlers through ``Simulator.dispatch``; time moves only with :meth:`advance`."""

    def __init__(self, fleet=None):
        self.sim = Simulator(fleet=FLEET if fleet is None else fleet, time_scale=1e9)

    def __call__(self, action, product="oos", region=REGION, **params):
        raw = {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in params.items()}
        return self.sim.dispatch(Request(product, action, region, Params(raw)))

    def error(self, action, **params):
        with pytest.raises(ApiError) as info:
            self(action, **params)
        return info.value

    def advance(self, seconds):
        self.sim.clock.advance(seconds)

    def start(self, template, parameters, **kw):
        return self("StartExecution", TemplateName=template, Parameters=parameters, **kw)["Execution"]["ExecutionId"]

    def install(self, ids, package=NODE, action="install", rate=None, extra=None, **kw):
        params = {"action": action, "packageName": package,
                  "targets": {"Type": "ResourceIds", "ResourceIds": list(ids), "RegionId": REGION}}
        if rate is not None:
            params["rateControl"] = rate
        params.update(extra or {})
        return self.start(PACKAGE_TEMPLATE, params, **kw)

    def patch(self, ids, action="scan", **extra):
        params = {"action": action, "targets": {"Type": "ResourceIds", "ResourceIds": list(ids), "RegionId": REGION}}
        params.update(extra)
        return self.start(PATCH_TEMPLATE, params, SafetyCheck="Skip")

    def execution(self, exe_id):
        return self("ListExecutions", ExecutionId=exe_id)["Executions"][0]

    def children(self, exe_id):
        rows = self("ListExecutions", ParentExecutionId=exe_id, MaxResults=100)["Executions"]
        return {row["Parameters"]["instanceId"]: row for row in rows}

    def finish(self, exe_id, step=10, limit=100000):
        """Advance until the execution is terminal; returns its ListExecutions view."""
        waited = 0
        while waited < limit:
            view = self.execution(exe_id)
            if view["Status"] in ("Success", "Failed", "Cancelled"):
                return view
            self.advance(step)
            waited += step
        raise AssertionError(f"{exe_id} did not finish within {limit} simulated seconds")

    def loop_items(self, exe_id):
        rows = self("ListTaskExecutions", ExecutionId=exe_id, IncludeChildTaskExecution=True,
                    MaxResults=100)["TaskExecutions"]
        return {row["LoopItem"]: row for row in rows if row["LoopItem"]}

    def packages(self, iid):
        rows = self("ListInstancePackageStates", InstanceId=iid)["PackageStates"]
        return {row["TemplateName"]: row for row in rows}

    def close(self):
        self.sim.close()


@pytest.fixture(name="oos")
def oos_fixture():
    """A :class:`Direct` simulator with :data:`FLEET`."""
    direct = Direct()
    yield direct
    direct.close()
