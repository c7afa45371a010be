# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the input checks and result assembly of ``oos_extension_install``.

Everything here is pure: the options are checked all at once before any API call, and the
per-instance results are built from the batches' executions and their child executions.
"""

from __future__ import annotations

import re

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import MASK
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import parse_json, run_options
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.templates import VERSION_RE
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._targets import normalise_targets
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError

BULKY_TEMPLATE = "ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL"   # installs, updates and uninstalls extensions
MAX_EXECUTIONS = 100
SECRET_KEY_RE = re.compile(r"pass|secret|token|credential|private.?key", re.IGNORECASE)
DONE = {"install": "installed %s", "update": "updated to %s", "uninstall": "uninstalled%s"}
RESULTS = ("succeeded", "failed", "cancelled", "unchanged", "unreachable", "unsupported", "busy", "pending", "planned")


def validate_options(p, region):
    """({region: [ids]}, warnings, the options with rate_control and tags normalised); ``p`` is not changed.
    Raises ValidationError naming every problem."""
    problems, warnings, targets = [], [], {}
    try:
        targets, warnings = normalise_targets(p["instance_ids"], region)
    except ValidationError as exc:
        problems.extend(exc.problems)
    if not str(p["name"] or "").strip():
        problems.append("name must not be empty")
    if p["version"] is not None and not VERSION_RE.match(p["version"]):
        problems.append("version must look like v1, v27, ... got %r" % p["version"])
    if p["force"] and p["state"] == "absent":
        problems.append("force cannot be used with state=absent")
    run_problems, normalised = run_options(p, MAX_EXECUTIONS)
    problems.extend(run_problems)
    both = sorted(set(p["parameters"]) & set(p["secret_parameters"]))
    if both:
        problems.append("parameters and secret_parameters both set %s" % ", ".join(both))
    if p["state"] == "absent" and (p["parameters"] or p["secret_parameters"]):
        warnings.append("parameters are ignored with state=absent")
    if problems:
        raise ValidationError(problems)
    return targets, warnings, dict(p, **normalised)


def mask_configuration(value):
    """Configuration an extension reports (JSON text or object) with secret-looking values masked."""
    parsed = parse_json(value, default="")
    if isinstance(parsed, dict):
        return {k: (MASK if SECRET_KEY_RE.search(str(k)) and v not in ("", None) else mask_configuration(v))
                for k, v in parsed.items()}
    if isinstance(parsed, list):
        return [mask_configuration(v) for v in parsed]
    return parsed


def _package_results(outputs, key):
    """{instance id: PackageResult} from an execution's ``commandOutput``/``configurationOutput`` list."""
    found = {}
    for item in (outputs or {}).get(key) or []:
        if isinstance(item, dict):
            results = item.get("InstanceResult") or [{}]
            found[item.get("InstanceId", "")] = (results[0] or {}).get("PackageResult", "")
    return found


def extension_intent(parameters, secret_names):
    """What an execution of the bulky package template does, from its parameters: (package, action, version,
    non-secret package parameters). Equal intents are the same change; None if it is not recognisable."""
    if not isinstance(parameters, dict) or not parameters.get("packageName"):
        return None
    action = parameters.get("action") or ""
    values = parse_json(parameters.get("parameters"), default={}) if action != "uninstall" else {}
    public = {str(k): str(v).lower() if isinstance(v, bool) else str(v)
              for k, v in (values.items() if isinstance(values, dict) else []) if k not in secret_names}
    return (parameters["packageName"], action, parameters.get("packageVersion") or "" if action != "uninstall" else "",
            tuple(sorted(public.items())))


def _instance_result(entry, execution, child, wait):
    status = (child or {}).get("status") or ""
    parent = execution or {}
    if child is None and parent.get("done"):
        status = parent.get("status")
        if status != "Success":
            entry["message"] = "not done: the execution ended %s before reaching the instance: %s" % (
                status, parent.get("status_message") or "no reason given")
            status = "Cancelled" if status == "Cancelled" else "Failed"
    if status == "Success":
        entry["result"] = "succeeded"
        entry["message"] = DONE[entry["action"]] % entry["new_version"]
        return
    entry["new_version"] = entry["previous_version"]
    if status == "Failed":
        entry["result"] = "failed"
        if child is not None:
            entry["message"] = child.get("status_message") or "the child execution failed"
    elif status == "Cancelled":
        entry["result"] = "cancelled"
        if child is not None:
            entry["message"] = child.get("status_message") or "cancelled"
    else:
        entry["result"] = "pending"
        entry["message"] = "still %s when the task %s" % (
            (status or parent.get("status") or "starting").lower(), "returned" if not wait else "timed out")


def _from_batch(entry, batch, children, wait):
    execution = batch.execution or {}
    entry["execution_id"] = batch.execution_id
    entry["adopted"] = batch.adopted
    if not batch.started:
        entry.update(result="failed", new_version=entry["previous_version"],
                     message="could not start the execution: %s" % batch.error[0])
        return
    child = children.get(batch.execution_id, {}).get(entry["instance_id"])
    entry["child_execution_id"] = (child or {}).get("execution_id", "")
    _instance_result(entry, execution, child, wait)
    if entry["result"] == "succeeded":
        outputs = execution.get("outputs") if execution.get("done") else {}
        entry["output"] = str(_package_results(outputs, "commandOutput").get(entry["instance_id"]) or "")
        entry["configuration"] = mask_configuration(_package_results(outputs, "configurationOutput").get(
            entry["instance_id"]))
    elif batch.error and entry["result"] == "pending":
        entry["message"] = "could not read the execution: %s" % batch.error[0]
    if batch.adopted:
        entry["message"] += " (adopted %s, which was already making this change)" % batch.execution_id


def instance_results(runner, entries, children, wait):
    """Fill each instance's result from the runner: the execution that acted on it (started or adopted),
    or why it was not acted on (busy, nothing to do after a wait, not started)."""
    for instance_id, work in runner.work.items():
        entry = entries[instance_id]
        entry["waited_for"] = list(work.waited_for)
        if work.batch is not None:
            _from_batch(entry, work.batch, children, wait)
        else:
            result, message = work.outcome or ("cancelled", "not started")
            entry.update(result=result, message=message)
            if result != "unchanged":
                entry["new_version"] = entry["previous_version"]
        for note in work.notes:
            entry["message"] += "; " + note


def execution_list(runner, cancelled):
    """The executions of the run: started by it, or adopted because they already did the same change."""
    return [dict(execution_id=b.execution_id, region=b.region, action=b.action, instance_ids=list(b.instance_ids),
                 status=(b.execution or {}).get("status", ""),
                 status_message=(b.execution or {}).get("status_message", "") or (b.error[0] if b.error else ""),
                 adopted=b.adopted, client_token=(b.execution or {}).get("client_token", ""),
                 superseded_by=b.superseded_by, cancel_error=cancelled.get(b.execution_id, ""))
            for b in runner.executions()]


def preview_messages(runner, entries, busy):
    """Check mode: say which instances would adopt a running execution or find it busy."""
    after = {"wait": "would wait for it, then plan again", "skip": "would be skipped",
             "fail": "the task would fail before starting anything"}[busy]
    for instance_id, work in runner.work.items():
        entry = entries[instance_id]
        if work.batch is not None and work.batch.adopted:
            running = work.batch.execution_id
            entry.update(adopted=True, execution_id=running,
                         message="%s; %s already does this: would adopt it" % (entry["message"], running))
        for note in work.notes:
            entry["message"] += "; %s: %s" % (note, after)


def failure_message(entries, limit=10):
    return "; ".join("%s: %s" % (e["instance_id"], e["message"]) for e in entries[:limit]) + (
        " ..." if len(entries) > limit else "")


def execution_summary(entries, plan_counts):
    """The plan's counts (``total``, ``to_install``, ``to_update``, ``to_uninstall``, ``drifted``) and the count
    of every result, as the instances ended."""
    planned = ("total", "to_install", "to_update", "to_uninstall", "drifted")
    summary = {k: v for k, v in plan_counts.items() if k in planned}
    summary.update({name: 0 for name in RESULTS})
    for entry in entries.values():
        summary[entry["result"]] += 1
    return summary
