#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_patch_rollback
short_description: Roll instances back to the system-disk snapshot a patch run took before installing
version_added: 0.1.0
description:
  - Opt-in rollback after a patch round. For each instance, finds the newest system-disk snapshot that
    M(alibabacloud.ecs_ops.oos_patch_run) with O(alibabacloud.ecs_ops.oos_patch_run#module:create_snapshot=true) took
    of it, stops the instance, resets its system disk to that snapshot, tags it, and starts it again.
  - A snapshot is used only when the collection can show it took it, by the same rules as
    M(alibabacloud.ecs_ops.oos_patch_snapshot_cleanup). Its name is C(Snapshot-<execution id>), and that execution
    (or its parent) is a run of C(ACS-ECS-BulkyApplyPatchBaseline) carrying the tag C(ecs-ops-patch-run=oos_patch_run),
    whose C(instanceId) is this instance. It must also be of the instance's current system disk and accomplished.
  - Steps per instance, each waited for within O(wait_timeout). C(StopInstance) with C(StoppedMode=KeepCharging) when
    it is Running (so its resources are kept and it can start again), then C(ResetDisk) of its system disk
    (C(DescribeDisks) with C(DiskType=system)), then the tag C(ecs-ops-rolled-back=<snapshot id>), then
    C(StartInstance) when O(start_after). Everything written to the system disk since the snapshot is lost, which is
    the point; data disks are not touched.
  - A second run changes nothing, the tag says the instance was rolled back to that snapshot. A later patch run
    with snapshots takes a newer snapshot, and only that one (or a pinned O(execution_id)) rolls the instance back
    again; an older snapshot is never chosen over the one the tag names.
  - Instances are rolled back in groups of at most O(max_concurrent), the instances of a group concurrently, one group
    after the other.
  - An instance that an unfinished execution of C(ACS-ECS-BulkyApplyPatchBaseline) or
    C(ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL) works on (another job, or the re-run of an interrupted one,
    still installing) is not touched, in check mode either, because resetting its disk under a running install would
    leave it in an unknown state. It is reported V(busy) with the execution, and the task fails; run it again
    when the execution has ended.
  - The unfinished executions are read when the task starts, and again for each group, right before its stops and
    right before its disk resets (one listing per template and region each time, whatever the group's size), so an
    execution another job started while earlier groups were rolled back is seen. An instance found busy right before
    its reset was stopped by this task; it is started again (when it was Running and O(start_after)), not reset, and
    reported V(busy). When that reading fails, the group's instances are not reset either (V(failed), saying so;
    those this task stopped are started again).
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
attributes:
  check_mode:
    support: full
    details: Makes only reads; each instance's result is C(planned) with the snapshot and the steps that would run.
  diff_mode:
    support: none
    details: The snapshot, disk and steps of each instance are in RV(instances).
options:
  instance_ids:
    description:
      - The instances to roll back. A list of instance ids in O(region), a list of C({instance_id, region}), or a
        dict of region to a list of instance ids. Duplicates are dropped with a warning.
    type: raw
    required: true
  execution_id:
    description:
      - Roll back to the snapshot of this patch run (the parent execution M(alibabacloud.ecs_ops.oos_patch_run)
        returned, or one child execution) instead of the newest one.
      - With it, an instance already rolled back to another snapshot is rolled back again.
    type: str
  start_after:
    description:
      - Start each instance after its disk was reset, and wait until it is Running.
      - With V(false) the instances stay Stopped. A later run with V(true) starts those already reset.
    type: bool
    default: true
  wait_timeout:
    description: Seconds for the whole task, every wait of every instance included (at least 1).
    type: int
    default: 1800
  poll_interval:
    description: Seconds between two reads of an instance's or disk's status while waiting (0.1 to 600).
    type: float
    default: 5
  max_concurrent:
    description: How many instances are rolled back at the same time (1 to 50).
    type: int
    default: 10
notes:
  - The RAM actions needed are C(ecs:DescribeInstances), C(ecs:DescribeDisks), C(ecs:DescribeSnapshots),
    C(oos:ListExecutions), and to act C(ecs:StopInstance), C(ecs:ResetDisk), C(ecs:TagResources) and
    C(ecs:StartInstance).
  - Rolling back loses the data written to the system disk since the snapshot; a rolled-back instance shows its
    missing patches again at the next scan.
  - The task fails when an instance could not be rolled back (result C(failed)); instances without a usable
    snapshot (C(no_snapshot)) do not fail it.
seealso:
  - module: alibabacloud.ecs_ops.oos_patch_run
  - module: alibabacloud.ecs_ops.oos_patch_snapshot_cleanup
"""

EXAMPLES = r"""
- name: Install with snapshots
  alibabacloud.ecs_ops.oos_patch_run:
    region: cn-hangzhou
    action: install
    instance_ids: "{{ web_ids }}"
    create_snapshot: true
  register: patched
  ignore_errors: true

- name: What a rollback of the failed instances would do
  alibabacloud.ecs_ops.oos_patch_rollback:
    region: cn-hangzhou
    instance_ids: "{{ patched.instances | dict2items | selectattr('value.result', 'eq', 'failed') | map(attribute='key') | list }}"
  check_mode: true
  register: would

- name: Roll them back to the snapshot of that run and start them
  alibabacloud.ecs_ops.oos_patch_rollback:
    region: cn-hangzhou
    instance_ids: "{{ would.instances | dict2items | selectattr('value.result', 'eq', 'planned') | map(attribute='key') | list }}"
    execution_id: "{{ patched.execution_ids[0] }}"
    wait_timeout: 1200

- name: Roll back instances of two regions, leave them stopped
  alibabacloud.ecs_ops.oos_patch_rollback:
    instance_ids:
      cn-hangzhou: [i-bp1aaaaaaaaaaaaaaaaa]
      cn-shanghai: [i-uf6bbbbbbbbbbbbbbbbb]
    start_after: false
"""

RETURN = r"""
instances:
  description: One entry per instance, keyed by instance id.
  returned: always
  type: dict
  contains:
    result:
      description:
        - V(succeeded) (rolled back, or an instance rolled back earlier was started), V(unchanged) (already rolled back
          to that snapshot), V(no_snapshot) (no snapshot the collection took; see RV(instances.message)), V(busy) (an
          unfinished patch or extension execution works on it; nothing was done to it, the message names the
          execution), V(planned) (check mode), V(failed).
      type: str
      sample: succeeded
    region:
      description: Its region.
      type: str
    snapshot_id:
      description: The snapshot chosen, or an empty string.
      type: str
      sample: s-bp1c0doj0taqyzzl****
    snapshot_name:
      description: Its name, C(Snapshot-<execution id>).
      type: str
    execution_id:
      description: The (child) execution that took the snapshot.
      type: str
    creation_time:
      description: C(CreationTime) of the snapshot.
      type: str
    disk_id:
      description: The instance's system disk.
      type: str
    status_before:
      description: The instance's status before the rollback.
      type: str
    steps:
      description: The steps run (V(stop), V(reset), V(tag), V(start)); in check mode, those that would run.
      type: list
      elements: str
    message:
      description: What happened or would happen, or why not.
      type: str
      sample: "stopped, reset system disk d-bp1... to s-bp1..., tagged, started"
summary:
  description: Counts of RV(instances) by result.
  returned: always
  type: dict
  sample: {total: 3, succeeded: 1, failed: 0, unchanged: 1, no_snapshot: 1, busy: 0, planned: 0}
"""

import re
import time

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all, run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import describe_instances, instance_view
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.install import BULKY_TEMPLATE
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.runner import busy_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.rollback import (
    StepFailed,
    choose_snapshot,
    describe_steps,
    execute,
    plan_instance,
    summary,
    system_disk,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.run import PATCH_TEMPLATE
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.snapshots import (
    read_executions,
    read_patch_snapshots,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._targets import normalise_targets
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import utc_now

EXECUTION_ID_RE = re.compile(r"^exec-[0-9A-Za-z]+$")
MAX_CONCURRENT = 50


def argument_spec():
    return dict(
        instance_ids=dict(type="raw", required=True),
        execution_id=dict(type="str"),
        start_after=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        poll_interval=dict(type="float", default=5),
        max_concurrent=dict(type="int", default=10),
    )


def validate(params, region):
    """(targets {region: [ids]}, warnings, None); raises ValidationError naming every problem."""
    problems = []
    if params["execution_id"] is not None and not EXECUTION_ID_RE.match(params["execution_id"]):
        problems.append("execution_id must look like exec-<letters and digits>, got %r" % params["execution_id"])
    if params["wait_timeout"] < 1:
        problems.append("wait_timeout must be at least 1 second")
    if not 0.1 <= params["poll_interval"] <= 600:
        problems.append("poll_interval must be between 0.1 and 600 seconds")
    if not 1 <= params["max_concurrent"] <= MAX_CONCURRENT:
        problems.append("max_concurrent must be from 1 to %d" % MAX_CONCURRENT)
    targets, warnings = {}, []
    try:
        targets, warnings = normalise_targets(params["instance_ids"], region)
    except ValidationError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    return targets, warnings, None


def read_region(module, region, instance_ids, pinned, start_after, deadline):
    """The per-instance entries of one region, each with its plan (``steps``)."""
    ecs = module.api("ecs", region)
    raw = {i["InstanceId"]: i for i in describe_instances(ecs, instance_ids)}
    views = {i: instance_view(i, region, raw.get(i), None) for i in instance_ids}
    existing = [i for i in instance_ids if views[i]["exists"]]
    disks = dict(zip(existing, run_all(lambda i: system_disk(ecs, i, deadline), existing)))
    snapshots = read_patch_snapshots(ecs, region, utc_now())
    wanted = set(disks.values())
    snapshots = [s for s in snapshots if s["source_disk_id"] in wanted]
    oos = module.api("oos", region)
    executions = read_executions(oos, [s["execution_id"] for s in snapshots]) if snapshots else {}
    entries = []
    for instance_id in instance_ids:
        disk_id = disks.get(instance_id, "")
        chosen, reason = choose_snapshot(instance_id, disk_id, snapshots, executions, pinned)
        plan = plan_instance(views[instance_id], disk_id, chosen, reason, snapshots, start_after, pinned=bool(pinned))
        chosen = chosen or {}
        entries.append(dict(
            instance_id=instance_id, region=region, result=plan["result"], steps=plan["steps"],
            message=plan["message"], snapshot_id=chosen.get("snapshot_id", ""),
            snapshot_name=chosen.get("snapshot_name", ""), execution_id=chosen.get("execution_id") or "",
            creation_time=chosen.get("creation_time", ""), disk_id=disk_id, status_before=views[instance_id]["status"]))
    hold_busy(oos, entries, deadline)
    return entries


def hold_busy(oos, entries, deadline):
    """Instances with steps to take that an unfinished patch or extension execution works on: nothing is done to
    them (result ``busy``, the message names the executions)."""
    acting = [e["instance_id"] for e in entries if e["steps"]]
    busy = busy_instances(oos, (PATCH_TEMPLATE, BULKY_TEMPLATE), acting, utc_now(), deadline) if acting else {}
    for entry in entries:
        if entry["instance_id"] in busy:
            entry.update(result="busy", steps=[], message="not rolled back: %s still works on it; run again when it "
                         "has ended" % ", ".join(busy[entry["instance_id"]]))


def look_again(module, group, deadline, when):
    """Read the unfinished executions again for the instances of ``group`` (one listing per template and region):
    busy ones get ``busy`` (``hold_busy``); when the reading fails, all of them are ``failed`` saying so. Returns
    the entries of ``group`` that may go on."""
    for region in sorted({e["region"] for e in group}):
        mine = [e for e in group if e["region"] == region]
        try:
            hold_busy(module.api("oos", region), mine, deadline)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            for entry in mine:
                entry.update(result="failed", steps=[], message="not rolled back: could not read the unfinished "
                             "executions %s: %s" % (when, describe(exc)[0]))
    return [e for e in group if e["steps"]]


def roll_back(module, entries, deadline):
    """Roll back in groups of ``max_concurrent``: for each group, look for busy instances, stop them, look again,
    then reset, tag and start them (``execute``); the instances of a group concurrently."""
    todo = sorted((e for e in entries if e["steps"]), key=lambda e: e["region"])
    size = module.params["max_concurrent"]
    if todo:
        module.progress.say("rollback: %d instance(s) to roll back, at most %d at a time" % (len(todo), size))
    done = {}   # instance id -> the steps done

    def run(group, first):
        def one(entry):
            steps = [s for s in entry["steps"] if (s == "stop") == first]
            done[entry["instance_id"]] = execute(
                module.api("ecs", entry["region"]), entry["instance_id"], entry["disk_id"], entry["snapshot_id"], steps,
                deadline, module.params["poll_interval"], module.progress.say, already=done.get(entry["instance_id"], []))

        for outcome in run_bounded(one, group, size):
            if not outcome.ok:
                text = str(outcome.error) if isinstance(outcome.error, StepFailed) else describe(outcome.error)[0]
                outcome.item.update(result="failed", message=text)
        return [e for e in group if e["result"] != "failed"]

    for start in range(0, len(todo), size):
        group = look_again(module, todo[start:start + size], deadline, "before stopping it")
        stopping = [e for e in group if "stop" in e["steps"]]
        ready = [e for e in group if e not in stopping] + run(stopping, True)
        planned = {e["instance_id"]: list(e["steps"]) for e in ready}
        going = look_again(module, ready, deadline, "before resetting its disk")
        restart_held(module, [e for e in ready if e not in going and "stop" in done.get(e["instance_id"], [])],
                     deadline)
        for entry in run(going, False):
            entry.update(result="succeeded", steps=planned[entry["instance_id"]],
                         message=describe_done(entry, done[entry["instance_id"]]))


def restart_held(module, held, deadline):
    """Start again the instances this task stopped and then found busy (or could not check) before their reset."""
    for entry in held:
        if not module.params["start_after"]:
            entry["message"] += "; this task stopped it and leaves it stopped (start_after=false)"
            continue
        try:
            execute(module.api("ecs", entry["region"]), entry["instance_id"], entry["disk_id"], entry["snapshot_id"],
                    ["start"], deadline, module.params["poll_interval"], module.progress.say)
            entry["message"] += "; this task had stopped it and started it again, its disk not reset"
        except StepFailed as exc:
            entry.update(result="failed", message=entry["message"] + "; this task had stopped it and could not start "
                         "it again: %s" % exc)


def describe_done(entry, steps):
    past = {"stop": "stopped", "reset": "reset system disk %s to %s" % (entry["disk_id"], entry["snapshot_id"]),
            "tag": "tagged", "start": "started"}
    prefix = entry["message"] + "; " if entry["message"] else ""
    return prefix + ", ".join(past[s] for s in steps)


def main():
    module = AlicloudModule(argument_spec=argument_spec(), region_required=False, supports_check_mode=True)
    targets = module.validated(validate, module.params, module.region)[0]
    deadline = time.monotonic() + module.params["wait_timeout"]
    pinned, start_after = module.params["execution_id"], module.params["start_after"]
    entries = []
    try:
        for region, instance_ids in targets.items():
            entries.extend(read_region(module, region, instance_ids, pinned, start_after, deadline))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc, instances={e["instance_id"]: e for e in entries})
    if module.check_mode:
        for entry in (e for e in entries if e["steps"]):
            steps = describe_steps(entry["steps"], entry["disk_id"], entry["snapshot_id"])
            entry.update(result="planned", message="would " + steps)
    else:
        roll_back(module, entries, deadline)
    instances = {e.pop("instance_id"): e for e in entries}
    counts = summary(instances.values())
    result = dict(changed=bool(counts["succeeded"] or counts["planned"]), instances=instances, summary=counts)
    failed = sorted(i for i, e in instances.items() if e["result"] in ("failed", "busy"))
    if failed:
        module.fail_json(msg="Could not roll back %d instance(s): %s" % (len(failed), "; ".join(
            "%s: %s" % (i, instances[i]["message"]) for i in failed[:10])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
