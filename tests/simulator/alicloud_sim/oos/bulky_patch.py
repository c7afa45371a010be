"""Per-instance work of ``ACS-ECS-BulkyApplyPatchBaseline`` (child template
``ACS::ECS::ApplyPatchBaseline``): optional system-disk snapshot, scan or install with the OS's
default baseline, optional reboot (a high-risk action)."""

import json

from ..ecs.fleet import fleet
from .records import Phase
from .targets import CHECK_FAIL_SECONDS, TargetRunner, instance_problem, target_region

CHILD_TEMPLATE = "ACS::ECS::ApplyPatchBaseline"
_CHILD_KEYS = ("regionId", "action", "whetherCreateSnapshot", "retentionDays", "rebootIfNeed", "timeout")
_COMMAND_TASK = {"scan": "scanPatches", "install": "installPatches"}


class PatchRunner(TargetRunner):
    select_task = ("getInstance", "ACS::SelectTargets")
    loop_task = ("applyPatchBaseline", CHILD_TEMPLATE)
    child_template = CHILD_TEMPLATE
    property_keys = _CHILD_KEYS

    @staticmethod
    def child_parameters(exe, instance_id):
        params = {k: exe.parameters.get(k) for k in _CHILD_KEYS}
        params["retentionDays"] = str(params["retentionDays"])
        params["instanceId"] = instance_id
        return params

    def plan(self, exe, item, t):
        problem = instance_problem(self.sim, item.target, target_region(exe))
        if problem:
            return [Phase("checkInstanceReady", "ACS::WaitFor", CHECK_FAIL_SECONDS, fail=problem)]
        inst = fleet(self.sim).get(item.target)
        store = self.sim.components["patching"]
        baseline = store.default_for(inst)
        if baseline is None:
            return [Phase("checkInstanceReady", "ACS::WaitFor", CHECK_FAIL_SECONDS, fail=store.no_default_reason(inst))]
        phases = [Phase("checkInstanceReady", "ACS::WaitFor", 0)]
        _, unresolved = self.resolve(exe, exe.parameters)
        if unresolved:
            return phases + [Phase(_COMMAND_TASK[exe.parameters["action"]], "ACS::ECS::RunCommand",
                                   CHECK_FAIL_SECONDS, fail=unresolved)]
        install = exe.parameters["action"] == "install"
        if install and exe.parameters.get("whetherCreateSnapshot"):
            phases.append(self._snapshot_phase(exe, item, inst))
        phases.append(self._command_phase(exe, item, inst, baseline))
        return phases

    def _snapshot_phase(self, exe, item, inst):
        seconds = inst.duration("snapshot", self.sim)
        phase = Phase("createSnapshot", "ACS::ECS::CreateSnapshot", seconds)

        def start(t):
            snapshot_id = self.sim.components["snapshots"].create(
                inst, f"Snapshot-{item.child.id}", int(exe.parameters.get("retentionDays") or 7), t, seconds,
                f"Created by OOS execution {item.child.id} before installing patches")
            phase.outputs["snapshotId"] = snapshot_id
        phase.on_start = start
        return phase

    def _command_phase(self, exe, item, inst, baseline):
        p = exe.parameters
        scan = p["action"] == "scan"
        seconds = inst.duration("patch_scan" if scan else "patch_install", self.sim)
        timeout = float(p.get("timeout") or 7200)
        fail = ""
        if seconds > timeout:
            seconds = timeout
            fail = (f"ExecutionTimeout: the patch command on instance {inst.id} did not finish within "
                    f"{int(timeout)} seconds.")
        elif not scan and "patch" in inst.fail:
            fail = (f"Command execution failed on instance {inst.id}: patch_manager exited with code 1; "
                    "some patches failed to install (see ListInstancePatches).")
        store = self.sim.components["patching"]

        def done(t, failed):
            if scan and failed:
                return
            if scan:
                counts = store.scan(inst, baseline, t - seconds, t)
            else:
                counts = store.install(inst, baseline, t - seconds, t, failed)
                if not failed and p.get("rebootIfNeed") and counts["InstalledPendingReboot"]:
                    item.phases.append(self._reboot_phase(item, inst, baseline))
            item.output = {"commandOutput": _summary(p["action"], inst, baseline, counts)}
        return Phase(_COMMAND_TASK[p["action"]], "ACS::ECS::RunCommand", seconds, fail=fail, on_end=done)

    def _reboot_phase(self, item, inst, baseline):
        def start(t):
            inst.start_reboot()

        def done(t, failed):
            inst.finish_reboot(t)
            counts = self.sim.components["patching"].rebooted(inst, baseline, t)
            item.output = {"commandOutput": _summary("install", inst, baseline, counts) + " Rebooted."}

        def cancel(t):
            inst.finish_reboot()
        return Phase("rebootInstance", "ACS::ECS::RebootInstance", inst.duration("reboot", self.sim), risky=True,
                     on_start=start, on_end=done, on_cancel=cancel)

    @staticmethod
    def _outputs(items):
        return [i.output.get("commandOutput", "") for i in items if i.status == "Success"]

    def outputs(self, exe, items):
        return {"commandOutput": json.dumps(self._outputs(items), ensure_ascii=False)}

    def loop_outputs(self, exe, items):
        return {"commandOutputs": self._outputs(items)}


def _summary(action_name, inst, baseline, counts):
    shown = ", ".join(f"{k} {v}" for k, v in counts.items())
    return f"Patch {action_name} finished on {inst.id} with baseline {baseline.name} ({baseline.id}): {shown}."
