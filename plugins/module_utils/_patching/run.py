# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: ``oos_patch_run``'s side of the execution runner, pure: its options,
the template parameters of a batch, what an execution does, and each instance's entry before, during and
after the run."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import run_options
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.hooks import hook_problems
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.policy import policy_options
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.states import installed_total, verdict
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._targets import normalise_targets
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError

PATCH_TEMPLATE = "ACS-ECS-BulkyApplyPatchBaseline"
PATCH_RUN_TAG = ("ecs-ops-patch-run", "oos_patch_run")   # on every execution oos_patch_run starts
ROLLED_BACK_TAG = "ecs-ops-rolled-back"   # on an instance oos_patch_rollback reset, the value its snapshot id
MAX_EXECUTIONS = 20
MAX_RETENTION_DAYS = 65536


def batch_parameters(action, region, instance_ids, p):
    """StartExecution Parameters of ACS-ECS-BulkyApplyPatchBaseline for one batch (JSON types, not strings)."""
    params = {"regionId": region, "action": action,
              "targets": {"Type": "ResourceIds", "ResourceIds": list(instance_ids), "RegionId": region},
              "rateControl": {"Mode": "Concurrency", "Concurrency": p["rate_control"]["concurrency"],
                              "MaxErrors": p["rate_control"]["max_errors"]}}
    if action == "install":
        params.update(whetherCreateSnapshot=bool(p["create_snapshot"]), rebootIfNeed=p["reboot"] in ("if_required", "always"))
        if p["create_snapshot"]:
            params["retentionDays"] = p["snapshot_retention_days"]
    return params


def patch_intent(parameters, secret_names):
    """What an execution of the patch template does: its action (scan or install); None if unrecognisable."""
    del secret_names  # the patch template has no secret parameters
    action = parameters.get("action") if isinstance(parameters, dict) else None
    return ("patch", action) if action in ("scan", "install") else None


def install_needless(before, reboot):
    """Why an install has nothing to do on an instance with the patch state ``before``, or "" if it has: a
    missing or failed patch, a pending reboot it may do (``reboot=if_required`` or ``always``), or no scan at all."""
    if before is None or before["missing"] or before["failed"]:
        return ""
    when = "%s at %s" % (before["operation_type"] or "scan", before["operation_end_time"] or "an unknown time")
    if before["installed_pending_reboot"]:
        if reboot in ("if_required", "always"):
            return ""
        return "no missing patch at the last %s, a reboot is pending (reboot=if_required reboots it)" % when
    return "compliant at the last %s: nothing to install" % when


def rolled_back_hold(tags, rolled_back):
    """Why an install leaves an instance alone, or "": it carries the tag ``oos_patch_rollback`` puts on an instance
    it reset to its pre-patch snapshot, and ``rolled_back`` is ``skip``. Patching it again would repeat what just
    failed (and, in a round that rolls failures back, another stop, reset and start), so it waits for a person."""
    if ROLLED_BACK_TAG not in (tags or {}) or rolled_back == "patch":
        return ""
    snapshot_id = tags[ROLLED_BACK_TAG]
    return ("held: rolled back to its pre-patch snapshot %s (tag %s=%s), so not patched again; after investigating, "
            "remove the tag from the instance, or set rolled_back=patch to patch it anyway" % (
                snapshot_id or "(not named)", ROLLED_BACK_TAG, snapshot_id))


def run_entry(instance_id, region, before, zone=""):
    compliant, reboot, status = verdict(before)
    return dict(instance_id=instance_id, region=region, zone=zone, result="", message="", execution_id="",
                child_execution_id="", before=before, after=before, patches_installed=None, reboot_required=reboot,
                compliant=compliant, compliance=status, snapshot_ids=[], adopted=False, waited_for=[], hooks={},
                rebooted=False)


def plan_entry(entry, action):
    """Check mode: scan starts nothing; install would run where something is missing or nothing is known."""
    before = entry["before"]
    if action == "scan":
        entry.update(result="planned", message="would scan with the default baseline of the instance's OS")
    elif before is None:
        entry.update(result="planned", message="never scanned; would scan and install the approved missing patches")
    elif before["missing"] or before["failed"]:
        entry.update(result="planned", message="would install %d missing and retry %d failed patch(es)" % (
            before["missing"], before["failed"]))
    else:
        entry.update(result="unchanged", message="no missing patch at the last %s" % before["operation_type"])
    return entry


def finish_entry(entry, action, child, after, parent):
    """Fill an entry from its child execution (or None), the parent's view and the state after."""
    entry["after"] = after
    entry["compliant"], entry["reboot_required"], entry["compliance"] = verdict(after)
    if child is not None:
        entry["child_execution_id"] = child["execution_id"]
    status = (child or {}).get("status") or ""
    if action == "install" and after is not None and entry["before"] is not None:
        entry["patches_installed"] = max(0, installed_total(after) - installed_total(entry["before"]))
    if status == "Success":
        if action == "scan" or entry["patches_installed"] != 0:
            entry.update(result="succeeded", message="%s finished" % action)
        else:
            entry.update(result="unchanged", message="nothing to install")
    elif status in ("Failed", "Cancelled"):
        entry.update(result="failed" if status == "Failed" else "cancelled",
                     message=child.get("status_message") or status)
    elif parent is not None and parent.get("done"):
        # The execution ended before it reached this instance: nothing was attempted here, so it is not a
        # failure of this instance (that would inflate the failure percentage); the task still fails.
        entry.update(result="cancelled",
                     message="not started: %s" % (parent.get("status_message") or "the execution ended first"))
    else:
        entry.update(result="pending", message="still running (execution %s)" % entry["execution_id"])
    return entry


def run_summary(entries):
    summary = dict(total=len(entries), succeeded=0, failed=0, unreachable=0, unchanged=0, cancelled=0, busy=0, pending=0,
                   planned=0, deferred=0, skipped=0, held=0, compliant=0, non_compliant=0, never_scanned=0, reboot_required=0, patches_installed=0,
                   snapshots=0)
    for entry in entries:
        summary[entry["result"]] = summary.get(entry["result"], 0) + 1
        if entry["result"] != "unreachable":
            summary[entry["compliance"]] += 1
            summary["reboot_required"] += int(entry["reboot_required"])
        summary["patches_installed"] += entry["patches_installed"] or 0
        summary["snapshots"] += len(entry["snapshot_ids"])
    return summary


def validate_run_options(p, region):
    """({region: [ids]}, warnings, the options with rate_control and tags normalised) for oos_patch_run;
    ``p`` is not changed. Raises ValidationError naming every problem."""
    problems, warnings, targets = [], [], {}
    try:
        targets, warnings = normalise_targets(p["instance_ids"], region)
    except ValidationError as exc:
        problems.extend(exc.problems)
    if p["action"] == "scan" and p["create_snapshot"]:
        problems.append("create_snapshot only applies to action=install")
    if not 1 <= p["snapshot_retention_days"] <= MAX_RETENTION_DAYS:
        problems.append("snapshot_retention_days must be from 1 to %d, got %d"
                        % (MAX_RETENTION_DAYS, p["snapshot_retention_days"]))
    for name in ("pre_hook", "post_hook"):
        if p.get(name) is not None and p["action"] != "install":
            problems.append("%s only applies to action=install" % name)
        if p.get(name) is not None and not p["wait"]:
            problems.append("%s needs wait=true (it runs around each batch while the task waits)" % name)
        problems.extend(hook_problems(name, p.get(name)))
    if p["canary"] and not p["wait"]:
        problems.append("canary needs wait=true (the first batch is checked before the rest is approved)")
    run_problems, normalised = run_options(p, MAX_EXECUTIONS)
    problems.extend(run_problems)
    policy_problems, policy = policy_options(p)
    problems.extend(policy_problems)
    if problems:
        raise ValidationError(problems)
    return targets, warnings, dict(p, **dict(normalised, **policy))
