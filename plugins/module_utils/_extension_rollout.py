# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the input checks and result assembly of ``oos_extension_install``.

Everything here is pure: the options are checked all at once before any API call, and the
per-instance results are built from the batches' executions and their child executions.
"""

from __future__ import annotations

import re

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._executions import parse_json, run_option_problems
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions import VERSION_RE
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._targets import normalise_targets
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError

MAX_EXECUTIONS = 100
SECRET_KEY_RE = re.compile(r"pass|secret|token|credential|private.?key", re.IGNORECASE)
MASK = "********"
DONE = {"install": "installed %s", "update": "updated to %s", "uninstall": "uninstalled%s"}
RESULTS = ("succeeded", "failed", "cancelled", "skipped", "pending", "planned")


def validate_options(p, region):
    """({region: [ids]}, warnings); normalises rate_control and tags in ``p``. Raises ValidationError."""
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
    problems.extend(run_option_problems(p, MAX_EXECUTIONS))
    both = sorted(set(p["parameters"]) & set(p["secret_parameters"]))
    if both:
        problems.append("parameters and secret_parameters both set %s" % ", ".join(both))
    if p["state"] == "absent" and (p["parameters"] or p["secret_parameters"]):
        warnings.append("parameters are ignored with state=absent")
    if problems:
        raise ValidationError(problems)
    return targets, warnings


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


def _instance_result(entry, execution, child, wait):
    """Set result, message, new_version, output of one instance from its batch's execution and child."""
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


def batch_results(batches, entries, children, cancelled, wait):
    """Fill each instance's result from the batches; the ``executions`` list."""
    executions = []
    for batch in batches:
        execution = batch.execution or {}
        outputs = execution.get("outputs") if execution.get("done") else {}
        command = _package_results(outputs, "commandOutput")
        configuration = _package_results(outputs, "configurationOutput")
        for instance_id in batch.instance_ids:
            entry = entries[instance_id]
            if not batch.started:
                entry.update(result="failed", new_version=entry["previous_version"],
                             message=("could not start the execution: %s" % batch.error[0]) if batch.error
                             else "not started: an earlier batch could not be started")
                continue
            child = children.get(batch.execution_id, {}).get(instance_id)
            entry["execution_id"] = batch.execution_id
            entry["child_execution_id"] = (child or {}).get("execution_id", "")
            _instance_result(entry, execution, child, wait)
            if entry["result"] == "succeeded":
                entry["output"] = str(command.get(instance_id) or "")
                entry["configuration"] = mask_configuration(configuration.get(instance_id))
            elif batch.error and entry["result"] == "pending":
                entry["message"] = "could not read the execution: %s" % batch.error[0]
        executions.append(dict(
            execution_id=batch.execution_id, region=batch.region, action=batch.action,
            instance_ids=list(batch.instance_ids), status=execution.get("status", ""),
            status_message=execution.get("status_message", "") or (batch.error[0] if batch.error else ""),
            adopted=bool(execution.get("adopted")), client_token=execution.get("client_token", ""),
            cancel_error=cancelled.get(batch.execution_id, "")))
    return executions


def execution_summary(entries, plan_counts):
    summary = dict(plan_counts)
    summary.update({name: 0 for name in RESULTS})
    for entry in entries.values():
        if entry["result"] in summary and entry["result"] != "unchanged":
            summary[entry["result"]] += 1
    return summary
