"""Per-instance work of ``ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL``: install, update or
uninstall an extension (child template
``ACS::ECS::ConfigureOOSPackageWithTemporaryURLFullActions``)."""

import hashlib
import json

from ..core.errors import ApiError
from ..ecs.fleet import fleet
from . import catalogue, parameters
from .records import Phase
from .targets import CHECK_FAIL_SECONDS, TargetRunner, instance_problem, target_region

CHILD_TEMPLATE = "ACS::ECS::ConfigureOOSPackageWithTemporaryURLFullActions"
_VERB = {"install": "install", "uninstall": "uninstall", "update": "update"}


class PackageRunner(TargetRunner):
    select_task = ("getInstanceFromTargets", "ACS::SelectTargets")
    loop_task = ("configurePackage", CHILD_TEMPLATE)
    child_template = CHILD_TEMPLATE
    property_keys = ("regionId", "action", "packageName", "packageVersion", "parameters")

    @staticmethod
    def child_parameters(exe, instance_id):
        p = exe.parameters
        return {"regionId": p.get("regionId"), "instanceId": instance_id, "action": p.get("action"),
                "packageName": p.get("packageName"), "packageVersion": p.get("packageVersion", ""),
                "parameters": p.get("parameters") or {}, "OOSAssumeRole": p.get("OOSAssumeRole", "")}

    # --- planning -------------------------------------------------------------------
    def plan(self, exe, item, t):
        check = self._check(exe, item)
        if check:
            return [Phase("checkInstanceReady", "ACS::WaitFor", CHECK_FAIL_SECONDS, fail=check)]
        phases = [Phase("checkInstanceReady", "ACS::WaitFor", 0)]
        problem, tpl, ver = self._package(exe, item)
        if problem:
            return phases + [Phase("getPackage", "ACS::ExecuteAPI", CHECK_FAIL_SECONDS, fail=problem)]
        phases.append(Phase("getPackage", "ACS::ExecuteAPI", 0, outputs={"templateVersion": ver.name}))
        inst = fleet(self.sim).get(item.target)
        action = exe.parameters["action"]
        installed = inst.packages.get(tpl.name)
        if action == "uninstall" or (action == "update" and installed):
            phases.append(self._uninstall_phase(exe, item, tpl, inst))
        if action in ("install", "update"):
            phases.append(self._install_phase(exe, item, tpl, ver, inst))
        return phases

    def _check(self, exe, item):
        return instance_problem(self.sim, item.target, target_region(exe))

    def _package(self, exe, item):
        """(problem, template, version) for the requested package on this instance."""
        p = exe.parameters
        store = self.sim.components["templates"]
        try:
            tpl, ver = store.require(p["packageName"], target_region(exe), p.get("packageVersion") or None)
        except ApiError as err:
            return f"{err.code}: {err.message}", None, None
        if tpl.template_type != "Package":
            problem = f"The template {tpl.name} is not an extension package (TemplateType {tpl.template_type})."
            return problem, None, None
        inst = fleet(self.sim).get(item.target)
        platforms = json.loads(ver.constraints or "{}").get("OSPlatforms")
        if not catalogue.platform_matches(platforms, inst.os_type, inst.os_name):
            return (f"The package {tpl.name} ({ver.name}) does not support the operating system of instance "
                    f"{inst.id} ({inst.os_name}, OSType {inst.os_type}); supported OSPlatforms: "
                    f"{', '.join(platforms)}.", None, None)
        resolved, problem = self.resolve(exe, p)
        if not problem and p["action"] != "uninstall":
            problem = _parameter_problem(tpl, ver, resolved)
        return (problem, None, None) if problem else ("", tpl, ver)

    # --- phases ---------------------------------------------------------------------
    def _uninstall_phase(self, exe, item, tpl, inst):
        action = exe.parameters["action"]
        failing = "uninstall" in inst.fail and action == "uninstall"
        fail = _script_failure(inst, tpl, "uninstall") if failing else ""

        def done(t, failed):
            if not failed:
                inst.packages.pop(tpl.name, None)
                if action == "uninstall":
                    item.output = {"commandOutput": f"uninstall {_short(tpl.name)} success", "configurationOutput": ""}
        return Phase("uninstallPackage", "ACS::ECS::RunCommand", inst.duration("uninstall", self.sim),
                     fail=fail, on_end=done)

    def _install_phase(self, exe, item, tpl, ver, inst):
        action = exe.parameters["action"]
        fail = _script_failure(inst, tpl, action) if action in inst.fail else ""
        values = dict(exe.parameters.get("parameters") or {})

        def done(t, failed):
            if failed:
                return
            effective = parameters.resolve(ver.parameters, values, {})
            config = _configuration_info(tpl.name, inst, effective)
            inst.packages[tpl.name] = {"version": ver.name, "parameters": values, "update_time": t,
                                       "configuration_info": config}
            detail = effective.get("version", ver.name)
            item.output = {"commandOutput": f"{_VERB[action]} {_short(tpl.name)} {detail} success",
                           "configurationOutput": config}
        return Phase("installPackage", "ACS::ECS::RunCommand", inst.duration("install", self.sim),
                     fail=fail, on_end=done)

    # --- outputs --------------------------------------------------------------------
    @staticmethod
    def _results(exe, items, key):
        name = exe.parameters.get("packageName")
        return [{"InstanceId": i.target, "InstanceResult": [{"Package": name, "PackageResult": i.output.get(key, "")}]}
                for i in items if i.status == "Success"]

    def outputs(self, exe, items):
        return {"commandOutput": self._results(exe, items, "commandOutput"),
                "configurationOutput": self._results(exe, items, "configurationOutput")}

    def loop_outputs(self, exe, items):
        out = self.outputs(exe, items)
        return {"commandOutputs": out["commandOutput"], "configurationOutputs": out["configurationOutput"]}


def _parameter_problem(tpl, ver, resolved):
    """Why the package parameters (references resolved) do not fit the version, or "". The message
    shows a secret as its reference."""
    problems = parameters.check(ver.parameters, resolved.value.get("parameters") or {})
    if not problems:
        return ""
    return resolved.hide(f"The package parameters are not valid for {tpl.name} ({ver.name}): "
                         + "; ".join(x[2] for x in problems) + ".")


def _short(name):
    """``ACS-Extension-node-1853370294850618`` -> ``node``."""
    prefix, suffix = "ACS-Extension-", f"-{catalogue.PUBLISHER_UID}"
    if name.startswith(prefix) and name.endswith(suffix):
        return name[len(prefix):-len(suffix)]
    return name


def _script_failure(inst, tpl, verb):
    return (f"Command execution failed on instance {inst.id}: the {verb} script of {tpl.name} exited with "
            "code 1 (InvocationStatus Failed, ErrorCode NonZeroExitCode).")


def _configuration_info(name, inst, values):
    """What the package reports after install; the BaoTa panel reports its URLs and login."""
    if _short(name) != "BaoTaPanelFree-One-Click":
        return ""
    digest = hashlib.sha256(inst.id.encode()).digest()
    public_ip = f"47.{96 + digest[0] % 64}.{digest[1]}.{digest[2] % 250 + 2}"
    path = digest.hex()[8:16]
    port = values.get("port", 8888)
    return json.dumps({"publicUrl": f"https://{public_ip}:{port}/{path}",
                       "privateUrl": f"https://{inst.private_ip}:{port}/{path}",
                       "username": values.get("username", "admin"), "password": values.get("password", "")})
