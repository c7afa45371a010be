# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for pruning extensions: what the extension_rollout role put on each instance, and what to remove.

The record is OOS's execution history of the extension templates. Every execution the role starts carries the tag
``ROLE_TAG``; an instance is the role's for an extension when the newest event on it for that extension is (or
follows) one of the role's installs: events are the role's installs (a grant), the role's updates (no change), the
role's uninstalls that succeeded and every execution of any other tool (a revocation). A role's uninstall that
failed, was cancelled or still runs changes nothing, so the next run retries it where the extension is left. So an extension someone else installed, or
touched after the role, is never the role's, and a history OOS no longer keeps proves nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.templates import short_name
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.batches import created, targets_of

ROLE_TAG = ("ecs_ops_role", "extension_rollout")
FINISHED = ("Success", "Failed")   # executions that ran to their end; a cancelled install proves nothing


def _event(view):
    """(package, region, instance ids or None for "any instance of the region", kind, ours) of a root execution
    of a package template, or None. kind: grant, keep or revoke."""
    params = view.get("parameters")
    if view.get("parent_execution_id") or not isinstance(params, Mapping):
        return None
    package = params.get("packageName")
    if not isinstance(package, str) or not package:
        return None
    targets = targets_of(view)
    region = params.get("regionId") or (params.get("targets") or {}).get("RegionId") or ""
    ours = (view.get("tags") or {}).get(ROLE_TAG[0]) == ROLE_TAG[1] and targets is not None
    action = params.get("action") or "install"
    if not ours:
        kind = "revoke"
    elif action == "install":
        kind = "grant" if view.get("status") in FINISHED else "keep"
    elif action == "update":
        kind = "keep"
    else:   # the role's own uninstall ends the ownership once it got through; failed or cancelled, a re-run retries
        kind = "revoke" if view.get("status") == "Success" else "keep"
    return package, str(region), targets, kind, ours


def ecs_extension_owned(history, targets=None):
    """The extensions the role installed on ``targets`` and nobody touched since: one dict per instance and
    extension (``instance_id``, ``region``, ``template``, ``execution_id`` and ``installed_at`` of the role's
    install), in target order. ``history`` is the list of registered ``oos_execution_info`` results (one per
    region) listing the executions of the package templates."""
    events = []
    for result in history or []:
        if not isinstance(result, Mapping):
            continue
        for view in result.get("executions") or []:
            found = _event(view)
            if found:
                events.append((created(view), 0 if found[4] else 1, view.get("execution_id", ""), found))
    # Oldest first; at the same second another tool's execution counts as the later one (it may have been).
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    owned = []
    for target in targets or []:
        instance_id, region = str(target["instance_id"]), str(target.get("region") or "")
        state = {}
        for when, _rank, execution_id, (package, exec_region, ids, kind, _ours) in events:
            if ids is None:
                applies = not region or not exec_region or region == exec_region
            else:
                applies = instance_id in ids
            if not applies:
                continue
            if kind == "grant":
                state[package] = (execution_id, when)
            elif kind == "revoke":
                state.pop(package, None)
        for package in sorted(state):
            owned.append(dict(instance_id=instance_id, region=region, template=package,
                              execution_id=state[package][0], installed_at=state[package][1]))
    return owned


def ecs_extension_prunes(owned, changes, results, targets):
    """What to prune on ``targets`` (the instances of one phase): the extensions the role installed (``owned``)
    that no change an instance wants names any more. ``results`` are the phase's module results, one per change
    (in the order of ``changes``): they name each change's template (``extension.name``), so friendly names
    (``node``, ``Node.js``) compare right. An instance with a change whose template is unknown (its call failed
    before reading the extension) is not pruned and listed in ``unresolved``.

    Returns ``groups`` (one per template: ``name``, ``key``, ``targets``, ``installed_by`` {instance: execution})
    and ``unresolved``."""
    by_instance = {}
    for item in owned or []:
        by_instance.setdefault(item["instance_id"], []).append(item)
    groups, unresolved = {}, []
    for target in targets or []:
        instance_id = target["instance_id"]
        if instance_id not in by_instance:
            continue
        names, known = set(), True
        for index, change in enumerate(changes or []):
            if instance_id not in [t["instance_id"] for t in change["targets"]]:
                continue
            result = results[index] if results and index < len(results) else {}
            name = ((result or {}).get("extension") or {}).get("name") if isinstance(result, Mapping) else None
            if not name:
                known = False
                break
            names.add(name)
        if not known:
            unresolved.append(instance_id)
            continue
        for item in by_instance[instance_id]:
            if item["template"] in names:
                continue
            group = groups.setdefault(item["template"], dict(
                name=item["template"], extension=short_name(item["template"]),
                key=hashlib.sha256(("prune:" + item["template"]).encode("utf-8")).hexdigest()[:12],
                targets=[], installed_by={}))
            group["targets"].append(dict(instance_id=instance_id, region=target.get("region") or ""))
            group["installed_by"][instance_id] = "execution %s at %s" % (item["execution_id"], item["installed_at"])
    return dict(groups=list(groups.values()), unresolved=unresolved)


def _prune_row(group, target, result, phase, opted_in, verify):
    instance_id = target["instance_id"]
    entries = result.get("instances") if isinstance(result, Mapping) else None
    entry = (entries or {}).get(instance_id) or {}
    origin = "not in the host's list; installed by this role (%s)" % group["installed_by"].get(instance_id, "")
    row = dict(instance_id=instance_id, instance_name=entry.get("name", ""), region=entry.get("region") or
               target.get("region", ""), extension=group["extension"], change=group["key"], template=group["name"],
               state="absent", phase=phase, action=entry.get("action", ""), result=entry.get("result", ""),
               version_before=entry.get("previous_version", ""), version_after=entry.get("new_version", ""),
               installed_version="", verified="not_run", message="prune: %s" % origin, prune=True)
    if not opted_in:
        if entry.get("action") != "uninstall":
            return None
        row.update(result="not_opted_in", message="would prune (opt-in: extension_rollout_prune): %s" % origin)
        return row
    if entry:
        row["message"] = "prune: %s; %s" % (origin, entry.get("message", ""))
    elif isinstance(result, Mapping) and result.get("failed"):
        row.update(result="failed", message="prune: %s" % (result.get("msg") or "the task failed"))
    else:
        row.update(result="not_run", message="prune: not run")
    checked = ((verify or {}).get("instances") or {}).get(instance_id) if isinstance(verify, Mapping) else None
    if checked:
        row["verified"] = {"none": "ok", "skip": "unreachable"}.get(checked.get("action"), "would " + str(checked.get(
            "action")))
    elif isinstance(verify, Mapping) and verify.get("failed"):
        row["verified"] = "error"
    return row


def ecs_prune_rows(groups, results, phase="rollout", opted_in=False, verify=None):
    """Report rows (as the role's other rows, with ``prune: true``) of the prune calls of one phase: ``groups``
    from ``ecs_extension_prunes``, ``results`` their module results, ``verify`` the verify phase's results (same
    order). Without the opt-in the calls ran in check mode: only instances where an uninstall was predicted get a
    row, with the result ``not_opted_in`` ("would prune")."""
    rows = []
    for index, group in enumerate(groups or []):
        result = results[index] if results and index < len(results) else {}
        check = verify[index] if verify and index < len(verify) else None
        for target in group["targets"]:
            row = _prune_row(group, target, result or {}, phase, opted_in, check)
            if row:
                rows.append(row)
    return rows


class FilterModule:
    def filters(self):
        return {"ecs_extension_owned": ecs_extension_owned, "ecs_extension_prunes": ecs_extension_prunes,
                "ecs_prune_rows": ecs_prune_rows}
