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
may pass does not end it (``rollback.wait_until``).
"""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.rollback import (
    StepFailed,
    describe_instance,
    wait_until,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import parse_api_time

REBOOT_ACTION = "ACS::ECS::RebootInstance"   # the task of the patch template's child that reboots the instance
BACK = "Running with its Cloud Assistant agent online"


def rebooted_by_execution(oos, child_execution_id, deadline):
    """Whether the child execution rebooted its instance (a succeeded ``ACS::ECS::RebootInstance`` task)."""
    tasks = list_all(lambda q: oos.call("ListTaskExecutions", q, deadline=deadline),
                     {"ExecutionId": child_execution_id, "TaskAction": REBOOT_ACTION, "MaxResults": 20},
                     ("TaskExecutions",))
    return any(t.get("Status") == "Success" for t in tasks)


def _agent_online(ecs, instance_id, deadline):
    body = ecs.call("DescribeCloudAssistantStatus", {"InstanceId": [instance_id]}, deadline=deadline)
    rows = (body.get("InstanceCloudAssistantStatusSet") or {}).get("InstanceCloudAssistantStatus") or []
    return any(r.get("InstanceId") == instance_id and str(r.get("CloudAssistantStatus")).lower() == "true"
               for r in rows)


def back_poll(ecs, instance_id, started_before, deadline):
    """A poll for ``wait_until``: ``BACK`` once the instance is back from the reboot, else what it is now."""
    seen = {"down": False}

    def poll():
        instance = describe_instance(ecs, instance_id, deadline)
        status = instance.get("Status") or "gone"
        if status != "Running":
            seen["down"] = True
            return status
        if not _agent_online(ecs, instance_id, deadline):
            seen["down"] = True
            return "Running with its agent offline"
        if not seen["down"] and instance.get("StartTime") == started_before:
            return "Running, not yet seen rebooting"
        return BACK
    return poll


def reboot_instance(ecs, instance_id, deadline, interval):
    """RebootInstance, then wait until the instance is back. Raises StepFailed naming the step."""
    try:
        started_before = describe_instance(ecs, instance_id, deadline).get("StartTime")
        ecs.call("RebootInstance", {"InstanceId": instance_id}, deadline=deadline)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        raise StepFailed("RebootInstance: %s" % describe(exc)[0]) from None
    try:
        wait_until(back_poll(ecs, instance_id, started_before, deadline), BACK, "the instance", deadline, interval)
    except StepFailed as exc:
        raise StepFailed("rebooted, not back: %s" % exc) from None
    except Exception as exc:  # pylint: disable=broad-exception-caught
        raise StepFailed("rebooted, not back: %s" % describe(exc)[0]) from None


def reboot_patched(ecs_for, oos_for, patched, deadline, interval):
    """Reboot the patched instances the execution did not reboot, several at once. ``patched`` is
    [(instance id, region, child execution id)]; returns {instance id: verdict} where a verdict says
    ``passed``, ``by`` (``execution`` or ``module``) and ``reason`` (empty when passed)."""
    def one(item):
        instance_id, region, child_id = item
        try:
            if child_id and rebooted_by_execution(oos_for(region), child_id, deadline):
                return dict(passed=True, by="execution", reason="")
        except Exception:  # pylint: disable=broad-exception-caught
            pass    # not known: reboot it (see the module docstring)
        try:
            reboot_instance(ecs_for(region), instance_id, deadline, interval)
        except StepFailed as exc:
            return dict(passed=False, by="module", reason=str(exc))
        return dict(passed=True, by="module", reason="")

    verdicts = {}
    for outcome in run_bounded(one, patched):
        verdict = outcome.value if outcome.ok else dict(passed=False, by="module", reason=describe(outcome.error)[0])
        verdicts[outcome.item[0]] = verdict
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
