# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The extension_rollout role's report rows, from its module results only.

``ecs_rollout_rows`` makes one row per instance and change from the canary, rollout and verify calls (one call per
change, in the order of the changes); ``ecs_rollout_instances`` folds the rows into one outcome per instance;
``ecs_rollout_outcome`` sums both up (status, problems, one entry per change, headline counts). All are built from
``oos_extension_install``'s per-instance results, never from the role's input, so secret parameters cannot reach the
reports.
"""

from __future__ import annotations

from collections.abc import Mapping

FAILED = ("failed", "cancelled", "pending")
SKIPPED = ("skipped", "busy", "unreachable", "unsupported", "not_run")
# What the reports count as skipped rows: an instance's not_run rows make it skipped, but the rows are counted apart.
SKIPPED_ROWS = ("skipped", "busy", "unreachable", "unsupported")
CHANGING = ("install", "update", "uninstall")
VERIFIED = {"none": "ok", "skip": "unreachable"}
# The keys of an instance's outcome; its extensions keep the rest of each row.
_INSTANCE_KEYS = ("instance_id", "instance_name", "region", "phase")


def _result(results, index):
    """The registered result of change ``index``, or {} where the loop had none."""
    results = results or []
    value = results[index] if index < len(results) else {}
    return value if isinstance(value, Mapping) else {}


def _entry(call, instance_id):
    """The module's result for one instance of a call, or {}."""
    instances = call.get("instances")
    return (instances.get(instance_id) or {}) if isinstance(instances, Mapping) else {}


def _template(calls, change):
    """The template name the first call that ran reports (a friendly name resolves to it), else the change's name."""
    for call in calls:
        extension = call.get("extension")
        if isinstance(extension, Mapping) and "name" in extension:
            return extension["name"]
    return change["name"]


def _outcome(entry, call, canary_failed):
    """(result, message) of an instance: the module's, else why it has none."""
    if entry:
        return entry.get("result", ""), entry.get("message", "")
    if call.get("failed"):
        return "failed", call.get("msg", "the task failed")
    if canary_failed:
        return "not_run", "not run: the canary failed"
    return "not_run", "not run"


def _verified(entry, call):
    """What the verify phase (the change again, in check mode) found: ok, unreachable, would <action>, error or
    not_run."""
    if entry:
        return VERIFIED.get(entry.get("action"), "would %s" % entry.get("action"))
    return "error" if call.get("failed") else "not_run"


def _row(change, target, phase, calls, template, canary_failed):
    """The row of one change on one target: what its phase's call did and what the verify call found."""
    call, checked = calls[phase], calls["verify"]
    entry, check = _entry(call, target["instance_id"]), _entry(checked, target["instance_id"])
    result, message = _outcome(entry, call, canary_failed)
    return {
        "instance_id": target["instance_id"],
        "instance_name": entry["name"] if "name" in entry else check.get("name", ""),
        "region": entry["region"] if "region" in entry else check.get("region", target.get("region")),
        "extension": change["name"], "change": change["key"], "template": template, "state": change["state"],
        "phase": phase, "action": entry.get("action", ""), "result": result,
        "version_before": entry.get("previous_version", ""), "version_after": entry.get("new_version", ""),
        "installed_version": check.get("previous_version", ""), "verified": _verified(check, checked),
        "message": message,
    }


def ecs_rollout_rows(changes, canary=None, rest=None, verify=None, canary_ids=None, canary_failed=False):
    """One row per change and target instance, in the order of the changes and their targets.

    ``changes`` are ``ecs_extension_changes``'s groups; ``canary``, ``rest`` and ``verify`` the registered loop
    results of the three phases (one per change, same order); ``canary_ids`` the instances the canary phase ran on
    (empty when it did not run); ``canary_failed`` whether the rest was held back."""
    canary_ids = set(canary_ids or [])
    rows = []
    for index, change in enumerate(changes or []):
        calls = {"canary": _result(canary, index), "rollout": _result(rest, index), "verify": _result(verify, index)}
        template = _template([calls["canary"], calls["rollout"], calls["verify"]], change)
        for target in change["targets"]:
            phase = "canary" if target["instance_id"] in canary_ids else "rollout"
            rows.append(_row(change, target, phase, calls, template, canary_failed))
    return rows


def _instance_outcome(rows):
    """failed (a change failed, was cancelled, did not finish or did not verify), skipped (a change was skipped,
    busy, unreachable, unsupported or not run) or succeeded."""
    results = [row.get("result") for row in rows]
    if any(r in FAILED for r in results) or any(row.get("verified") not in ("ok", "not_run", "unreachable") for row in rows):
        return "failed"
    if any(r in SKIPPED for r in results):
        return "skipped"
    return "succeeded"


def _instance(target, rows):
    first = rows[0] if rows else {}
    return {
        "instance_id": target["instance_id"],
        "instance_name": next((row["instance_name"] for row in rows if row.get("instance_name")), ""),
        "region": first["region"] if "region" in first else target.get("region"),
        "phase": first["phase"] if "phase" in first else "rollout",
        "outcome": _instance_outcome(rows),
        "changed": any(row.get("action") in CHANGING and row.get("result") in ("succeeded", "planned") for row in rows),
        "extensions": [{k: v for k, v in row.items() if k not in _INSTANCE_KEYS} for row in rows],
    }


def ecs_rollout_instances(rows, targets):
    """One outcome per target instance over all its rows (the reports' headline counts): the failed ones first,
    then the skipped ones, then the succeeded ones, each in the order of ``targets``."""
    instances = [_instance(t, [row for row in rows if row["instance_id"] == t["instance_id"]]) for t in targets]
    return [i for outcome in ("failed", "skipped", "succeeded") for i in instances if i["outcome"] == outcome]


def _problem(row, busy, unreachable):
    """Why ``row`` fails the run, or None: a failed change, a busy instance (unless ``busy`` is skip), an unreachable
    one (when ``unreachable`` is fail) or a verification that did not come back ok (an unreachable instance is
    accepted when ``unreachable`` is skip)."""
    where = "%s on %s: " % (row["extension"], row["instance_id"])
    result, verified = row["result"], row["verified"]
    if result in FAILED:
        return where + "%s (%s)" % (result, row["message"])
    if result == "busy" and busy != "skip":
        return where + "busy (%s)" % row["message"]
    if result in ("skipped", "unreachable", "unsupported") and unreachable == "fail":
        return where + "unreachable (%s)" % row["message"]
    if verified not in ("ok", "not_run") and not (verified == "unreachable" and unreachable == "skip"):
        return where + "verification %s" % verified
    return None


def _unique(values):
    """The distinct values, first occurrence first (case-sensitive: v1 and V1 are two versions, two names)."""
    return list(dict.fromkeys(values))


def _count(rows, results=None, actions=None, verified=None):
    """How many rows have one of ``results``, ``actions`` and ``verified`` (each only where given)."""
    return sum(1 for row in rows if (results is None or row["result"] in results)
               and (actions is None or row["action"] in actions) and (verified is None or row["verified"] in verified))


def _extension(change, rows):
    """The report's entry of one change: what it asked for and what its rows did (``rows`` all rows of the run)."""
    rows = [row for row in rows if row["change"] == change["key"]]
    versions = _unique(row["installed_version"] for row in rows if row["installed_version"])
    return {
        "name": change["name"], "label": change["label"] if "label" in change else change["name"],
        "key": change["key"], "template": rows[0]["template"] if rows else change["name"],
        "state": change["state"], "version": change["version"], "force": change["force"],
        "instances": len(change["targets"]),
        "installed_versions": sorted(versions, key=lambda v: v.lower() if isinstance(v, str) else v),
        "changed": _count(rows, ("succeeded",), CHANGING), "unchanged": _count(rows, ("unchanged",)),
        "failed": _count(rows, FAILED), "skipped": _count(rows, SKIPPED_ROWS), "verified": _count(rows, verified=("ok",)),
    }


def _summary(rows, changes, instances, targets, canary_instances):
    """The headline counts: instances by outcome, then rows by result and by what the verify phase found."""
    def outcome(name):
        return sum(1 for i in instances if i["outcome"] == name)
    return {
        "instances": len(targets), "instances_succeeded": outcome("succeeded"), "instances_failed": outcome("failed"),
        "instances_skipped": outcome("skipped"), "instances_changed": sum(1 for i in instances if i["changed"]),
        "canary_instances": canary_instances, "extensions": len(_unique(c["name"] for c in changes)),
        "changes": len(changes), "rows": len(rows),
        "installed": _count(rows, ("succeeded",), ("install",)), "updated": _count(rows, ("succeeded",), ("update",)),
        "uninstalled": _count(rows, ("succeeded",), ("uninstall",)), "unchanged": _count(rows, ("unchanged",)),
        "planned": _count(rows, ("planned",)), "skipped": _count(rows, SKIPPED_ROWS), "failed": _count(rows, FAILED),
        "not_run": _count(rows, ("not_run",)),
        "pruned": _count([row for row in rows if "prune" in row], ("succeeded", "planned"), ("uninstall",)),
        "would_prune": _count(rows, ("not_opted_in",)), "verified": _count(rows, verified=("ok",)),
        "unreachable": _count(rows, verified=("unreachable",)),
        "not_verified": sum(1 for row in rows if row["verified"] not in ("ok", "not_run", "unreachable")),
    }


def ecs_rollout_outcome(rows, changes, instances, targets, canary_instances=0, canary_failed=False, check_mode=False,
                        busy="wait", unreachable="fail"):
    """The outcome of a run: its status, its problems, one entry per change and the headline counts.

    ``rows`` are the run's rows (``ecs_rollout_rows`` and ``ecs_prune_rows``), ``changes`` the rollout's changes,
    ``instances`` ``ecs_rollout_instances``' outcomes, ``targets`` the target instances, ``canary_instances`` how many
    the canary phase ran on; ``busy`` and ``unreachable`` the role's policies, which decide what counts as a problem.
    The status is canary_failed, failed (a problem), planned (check mode) or converged."""
    changes = changes or []
    problems = [p for p in (_problem(row, busy, unreachable) for row in rows) if p is not None]
    if canary_failed:
        status = "canary_failed"
    elif problems:
        status = "failed"
    else:
        status = "planned" if check_mode else "converged"
    return {
        "status": status, "problems": problems, "extensions": [_extension(change, rows) for change in changes],
        "summary": _summary(rows, changes, instances, targets, canary_instances),
    }


def ecs_rollout_phase(results, changes):
    """One line per change a phase's loop ran: the change's name and its non-zero summary counts, or why it failed.
    Skipped loop items (a change the phase had nothing for) give no line."""
    lines = []
    for result in results or []:
        if not isinstance(result, Mapping) or result.get("skipped"):
            continue
        change = changes[result["_extension_rollout_index"]]
        summary = result.get("summary")
        if isinstance(summary, Mapping):
            # "unchanged 3", not "unchanged=3": a line with "changed=<n>" reads as a change to tools that scan
            # Ansible's output for the play recap's counts (molecule's idempotence check does)
            counts = ", ".join("%s %s" % (k, v) for k, v in summary.items() if v)
            lines.append("%s: %s" % (change["name"], counts or "nothing to do"))
        else:
            lines.append("%s: failed: %s" % (change["name"], result.get("msg", "no result")))
    return lines


class FilterModule:
    def filters(self):
        return {"ecs_rollout_rows": ecs_rollout_rows, "ecs_rollout_instances": ecs_rollout_instances,
                "ecs_rollout_outcome": ecs_rollout_outcome, "ecs_rollout_phase": ecs_rollout_phase}
