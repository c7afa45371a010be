# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for GitOps pipelines: desired extensions per host grouped into changes, plans for pull requests, JUnit.

``ecs_extension_changes`` groups the hosts of a rollout by the exact change they need, so that hosts wanting the same
extension, version, state and parameters share module calls (and so OOS executions). ``ecs_plan`` and
``ecs_plan_markdown`` turn the roles' per-instance rows into a plan a pipeline can read and a pull request can show;
``ecs_junit`` turns them into JUnit XML, one test case per instance and action.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from xml.etree import ElementTree

from ansible.errors import AnsibleFilterError

HOST_VARIABLE = "extension_rollout_extensions"
CHANGE_ACTIONS = ("install", "update", "uninstall", "patch", "reboot", "snapshot")
FAILED = ("failed", "cancelled", "pending")
SKIPPED = ("skipped", "busy", "unreachable", "unsupported", "not_run", "blocked")


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _plain(value):
    """Ansible's lazy containers as plain dicts and lists (so they can be hashed and compared)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(v) for v in value]
    return value


def _change_key(ext):
    """Everything that makes two entries the same change. Secret values enter only as a digest."""
    version = ext.get("version") or "latest"
    secret = hashlib.sha256(_canonical(ext.get("secret_parameters") or {}).encode("utf-8")).hexdigest()
    return _canonical([ext.get("name"), version, ext.get("state") or "present", bool(ext.get("force")),
                       bool(ext.get("reinstall_on_drift")), ext.get("parameters") or {}, secret])


def ecs_extension_changes(targets, hosts=None, hostvars=None, default=None):
    """The changes of a rollout: one entry per distinct (extension, version, state, force, parameters, secret
    parameters), with the targets that want it, in target order.

    A target that comes from an inventory host whose variables define ``extension_rollout_extensions`` wants that
    host's list; every other target wants ``default``. Each change names where its full entry is (``source``: the
    host, or ``""`` for ``default``; ``index`` in that list), so secret parameters never enter the result.
    """
    hosts = list(hosts or [])
    default = _plain(default or [])
    by_instance = {}
    for host in hosts:
        variables = hostvars[host] if hostvars is not None and host in hostvars else {}
        instance_id = variables.get("ecs_instance_id")
        if instance_id and HOST_VARIABLE in variables:
            by_instance.setdefault(str(instance_id), (str(host), _plain(variables[HOST_VARIABLE])))
    changes, keys, seen, problems = {}, {}, set(), []
    for target in targets or []:
        source, wanted = by_instance.get(target["instance_id"], ("", default))
        if not isinstance(wanted, list):
            problems.append("%s of %s must be a list" % (HOST_VARIABLE, source or "the play"))
            continue
        for index, ext in enumerate(wanted):
            if not isinstance(ext, Mapping) or not ext.get("name"):
                problems.append("%s[%d] of %s has no name" % (HOST_VARIABLE, index, source or "the play"))
                continue
            # One key per list entry, not per target: the play's list serves every target without a list of its own.
            if (source, index) not in keys:
                keys[source, index] = _change_key(ext)
            key = keys[source, index]
            if key not in changes:
                changes[key] = dict(name=str(ext["name"]), version=str(ext.get("version") or "latest"),
                                    state=str(ext.get("state") or "present"), force=bool(ext.get("force")),
                                    source=source, index=index,
                                    key=hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], targets=[])
            if (key, target["instance_id"]) not in seen:
                seen.add((key, target["instance_id"]))
                changes[key]["targets"].append(dict(target))
    if problems:
        raise AnsibleFilterError("ecs_extension_changes: " + "; ".join(sorted(set(problems))))
    return list(changes.values())


def _row_change(row):
    action = row.get("action") or ""
    if action in CHANGE_ACTIONS and row.get("result") in ("planned", "succeeded"):
        return dict(item=row.get("item") or row.get("extension") or "", action=action,
                    before=row.get("version_before") or "", after=row.get("version_after") or "",
                    detail=row.get("message") or "")
    return None


def _row_blocked(row):
    if row.get("result") in SKIPPED or row.get("result") in FAILED:
        return dict(item=row.get("item") or row.get("extension") or "", result=row.get("result"),
                    reason=row.get("message") or row.get("result"))
    return None


def ecs_plan(rows, kind="extension_rollout", generated=""):
    """A plan: per instance, the changes that would be made and what is blocked and why; a summary first.
    ``empty`` is true when nothing would change."""
    instances = {}
    for row in rows or []:
        entry = instances.setdefault(row["instance_id"], dict(
            instance_id=row["instance_id"], name=row.get("instance_name") or "", region=row.get("region") or "",
            changes=[], blocked=[]))
        change, blocked = _row_change(row), _row_blocked(row)
        if change:
            entry["changes"].append(change)
        elif blocked:
            entry["blocked"].append(blocked)
    listed = sorted(instances.values(), key=lambda e: (not e["blocked"], not e["changes"], e["instance_id"]))
    counts = {}
    for entry in listed:
        for change in entry["changes"]:
            counts[change["action"]] = counts.get(change["action"], 0) + 1
    summary = dict(instances=len(listed), changes=sum(counts.values()), by_action=counts,
                   instances_changing=sum(1 for e in listed if e["changes"]),
                   instances_blocked=sum(1 for e in listed if e["blocked"]),
                   instances_unchanged=sum(1 for e in listed if not e["changes"] and not e["blocked"]))
    return dict(kind=kind, generated=generated, empty=summary["changes"] == 0, summary=summary, instances=listed)


def ecs_plan_markdown(plan, title="Plan"):
    """The plan as a pull-request comment: the summary first, the details folded."""
    s = plan["summary"]
    actions = ", ".join("%d to %s" % (n, a) for a, n in sorted(s["by_action"].items())) or "nothing to change"
    lines = ["### %s: %s" % (title, "no changes" if plan["empty"] else "%d change(s)" % s["changes"]), "",
             "%d instance(s): %d would change (%s), %d blocked, %d already as wanted." % (
                 s["instances"], s["instances_changing"], actions, s["instances_blocked"], s["instances_unchanged"])]
    changing = [e for e in plan["instances"] if e["changes"]]
    blocked = [e for e in plan["instances"] if e["blocked"]]
    if changing:
        lines += ["", "<details><summary>Changes (%d instance(s))</summary>" % len(changing), "",
                  "| instance | name | region | change |", "|---|---|---|---|"]
        for entry in changing:
            for change in entry["changes"]:
                versions = " → ".join(v for v in (change["before"], change["after"]) if v)
                shown = " (%s)" % versions if versions else ""
                lines.append("| `%s` | %s | %s | %s %s%s |" % (
                    entry["instance_id"], _cell(entry["name"]), entry["region"], change["action"], _cell(change["item"]),
                    shown))
        lines += ["", "</details>"]
    if blocked:
        lines += ["", "<details><summary>Blocked (%d instance(s))</summary>" % len(blocked), "",
                  "| instance | name | what | why |", "|---|---|---|---|"]
        for entry in blocked:
            for item in entry["blocked"]:
                lines.append("| `%s` | %s | %s | %s: %s |" % (entry["instance_id"], _cell(entry["name"]),
                                                              _cell(item["item"]), item["result"], _cell(item["reason"])))
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _cell(text):
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def ecs_junit(rows, suite="alibabacloud.ecs_ops"):
    """JUnit XML: one test case per row (instance and action). Failed, cancelled or unfinished rows are failures;
    skipped, busy, unreachable, unsupported and not run rows are skipped; the rest pass."""
    cases, failures, skipped = [], 0, 0
    for row in rows or []:
        name = "%s %s" % (row.get("action") or "check", row.get("item") or row.get("extension") or "")
        case = ElementTree.Element("testcase", classname="%s.%s" % (suite, row["instance_id"]), name=name.strip())
        if row.get("instance_name"):
            case.set("file", str(row["instance_name"]))
        result = row.get("result") or ""
        message = "%s: %s" % (result, row.get("message") or "")
        if result in FAILED or row.get("verified") not in (None, "", "ok", "not_run", "unreachable"):
            failures += 1
            ElementTree.SubElement(case, "failure", message=message, type=result or "failed").text = message
        elif result in SKIPPED:
            skipped += 1
            ElementTree.SubElement(case, "skipped", message=message)
        cases.append(case)
    root = ElementTree.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures), errors="0",
                               skipped=str(skipped))
    testsuite = ElementTree.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                                       errors="0", skipped=str(skipped))
    testsuite.extend(cases)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


class FilterModule:
    def filters(self):
        return {"ecs_extension_changes": ecs_extension_changes, "ecs_plan": ecs_plan,
                "ecs_plan_markdown": ecs_plan_markdown, "ecs_junit": ecs_junit}
