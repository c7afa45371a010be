# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: rolling an instance back to the system-disk snapshot a patch run of the
collection took before installing on it (``oos_patch_rollback``).

Which snapshot: the newest one of the instance's system disk that ``_patching.snapshots.provenance`` proves was
taken by ``oos_patch_run`` for that instance (optionally of one pinned execution). What was done: after a reset the
instance carries the tag ``ecs-ops-rolled-back=<snapshot id>``; the same snapshot is never reset to twice, and an
older one is never chosen over the one the tag names (only a newer patch run's snapshot, or a pinned execution,
rolls back again). ``choose_snapshot`` and ``plan_instance`` are pure; ``execute`` makes the calls and waits.
"""

from __future__ import annotations

import time

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo, describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import DESCRIBE_INSTANCES_BATCH
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import report_deadline
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.run import ROLLED_BACK_TAG
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.snapshots import provenance
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import wait_for
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import parse_api_time

STOPPED_MODE = "KeepCharging"     # keep the instance's resources while it is stopped, so it can start again
ACTIONABLE = ("Running", "Stopped")
RESULTS = ("succeeded", "failed", "unchanged", "no_snapshot", "busy", "planned")
STEP_TEXT = {"stop": "stop it", "reset": "reset system disk %(disk_id)s to %(snapshot_id)s",
             "tag": "tag it %s=%%(snapshot_id)s" % ROLLED_BACK_TAG, "start": "start it"}


def _created(entry):
    return parse_api_time(entry.get("creation_time")) if entry else None


def of_execution(entry, execution_id, views):
    """True when the snapshot was taken by ``execution_id`` or by a child execution of it."""
    own = entry["execution_id"]
    return execution_id in (own, (views.get(own) or {}).get("parent_execution_id"))


def choose_snapshot(instance_id, disk_id, entries, views, execution_id=None):
    """(newest proven snapshot entry of ``disk_id`` for ``instance_id`` or None, why none). ``entries`` are the
    region's patch snapshots (``read_patch_snapshots``), ``views`` their executions (``read_executions``)."""
    proven, rejected = [], []
    for entry in entries:
        if entry["source_disk_id"] != disk_id or (execution_id and not of_execution(entry, execution_id, views)):
            continue
        owner, problem = provenance(entry["execution_id"], views)
        if not problem and owner != instance_id:
            problem = "its execution worked on %s, not on this instance" % (owner or "no instance")
        if not problem and entry["status"] != "accomplished":
            problem = "it is %s, not accomplished" % (entry["status"] or "in an unknown state")
        if not problem and _created(entry) is None:
            problem = "its creation time %r cannot be read" % entry["creation_time"]
        if problem:
            rejected.append("%s: %s" % (entry["snapshot_id"], problem))
        else:
            proven.append(entry)
    if proven:
        return max(proven, key=lambda e: (_created(e), e["snapshot_id"])), ""
    where = "of execution %s " % execution_id if execution_id else ""
    reason = "no snapshot %sof system disk %s was taken by oos_patch_run for this instance" % (where, disk_id)
    if rejected:
        reason += " (not usable: %s)" % "; ".join(rejected[:5])
    return None, reason


def plan_instance(view, disk_id, snapshot, no_snapshot_reason, entries, start_after, pinned=False):
    """What to do for one instance: dict(result, steps, message). ``view`` is the ``_fleet.instance_view``,
    ``snapshot`` the chosen entry (None: ``no_snapshot_reason``), ``entries`` the region's patch snapshots."""
    if not view["exists"]:
        return dict(result="failed", steps=[], message="the instance does not exist in %s" % view["region"])
    if not disk_id:
        return dict(result="failed", steps=[], message="the instance has no system disk (DescribeDisks)")
    if snapshot is None:
        return dict(result="no_snapshot", steps=[], message=no_snapshot_reason)
    status, target = view["status"], snapshot["snapshot_id"]
    done = (view["tags"] or {}).get(ROLLED_BACK_TAG, "")
    if done == target:
        if start_after and status == "Stopped":
            return dict(result="", steps=["start"], message="already rolled back to %s; it is Stopped" % target)
        return dict(result="unchanged", steps=[], message="already rolled back to %s (tag %s)" % (target, ROLLED_BACK_TAG))
    if done and not pinned:
        earlier = next((e for e in entries if e["snapshot_id"] == done), None)
        if earlier is None:
            return dict(result="no_snapshot", steps=[], message=(
                "rolled back earlier to %s, which no longer exists, so %s cannot be shown to be newer; give "
                "execution_id to roll back to that patch run" % (done, target)))
        if _created(earlier) and _created(earlier) >= _created(snapshot):
            return dict(result="unchanged", steps=[], message="already rolled back to %s, not older than %s" % (
                done, target))
    if status not in ACTIONABLE:
        return dict(result="failed", steps=[], message="the instance is %s; run again when it is Running or Stopped"
                    % (status or "in an unknown state"))
    steps = (["stop"] if status == "Running" else []) + ["reset", "tag"] + (["start"] if start_after else [])
    return dict(result="", steps=steps, message="")


def describe_steps(steps, disk_id, snapshot_id):
    """``stop it, reset system disk d-... to s-..., ...`` for a message."""
    values = dict(disk_id=disk_id, snapshot_id=snapshot_id)
    return ", ".join(STEP_TEXT[s] % values for s in steps)


class StepFailed(Exception):
    """A step of a rollback did not complete (an API error or a wait past the deadline)."""


def wait_until(poll, wanted, what, deadline, interval):
    """Poll until ``poll()`` returns ``wanted`` or the deadline; a read failing with an error retrying may fix
    (throttling, a quota spent until after the deadline, 5xx, transport) does not end the wait."""
    seen = {"last": "", "transient": 0}

    def guarded():
        try:
            seen["last"] = poll()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if not ErrorInfo(exc).retryable:
                raise
            seen["transient"] += 1
        return seen["last"]

    result = wait_for(guarded, lambda value: value == wanted, max(0.0, deadline - time.monotonic()),
                      interval=interval, max_interval=max(interval, interval * 4))
    if result.timed_out:
        failed = "; %d read(s) failed with transient errors" % seen["transient"] if seen["transient"] else ""
        raise StepFailed("wait_timeout passed while waiting for %s to be %s (it is %s%s)" % (
            what, wanted, result.value or "unknown", failed))


def describe_instances_by_id(ecs, instance_ids, deadline):
    """{instance id: DescribeInstances record} (absent when not listed), one call per 100 ids, each bounded by
    ``deadline``."""
    found = {}
    for start in range(0, len(instance_ids), DESCRIBE_INSTANCES_BATCH):
        body = ecs.call("DescribeInstances", {"InstanceIds": json_param(instance_ids[start:start + DESCRIBE_INSTANCES_BATCH]),
                                              "MaxResults": DESCRIBE_INSTANCES_BATCH}, deadline=deadline)
        found.update({i.get("InstanceId"): i for i in (body.get("Instances") or {}).get("Instance") or []})
    return found


def describe_instance(ecs, instance_id, deadline):
    """The DescribeInstances record of one instance, or {} when it is not listed."""
    return describe_instances_by_id(ecs, [instance_id], deadline).get(instance_id, {})


def instance_status(ecs, instance_id, deadline):
    return describe_instance(ecs, instance_id, deadline).get("Status", "")


def disk_status(ecs, disk_id, deadline):
    body = ecs.call("DescribeDisks", {"DiskIds": json_param([disk_id])}, deadline=deadline)
    found = [d for d in (body.get("Disks") or {}).get("Disk") or [] if d.get("DiskId") == disk_id]
    return found[0].get("Status", "") if found else ""


def system_disk(ecs, instance_id, deadline=None):
    """The id of the instance's system disk, or ""."""
    body = ecs.call("DescribeDisks", {"InstanceId": instance_id, "DiskType": "system"}, deadline=deadline)
    disks = [d for d in (body.get("Disks") or {}).get("Disk") or [] if d.get("InstanceId", instance_id) == instance_id]
    return disks[0].get("DiskId", "") if disks else ""


def execute(ecs, instance_id, disk_id, snapshot_id, steps, deadline, interval, say=None, already=()):
    """Run ``steps`` in order, each waited for; returns the steps done, after ``already`` (the instance's steps an
    earlier call did). Raises StepFailed naming the step. ``say(text)`` gets a progress line after each step."""
    done = list(already)
    total = len(done) + len(steps)
    actions = {
        "stop": lambda: (ecs.call("StopInstance", {"InstanceId": instance_id, "StoppedMode": STOPPED_MODE},
                                  deadline=deadline),
                         wait_until(lambda: instance_status(ecs, instance_id, deadline), "Stopped", "the instance",
                                    deadline, interval)),
        "reset": lambda: (ecs.call("ResetDisk", {"DiskId": disk_id, "SnapshotId": snapshot_id}, deadline=deadline),
                          wait_until(lambda: disk_status(ecs, disk_id, deadline), "In_use", "system disk %s" % disk_id,
                                     deadline, interval)),
        # a reset that ended right at the deadline is still recorded (a short grace), so a re-run does not repeat it
        "tag": lambda: ecs.call("TagResources", {"ResourceType": "instance", "ResourceId": [instance_id],
                                                 "Tag": [{"Key": ROLLED_BACK_TAG, "Value": snapshot_id}]},
                                deadline=report_deadline(deadline)),
        "start": lambda: (ecs.call("StartInstance", {"InstanceId": instance_id}, deadline=deadline),
                          wait_until(lambda: instance_status(ecs, instance_id, deadline), "Running", "the instance",
                                     deadline, interval)),
    }
    for step in steps:
        try:
            actions[step]()
        except StepFailed as exc:
            raise StepFailed("%s: %s (done: %s)" % (step, exc, ", ".join(done) or "nothing")) from None
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise StepFailed("%s: %s (done: %s)" % (step, describe(exc)[0], ", ".join(done) or "nothing")) from None
        done.append(step)
        if say:
            say("rollback %s: %s done (%d of %d steps)" % (instance_id, step, len(done), total))
    return done


def summary(entries):
    counts = dict.fromkeys(("total",) + RESULTS, 0)
    for entry in entries:
        counts["total"] += 1
        counts[entry["result"]] += 1
    return counts
