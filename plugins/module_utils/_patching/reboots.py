# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: ``oos_patch_run``'s ``reboot=always``, the reboot of every instance a batch
patched, inside the batch (after its execution ended, before its post-hook).

The template can only reboot an instance whose patches need it (``rebootIfNeed``), so its executions run with
that switch on and this step reboots, through ECS ``RebootInstance``, the patched instances the execution did not
reboot. Which ones it did is read from the child execution's task executions: a ``ACS::ECS::RebootInstance`` task
that succeeded. When that read fails, the instance is rebooted anyway: one reboot too many is harmless, a patched
instance left unrebooted breaks the promise of ``always``.

After ``RebootInstance`` an instance counts as back when it is ``Running`` with an online Cloud Assistant agent and
it was seen down (not ``Running``, or its agent offline) or its ``StartTime`` moved, so a read made before the reboot
began does not pass for one made after it. Every wait ends at the task's deadline; a read failing with an error that
may pass does not end it (``rollback.wait_until``). The reads are in bulk: the instances of a batch are read together
(DescribeInstances, 100 ids a call; DescribeCloudAssistantStatus, 50), before the reboots and in each poll; only
ListTaskExecutions is one call per child execution, since it filters by a single execution.
"""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import AGENT_STATUS_BATCH
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.rollback import (
    StepFailed,
    describe_instances_by_id,
    wait_until,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import parse_api_time

REBOOT_ACTION = "ACS::ECS::RebootInstance"   # the task of the patch template's child that reboots the instance
BACK = "Running with its Cloud Assistant agent online"


def rebooted_by_execution(oos, child_execution_id, deadline):
    """Whether the child execution rebooted its instance (a succeeded ``ACS::ECS::RebootInstance`` task). One call per
    child execution: ListTaskExecutions filters by a single ``ExecutionId``, and the reboot task is a task of the
    child (the parent's tasks are its loop over the children, ``IncludeChildTaskExecution`` lists loop items, not
    the tasks of child executions), so there is no listing of all children's reboot tasks at once."""
    tasks = list_all(lambda q: oos.call("ListTaskExecutions", q, deadline=deadline),
                     {"ExecutionId": child_execution_id, "TaskAction": REBOOT_ACTION, "MaxResults": 20},
                     ("TaskExecutions",))
    return any(t.get("Status") == "Success" for t in tasks)


def agents_online(ecs, instance_ids, deadline):
    """The ids among ``instance_ids`` whose Cloud Assistant agent is online, one call per 50 ids."""
    online = set()
    for start in range(0, len(instance_ids), AGENT_STATUS_BATCH):
        body = ecs.call("DescribeCloudAssistantStatus", {"InstanceId": instance_ids[start:start + AGENT_STATUS_BATCH]},
                        deadline=deadline)
        rows = (body.get("InstanceCloudAssistantStatusSet") or {}).get("InstanceCloudAssistantStatus") or []
        online.update(r.get("InstanceId") for r in rows if str(r.get("CloudAssistantStatus")).lower() == "true")
    return online


def back_poll(ecs, started_before, deadline):
    """A poll for ``wait_until`` over the instances of ``started_before`` ({instance id: StartTime before its reboot}),
    one region: each poll reads all the instances not yet back in one DescribeInstances (per 100) and one
    DescribeCloudAssistantStatus (per 50). It returns ``BACK`` once all are back, else how many are not; ``state``
    ({instance id: what it is now}) says where each one is."""
    state = {i: "not read yet" for i in started_before}
    down = set()

    def poll():
        waiting = sorted(i for i in state if state[i] != BACK)
        records = describe_instances_by_id(ecs, waiting, deadline)
        running = [i for i in waiting if (records.get(i) or {}).get("Status") == "Running"]
        online = agents_online(ecs, running, deadline) if running else set()
        for instance_id in waiting:
            status = (records.get(instance_id) or {}).get("Status") or "gone"
            if status != "Running":
                down.add(instance_id)
                state[instance_id] = status
            elif instance_id not in online:
                down.add(instance_id)
                state[instance_id] = "Running with its agent offline"
            elif instance_id not in down and records[instance_id].get("StartTime") == started_before[instance_id]:
                state[instance_id] = "Running, not yet seen rebooting"
            else:
                state[instance_id] = BACK
        left = [i for i in state if state[i] != BACK]
        return BACK if not left else "%d of %d not back yet" % (len(left), len(state))
    poll.state = state
    return poll


def reboot_instances(ecs, instance_ids, deadline, interval):
    """RebootInstance each instance (one region), then wait until all are back. {instance id: "" or why it failed}."""
    failed = {}
    try:
        records = describe_instances_by_id(ecs, list(instance_ids), deadline)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return {i: "RebootInstance: not started, could not read the instance: %s" % describe(exc)[0] for i in instance_ids}
    started_before = {}

    def reboot(instance_id):
        ecs.call("RebootInstance", {"InstanceId": instance_id}, deadline=deadline)

    for outcome in run_bounded(reboot, list(instance_ids)):
        if outcome.ok:
            started_before[outcome.item] = (records.get(outcome.item) or {}).get("StartTime")
        else:
            failed[outcome.item] = "RebootInstance: %s" % describe(outcome.error)[0]
    if not started_before:
        return failed
    poll = back_poll(ecs, started_before, deadline)
    try:
        wait_until(poll, BACK, "the instances", deadline, interval)
    except StepFailed:
        pass   # each instance says where it is below
    except Exception as exc:  # pylint: disable=broad-exception-caught
        failed.update({i: "rebooted, not back: %s" % describe(exc)[0] for i in started_before if poll.state[i] != BACK})
    for instance_id, now in poll.state.items():
        if now != BACK and instance_id not in failed:
            failed[instance_id] = "rebooted, not back: wait_timeout passed while waiting for the instance to be %s (it is %s)" % (
                BACK, now)
    return {i: failed.get(i, "") for i in instance_ids}


def reboot_patched(ecs_for, oos_for, patched, deadline, interval):
    """Reboot the patched instances the execution did not reboot. ``patched`` is [(instance id, region, child
    execution id)]; returns {instance id: verdict} where a verdict says ``passed``, ``by`` (``execution`` or
    ``module``) and ``reason`` (empty when passed). Reads in bulk: one ListTaskExecutions per child execution (see
    ``rebooted_by_execution``), then per region one DescribeInstances per 100 instances before the reboots, a
    RebootInstance each (several at once), and per poll one DescribeInstances per 100 and one
    DescribeCloudAssistantStatus per 50 of the instances not yet back."""
    def by_execution(item):
        _instance_id, region, child_id = item
        try:
            return bool(child_id) and rebooted_by_execution(oos_for(region), child_id, deadline)
        except Exception:  # pylint: disable=broad-exception-caught
            return False    # not known: reboot it (see the module docstring)

    verdicts, regions = {}, {}
    for outcome in run_bounded(by_execution, patched):
        instance_id, region, _child = outcome.item
        if outcome.ok and outcome.value:
            verdicts[instance_id] = dict(passed=True, by="execution", reason="")
        else:
            regions.setdefault(region, []).append(instance_id)
    for region, ids in regions.items():
        for instance_id, reason in reboot_instances(ecs_for(region), ids, deadline, interval).items():
            verdicts[instance_id] = dict(passed=not reason, by="module", reason=reason)
    return verdicts


# --- the steps after a batch's install, recorded on the instances --------------------------------------------------
# A round with reboot=always or a post-hook has steps after the execution ends (the reboot, the post-hook) that live
# only in the task's process. So that a round killed between the end of the execution and the end of those steps
# (the install already made the instance compliant, so a re-run would leave it alone) is noticed by the next run,
# from what the cloud keeps (the instance's tags, not a local file that vanishes with an AWX job's container), each
# instance of a batch is tagged ``STEPS_TAG=pending ...`` right before its execution starts, and ``STEPS_TAG=done``
# once the steps ran (passed or failed: a failure was reported by that run).
STEPS_TAG = "ecs-ops-patch-steps"
STEPS_DONE = "done"
TAG_CHUNK = 50      # ResourceId.N of TagResources
STEPS_GRACE = 10    # seconds past the task's deadline before a later run takes its pending tag as left by a task that is gone


def pending_value(steps, until):
    """The tag value of a batch whose ``steps`` ("reboot", "post_hook") are still to run, by a task whose wait ends
    at ``until`` (an aware datetime): ``pending reboot+post_hook until 2026-11-29T03:41:28Z``."""
    return "pending %s until %s" % ("+".join(steps), until.strftime("%Y-%m-%dT%H:%M:%SZ"))


def parse_pending(value):
    """(steps, until) of a pending tag value, until as an aware datetime (None if unreadable); None if the value
    is not a pending one (absent, ``done``, anything else)."""
    parts = str(value or "").split()
    if len(parts) != 4 or parts[0] != "pending" or parts[2] != "until":
        return None
    return parts[1].split("+"), parse_api_time(parts[3])


def tag_steps(ecs, instance_ids, value, deadline):
    """Set ``STEPS_TAG=value`` on the instances (one region), in calls of at most 50."""
    ids = list(instance_ids)
    for start in range(0, len(ids), TAG_CHUNK):
        ecs.call("TagResources", {"ResourceType": "instance", "ResourceId": ids[start:start + TAG_CHUNK],
                                  "Tag": [{"Key": STEPS_TAG, "Value": value}]}, deadline=deadline)


def unfinished_steps(tags, now):
    """What an instance's previous round left undone after its install, from its tags: None when nothing is pending;
    else a dict of ``steps``, ``until`` (the tag's text) and ``overdue``: the task that set the tag is past its own
    deadline, so it is gone (killed, or ended without recording the steps) and not still running them."""
    pending = parse_pending((tags or {}).get(STEPS_TAG))
    if pending is None:
        return None
    steps, until = pending
    return dict(steps=steps, until=str(tags[STEPS_TAG]).split()[-1], overdue=until is None or until <= now)
