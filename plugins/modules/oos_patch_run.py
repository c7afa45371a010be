#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_patch_run
short_description: Scan ECS instances for patches or install them in batches, with snapshots and a reboot policy
version_added: 0.1.0
description:
  - Runs the public OOS template C(ACS-ECS-BulkyApplyPatchBaseline) on any number of instances, in executions of
    at most O(batch_size) instances, across regions. Each instance is scanned or patched with the default patch
    baseline of its operating system (see M(alibabacloud.ecs_ops.oos_patch_baseline) with O(alibabacloud.ecs_ops.oos_patch_baseline#module:default=true)).
  - Before anything starts, every instance is checked (exists, running, Cloud Assistant agent online); see O(unreachable).
  - Returns per instance the patch counts before and after, the patches installed, whether a reboot is still
    needed, the snapshot ids, the execution ids, and whether the instance is compliant.
  - With O(canary=true) the first execution pauses after its first wave of O(rate_control.concurrency) instances;
    when all of them succeeded the rest is approved, otherwise everything is cancelled and the task fails.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
attributes:
  check_mode:
    support: full
    details:
      - Starts nothing. A scan returns the last known patch state; an install reports, from the last scan, which
        instances have missing patches and lists them in the C(missing_patches) of each entry in RV(instances).
  diff_mode:
    support: none
    details: The per-instance before and after counts are in RV(instances).
options:
  action:
    description: C(scan) records the patch state and changes nothing on the instances; C(install) installs the approved missing patches.
    type: str
    choices: [scan, install]
    required: true
  instance_ids:
    description:
      - The instances, any number. A list of instance ids in O(region), a list of C({instance_id, region}),
        or a dict of region to a list of instance ids. Duplicates are dropped with a warning.
    type: raw
    required: true
  reboot_if_need:
    description: Reboot instances whose installed patches need it. Without it those patches stay C(InstalledPendingReboot).
    type: bool
    default: false
  create_snapshot:
    description: Snapshot the system disk of each instance before installing.
    type: bool
    default: false
  snapshot_retention_days:
    description: Days (1 to 65536) the snapshots are kept.
    type: int
    default: 7
  rate_control:
    description: How many instances each execution works on at once and how many may fail.
    type: dict
    default: {}
    suboptions:
      concurrency:
        description: Instances at once, a number or a percentage such as C(20%).
        type: raw
        default: 10
      max_errors:
        description: Failed instances tolerated per execution before it stops, a number or a percentage.
        type: raw
        default: 0
  batch_size:
    description: Instances per execution (1 to 50).
    type: int
    default: 50
  max_concurrent_executions:
    description: Executions running at once.
    type: int
    default: 5
  canary:
    description: Run the first wave of the first execution, check it, then approve the rest (or cancel and fail).
    type: bool
    default: false
  unreachable:
    description:
      - What to do with instances that do not exist, are not running or have no online Cloud Assistant agent.
      - V(fail) fails the task before anything is started; V(skip) reports them as skipped and goes on.
    type: str
    choices: [fail, skip]
    default: fail
  wait:
    description: Wait for the executions to end. Without it the execution ids are returned at once.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for everything; on timeout the task fails with all that is known.
    type: int
    default: 3600
  poll_interval:
    description: Seconds between status checks (it grows slowly up to four times this).
    type: float
    default: 5
  cancel_on_timeout:
    description: Cancel the executions still running when O(wait_timeout) passes.
    type: bool
    default: false
  client_token:
    description: Prefix of the idempotency tokens; the tokens are derived from the request, so a retried task never starts a batch twice.
    type: str
  tags:
    description: Tags of the executions.
    type: dict
notes:
  - The task fails if any instance failed. C(max_errors) applies per execution.
  - A second install reports no change when nothing was installed. For an instance that was never scanned, the
    number of patches installed is unknown (null) and a successful install counts as a change.
  - The RAM actions needed are C(oos:StartExecution), C(oos:ListExecutions), C(oos:NotifyExecution),
    C(oos:CancelExecution), C(oos:ListInstancePatchStates), C(oos:ListInstancePatches), C(ecs:DescribeInstances),
    C(ecs:DescribeCloudAssistantStatus) and C(ecs:DescribeSnapshots).
seealso:
  - module: alibabacloud.ecs_ops.oos_patch_baseline
  - module: alibabacloud.ecs_ops.oos_patch_compliance_info
  - name: ACS-ECS-BulkyApplyPatchBaseline
    description: The public template this module runs.
    link: https://www.alibabacloud.com/help/en/oos/user-guide/patch-management
"""

EXAMPLES = r"""
- name: Scan the web servers
  alibabacloud.ecs_ops.oos_patch_run:
    region: cn-hangzhou
    action: scan
    instance_ids: "{{ web_ids }}"
  register: scan

- name: Install with snapshots, without reboot, canary first
  alibabacloud.ecs_ops.oos_patch_run:
    region: cn-hangzhou
    action: install
    instance_ids: "{{ web_ids }}"
    create_snapshot: true
    snapshot_retention_days: 14
    reboot_if_need: false
    canary: true
    rate_control:
      concurrency: 5
      max_errors: 0
    wait_timeout: 7200
  register: install

- name: Instances that still need a reboot
  ansible.builtin.debug:
    msg: "{{ install.instances | dict2items | selectattr('value.reboot_required') | map(attribute='key') | list }}"

- name: Two regions, skipping stopped instances
  alibabacloud.ecs_ops.oos_patch_run:
    action: install
    reboot_if_need: true
    unreachable: skip
    instance_ids:
      cn-hangzhou: [i-bp1g6zv0ce8oghu7****]
      cn-shanghai: [i-uf6g6zv0ce8oghu9****]
"""

RETURN = r"""
instances:
  description: One entry per instance, keyed by instance id.
  returned: always
  type: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
    region:
      description: Its region.
      type: str
    result:
      description:
        - C(succeeded), C(unchanged) (install with nothing to install), C(failed) (the patch command failed on the
          instance), C(cancelled) (cancelled, or not started because the execution ended first, for example after a
          failed canary wave), C(skipped) (unreachable with O(unreachable=skip)), C(pending) (not finished,
          O(wait=false) or timeout), C(planned) (check mode).
      type: str
      sample: succeeded
    message:
      description: What happened or why, for example the failure reason of the execution.
      type: str
    execution_id:
      description: The execution (batch) of the instance.
      type: str
      sample: exec-8a2aaf460fdf47c6b5ef
    child_execution_id:
      description: The per-instance child execution.
      type: str
    before:
      description: Patch counts before the run (see RV(alibabacloud.ecs_ops.oos_patch_compliance_info#module:instances.patch_state)); null if never scanned.
      type: dict
    after:
      description: Patch counts after the run; the same as RV(instances.before) in check mode.
      type: dict
    patches_installed:
      description: Patches installed by this run; null for scans and when the instance was never scanned before.
      type: int
    reboot_required:
      description: Installed patches still wait for a reboot.
      type: bool
    compliant:
      description: No missing, failed or pending-reboot patch after the run.
      type: bool
    compliance:
      description: C(compliant), C(non_compliant) or C(never_scanned).
      type: str
    snapshot_ids:
      description: System disk snapshots taken before installing.
      type: list
      elements: str
    missing_patches:
      description: Check mode with O(action=install) only, the patches the last scan found missing or failed.
      type: list
      elements: dict
execution_ids:
  description: The executions started (or adopted from an earlier attempt of the same run).
  returned: always
  type: list
  elements: str
executions:
  description: The executions with their region, status and instances.
  returned: always
  type: list
  elements: dict
  sample: [{execution_id: exec-8a2aaf460fdf47c6b5ef, region: cn-hangzhou, status: Success, status_message: "",
            instance_ids: [i-bp1g6zv0ce8oghu7****], canary: false}]
summary:
  description: Counts over the instances.
  returned: always
  type: dict
  sample: {total: 80, succeeded: 78, failed: 0, skipped: 2, unchanged: 0, cancelled: 0, pending: 0, planned: 0,
           compliant: 40, non_compliant: 38, never_scanned: 0, reboot_required: 38, patches_installed: 412, snapshots: 78}
timed_out:
  description: Whether O(wait_timeout) passed.
  returned: always
  type: bool
"""

import time

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all, run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._executions import (
    Batch,
    cancel_executions,
    child_executions,
    get_executions,
    instance_of,
    notify_execution,
    report_deadline,
    run_batches,
    start_execution,
    wait_executions,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patch_states import (
    PATCH_TEMPLATE,
    batch_parameters,
    finish_entry,
    plan_entry,
    read_patch_states,
    read_patches,
    run_entry,
    run_summary,
    validate_run_options,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError, chunked


def argument_spec():
    return dict(
        action=dict(type="str", required=True, choices=["scan", "install"]),
        instance_ids=dict(type="raw", required=True),
        reboot_if_need=dict(type="bool", default=False),
        create_snapshot=dict(type="bool", default=False),
        snapshot_retention_days=dict(type="int", default=7),
        rate_control=dict(type="dict", default={}, options=dict(
            concurrency=dict(type="raw", default=10),
            max_errors=dict(type="raw", default=0),
        )),
        batch_size=dict(type="int", default=50),
        max_concurrent_executions=dict(type="int", default=5),
        canary=dict(type="bool", default=False),
        unreachable=dict(type="str", default="fail", choices=["fail", "skip"]),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
        poll_interval=dict(type="float", default=5),
        cancel_on_timeout=dict(type="bool", default=False),
        client_token=dict(type="str", no_log=False),
        tags=dict(type="dict"),
    )


class PatchRun:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.action = self.p["action"]
        try:
            self.targets, warnings = validate_run_options(self.p, module.region)
        except ValidationError as exc:
            module.fail_validation(exc)
        for warning in warnings:
            module.warn(warning)
        self.entries = {}
        self.batches = []
        self.timed_out = False
        self.deadline = None

    def oos(self, region):
        return self.module.api("oos", region)

    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, **dict(self.result(), **extra))

    # --- read -------------------------------------------------------------------------------
    def read_fleet(self):
        """Pre-check every instance; read the patch state of the reachable ones."""
        unreachable = {}
        try:
            for region, ids in self.targets.items():
                views = read_instances(self.module.api("ecs", region), region, ids)
                ready = [i for i in ids if views[i]["ready"]]
                unreachable.update({i: views[i]["reason"] for i in ids if not views[i]["ready"]})
                states = read_patch_states(self.oos(region), ready) if ready else {}
                for instance_id in ids:
                    self.entries[instance_id] = run_entry(instance_id, region, states.get(instance_id))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self.module.fail_api(exc)
        for instance_id, reason in unreachable.items():
            self.entries[instance_id].update(result="skipped", message=reason)
        if unreachable and self.p["unreachable"] == "fail":
            for entry in self.entries.values():
                if entry["result"] != "skipped":
                    entry.update(result="planned", message="not started: %d other instance(s) cannot be patched now"
                                 % len(unreachable))
            shown = "; ".join("%s: %s" % item for item in list(unreachable.items())[:10])
            self.fail("%d instance(s) cannot be patched now (nothing was started; set unreachable=skip to patch "
                      "the others): %s" % (len(unreachable), shown))

    def ready_ids(self):
        return {region: [i for i in ids if self.entries[i]["result"] != "skipped"] for region, ids in self.targets.items()}

    # --- check mode ---------------------------------------------------------------------------
    def plan(self):
        for entry in self.entries.values():
            if entry["result"] != "skipped":
                plan_entry(entry, self.action)
        if self.action != "install":
            return
        for region, ids in self.ready_ids().items():
            scanned = [i for i in ids if self.entries[i]["before"] is not None]
            try:
                patches = read_patches(self.oos(region), scanned, ["Missing", "Failed"]) if scanned else {}
            except Exception as exc:  # pylint: disable=broad-exception-caught
                self.module.fail_api(exc)
            for instance_id in ids:
                self.entries[instance_id]["missing_patches"] = patches.get(instance_id, [])

    # --- act ----------------------------------------------------------------------------------
    def make_batches(self):
        for region, ids in self.ready_ids().items():
            for chunk in chunked(ids, self.p["batch_size"]):
                params = batch_parameters(self.action, region, chunk, self.p)
                self.batches.append(Batch(region, params, dict(params, canary=self.p["canary"]), chunk))

    def run(self):
        self.make_batches()
        if not self.batches:
            return
        deadline = self.deadline = time.monotonic() + self.p["wait_timeout"]
        rest = self.batches
        if self.p["canary"]:
            self.run_canary(self.batches[0])
            rest = self.batches[1:]
        if rest:
            self.timed_out = run_batches(
                self.oos, PATCH_TEMPLATE, rest, self.p["max_concurrent_executions"],
                max(0.0, deadline - time.monotonic()), self.p["poll_interval"], wait=self.p["wait"],
                user_token=self.p["client_token"], tags=self.p["tags"])
        if self.p["canary"]:
            canary = self.batches[0]
            views, timed_out = wait_executions(self.oos(canary.region), [canary.execution_id],
                                               max(0.0, deadline - time.monotonic()), self.p["poll_interval"])
            canary.execution = views[canary.execution_id]
            self.timed_out = self.timed_out or timed_out
        for batch in self.batches:
            if batch.error and not batch.started:  # a started one that could not be read is reported by finish()
                self.fail("Could not run execution for %d instance(s) in %s: %s" % (
                    len(batch.instance_ids), batch.region, batch.error[0]), error=batch.error[1])

    def run_canary(self, batch):
        """Start the first batch paused after its first wave; approve it if that wave succeeded."""
        api = self.oos(batch.region)
        try:
            batch.execution = start_execution(api, PATCH_TEMPLATE, batch.parameters, batch.token_content,
                                              user_token=self.p["client_token"], loop_mode="FirstBatchPause",
                                              tags=self.p["tags"])
            batch.started = True
            views, timed_out = wait_executions(api, [batch.execution_id], self.p["wait_timeout"],
                                               self.p["poll_interval"], is_done=lambda v: v["status"] == "Waiting")
            batch.execution = views[batch.execution_id]
            if timed_out:
                self.timed_out = True
                self.finish()
                self.fail("Timed out after %ds waiting for the canary batch (execution %s)" % (
                    self.p["wait_timeout"], batch.execution_id))
            children = child_executions(api, batch.execution_id)
            bad = [c for c in children if c["status"] in ("Failed", "Cancelled")]
            if bad or batch.execution["status"] != "Waiting":
                cancel_executions(api, [batch.execution_id])
                batch.execution = get_executions(api, [batch.execution_id])[batch.execution_id] or batch.execution
                self.finish("not started: the canary batch failed")
                reasons = "; ".join("%s: %s" % (instance_of(c), c["status_message"] or c["status"]) for c in bad[:10])
                not_started = sum(1 for e in self.entries.values() if e.get("result") == "cancelled")
                self.fail("The canary wave failed on %d of %d instance(s), %d instance(s) were not patched: %s" % (
                    len(bad), len(children), not_started,
                    reasons or batch.execution["status_message"] or batch.execution["status"]))
            notify_execution(api, batch.execution_id, "Approve", NotifyNote="canary batch succeeded")
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self.module.fail_api(exc, **self.result())

    def finish(self, not_started="not started"):
        """Fill every entry from its child execution, the patch state after, and its snapshots."""
        for batch in self.batches:
            for instance_id in batch.instance_ids:
                self.entries[instance_id].update(execution_id=batch.execution_id, result="cancelled",
                                                 message=not_started)
        started = [b for b in self.batches if b.started]
        deadline = self.reads_deadline()
        try:
            for outcome in run_bounded(lambda b: child_executions(self.oos(b.region), b.execution_id, deadline),
                                       started):
                batch = outcome.item
                if not outcome.ok:  # the outcome of its instances is unknown: say so, do not guess
                    for instance_id in batch.instance_ids:
                        self.entries[instance_id].update(result="pending", message="could not read execution %s: %s"
                                                         % (batch.execution_id, describe(outcome.error)[0]))
                    continue
                children = {instance_of(c): c for c in outcome.value}
                after = read_patch_states(self.oos(batch.region), batch.instance_ids)
                for instance_id in batch.instance_ids:
                    finish_entry(self.entries[instance_id], self.action, children.get(instance_id),
                                 after[instance_id], batch.execution)
                if self.action == "install" and self.p["create_snapshot"]:
                    self.read_snapshots(batch, children)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self.module.fail_api(exc, **self.result())

    def read_snapshots(self, batch, children):
        ecs = self.module.api("ecs", batch.region)
        wanted = [(i, c["execution_id"]) for i, c in children.items() if i in self.entries]

        def snapshots(item):
            instance_id, child_id = item
            found = list_all(lambda q: ecs.call("DescribeSnapshots", q), {
                "InstanceId": instance_id, "SnapshotName": "Snapshot-%s" % child_id, "MaxResults": 100},
                ("Snapshots", "Snapshot"))
            return [s["SnapshotId"] for s in found]

        for (instance_id, _child), found in zip(wanted, run_all(snapshots, wanted)):
            self.entries[instance_id]["snapshot_ids"] = found

    def reads_deadline(self):
        """The deadline of the reads after the wait (None before a run)."""
        return None if self.deadline is None else report_deadline(self.deadline)

    def cancel_pending(self):
        pending = [b for b in self.batches if b.started and b.execution and not b.execution.get("done")]
        for batch in pending:
            api = self.oos(batch.region)
            errors = cancel_executions(api, [batch.execution_id])
            if errors.get(batch.execution_id):
                self.module.warn("could not cancel %s: %s" % (batch.execution_id, errors[batch.execution_id]))
            try:  # the instances it never reached follow its final status (Cancelled), not the last one seen
                view = get_executions(api, [batch.execution_id], deadline=self.reads_deadline())[batch.execution_id]
            except Exception:  # pylint: disable=broad-exception-caught
                view = None
            batch.execution = view or batch.execution

    # --- report -------------------------------------------------------------------------------
    def changed(self):
        if self.action == "scan":
            return False
        return any(e["result"] in ("succeeded", "planned", "pending") or (e["patches_installed"] or 0) > 0
                   for e in self.entries.values())

    def result(self):
        executions = [dict(execution_id=b.execution_id, region=b.region, instance_ids=b.instance_ids,
                           status=(b.execution or {}).get("status", ""),
                           status_message=(b.execution or {}).get("status_message", ""),
                           canary=bool(self.p["canary"] and b is self.batches[0])) for b in self.batches if b.started]
        return dict(changed=self.changed(), instances=self.entries, summary=run_summary(list(self.entries.values())),
                    execution_ids=[e["execution_id"] for e in executions], executions=executions,
                    timed_out=self.timed_out)


def main():
    module = AlicloudModule(argument_spec=argument_spec(), region_required=False, supports_check_mode=True)
    run = PatchRun(module)
    run.read_fleet()
    if module.check_mode:
        run.plan()
        module.exit_json(**run.result())
    try:
        run.run()
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc, **run.result())
    if not module.params["wait"]:
        for batch in run.batches:
            for instance_id in batch.instance_ids:
                run.entries[instance_id].update(execution_id=batch.execution_id, result="pending",
                                                message="started; not waited for")
        module.exit_json(**run.result())
    if run.timed_out and module.params["cancel_on_timeout"]:
        run.cancel_pending()
    run.finish()
    result = run.result()
    if run.timed_out:
        module.fail_json(msg="Timed out after %ds; %d instance(s) not finished%s" % (
            module.params["wait_timeout"], result["summary"]["pending"] + result["summary"]["cancelled"],
            " (cancelled)" if module.params["cancel_on_timeout"] else ""), **result)
    failed = [e for e in run.entries.values() if e["result"] in ("failed", "cancelled")]
    if failed:
        shown = "; ".join("%s: %s" % (e["instance_id"], e["message"]) for e in failed[:10])
        module.fail_json(msg="Patch %s failed on %d instance(s): %s" % (run.action, len(failed), shown), **result)
    unknown = [e for e in run.entries.values() if e["result"] == "pending"]
    if unknown:
        module.fail_json(msg="The result of %d instance(s) is unknown: %s" % (len(unknown), unknown[0]["message"]),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
