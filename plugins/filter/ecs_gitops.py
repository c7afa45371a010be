# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for GitOps pipelines: desired extensions per host grouped into changes, plans for pull requests, JUnit.

``ecs_extension_changes`` groups the hosts of a rollout by the exact change they need, so that hosts wanting the same
extension, version, state and parameters share module calls (and so OOS executions). ``ecs_patch_rows`` turns the
patch_management role's module results into per-instance rows like extension_rollout's. ``ecs_plan`` and
``ecs_plan_markdown`` turn the roles' per-instance rows into a plan a pipeline can read and a pull request can show;
``ecs_junit`` turns them into JUnit XML, one test case per instance and action. ``ecs_schedule_blocked`` names the
hosts a schedule targets but does not run on.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from xml.etree import ElementTree

from ansible.errors import AnsibleFilterError

HOST_VARIABLE = "extension_rollout_extensions"
CHANGE_ACTIONS = ("install", "update", "uninstall", "patch", "reboot", "snapshot")
FAILED = ("failed", "cancelled", "pending")
HOOK_OUTPUT_SHOWN = 500     # characters of a hook's output in a report row (the module keeps 2 KB)
SKIPPED = ("skipped", "held", "busy", "unreachable", "unsupported", "not_run", "blocked", "deferred", "not_opted_in")
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
WOULD_PRUNE = "not_opted_in"   # a prune the role would make with extension_rollout_prune: true


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
    changes, keys, seen, problems, parameters = {}, {}, set(), [], {}
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
                parameters[changes[key]["key"]] = dict(ext.get("parameters") or {})
            if (key, target["instance_id"]) not in seen:
                seen.add((key, target["instance_id"]))
                changes[key]["targets"].append(dict(target))
    if problems:
        raise AnsibleFilterError("ecs_extension_changes: " + "; ".join(sorted(set(problems))))
    listed = list(changes.values())
    _label(listed, parameters)
    return listed


def _label(changes, parameters):
    """A short name per change for report columns: the name, the version unless latest, the state unless present,
    and where two changes would still read the same, their non-secret parameters (``parameters``: change key ->
    dict), then a number."""
    labels = [c["name"] + ("" if c["version"] == "latest" else " " + c["version"])
              + ("" if c["state"] == "present" else " (%s)" % c["state"]) + (" (force)" if c["force"] else "")
              for c in changes]
    counts = Counter(labels)
    labels = [label + (" (%s)" % ", ".join("%s=%s" % item for item in sorted(parameters[c["key"]].items()))
                       if counts[label] > 1 and parameters[c["key"]] else "") for label, c in zip(labels, changes)]
    counts, seen = Counter(labels), Counter()
    for label, change in zip(labels, changes):
        seen[label] += 1
        change["label"] = label + (" #%d" % seen[label] if counts[label] > 1 and seen[label] > 1 else "")


def _item(row):
    return row.get("item") or row.get("extension") or ""


def _row_change(row):
    action = row.get("action") or ""
    if action in CHANGE_ACTIONS and row.get("result") in ("planned", "succeeded"):
        return dict(item=_item(row), action=action, before=row.get("version_before") or "",
                    after=row.get("version_after") or "", detail=row.get("message") or "", prune=bool(row.get("prune")))
    return None


def _row_blocked(row):
    if row.get("result") in SKIPPED or row.get("result") in FAILED:
        return dict(item=_item(row), result=row.get("result"), reason=row.get("message") or row.get("result"))
    return None


def ecs_plan(rows, kind="extension_rollout", generated="", targets=None):
    """A plan: per instance, the changes that would be made and what is blocked and why; a summary first.
    ``empty`` is true when nothing would change. ``targets`` ({instance_id, region}) adds the instances no row
    names (nothing to do there)."""
    instances = {}
    for target in targets or []:
        instances[target["instance_id"]] = dict(instance_id=target["instance_id"], name="",
                                                region=target.get("region") or "", changes=[], blocked=[],
                                                would_prune=[])
    for row in rows or []:
        entry = instances.setdefault(row["instance_id"], dict(
            instance_id=row["instance_id"], name=row.get("instance_name") or "", region=row.get("region") or "",
            changes=[], blocked=[], would_prune=[]))
        entry["name"] = entry["name"] or row.get("instance_name") or ""
        entry["region"] = entry["region"] or row.get("region") or ""
        change, blocked = _row_change(row), _row_blocked(row)
        if row.get("result") == WOULD_PRUNE:
            entry["would_prune"].append(dict(item=_item(row), before=row.get("version_before") or "",
                                             reason=row.get("message") or ""))
        elif change:
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
                   instances_unchanged=sum(1 for e in listed if not e["changes"] and not e["blocked"]),
                   would_prune=sum(len(e["would_prune"]) for e in listed))
    return dict(kind=kind, generated=generated, empty=summary["changes"] == 0, summary=summary, instances=listed)


def ecs_plan_markdown(plan, title="Plan", prune_option="extension_rollout_prune: true"):
    """The plan as a pull-request comment: the summary first, the details folded."""
    s = plan["summary"]
    actions = ", ".join("%d to %s" % (n, a) for a, n in sorted(s["by_action"].items())) or "nothing to change"
    lines = ["### %s: %s" % (title, "no changes" if plan["empty"] else "%d change(s)" % s["changes"]), "",
             "%d instance(s): %d would change (%s), %d blocked, %d already as wanted." % (
                 s["instances"], s["instances_changing"], actions, s["instances_blocked"], s["instances_unchanged"])]
    if s.get("would_prune"):
        lines += ["", "%d extension(s) would be pruned with the opt-in (%s), and are kept now." % (
            s["would_prune"], prune_option)]
    # The detail column says what the versions cannot: a reinstall for changed parameters keeps the version.
    lines += _folded(plan, "changes", "Changes", ("change", "detail"), lambda change: [
        "%s%s %s%s" % ("prune: " if change.get("prune") else "", change["action"], _cell(change["item"]),
                       " (%s)" % _versions(change) if _versions(change) else ""), _cell(change.get("detail"))])
    lines += _folded(plan, "would_prune", "Would prune, opt-in", ("extension", "why"), lambda item: [
        _cell(item["item"]) + (" (%s)" % item["before"] if item["before"] else ""), _cell(item["reason"])])
    lines += _folded(plan, "blocked", "Blocked", ("what", "why"), lambda item: [
        _cell(item["item"]), "%s: %s" % (item["result"], _cell(item["reason"]))])
    return "\n".join(lines) + "\n"


def _versions(change):
    return " → ".join(v for v in (change["before"], change["after"]) if v)


def _wants(variables, schedule):
    """Whether the inventory host with ``variables`` is one ``schedule`` (a gitops_schedules entry) targets."""
    if schedule.get("instance_ids"):
        return variables.get("ecs_instance_id") in schedule["instance_ids"]
    tags, wanted = variables.get("ecs_tags") or {}, schedule.get("instance_tags") or {}
    return bool(wanted) and all(k in tags and (v in (None, "") or str(tags[k]) == str(v)) for k, v in wanted.items())


def ecs_schedule_blocked(results, hosts=None, hostvars=None):
    """{schedule name: [{instance_id, name, reason}]}: per schedule task result (registered in a loop over
    ``gitops_schedules``), the inventory hosts it targets (by instance id or tags) that its invocation does not
    run on - left out with ``unreachable: skip`` - and why (the host's ``ecs_cloud_assistant.reason``)."""
    blocked = {}
    for result in results or []:
        schedule, running = _plain(result.get("item") or {}), (result.get("schedule") or {}).get("instance_ids")
        if running is None:
            continue
        for host in hosts or []:
            variables = hostvars[host] if hostvars is not None and host in hostvars else {}
            if _wants(variables, schedule) and variables.get("ecs_instance_id") not in running:
                agent = variables.get("ecs_cloud_assistant") or {}
                blocked.setdefault(str(schedule["name"]), []).append(dict(
                    instance_id=str(variables["ecs_instance_id"]), name=str(host),
                    reason=str(agent.get("reason") or variables.get("ecs_status") or "not in the schedule")))
    return blocked


def _folded(plan, key, title, columns, cells):
    """A <details> block with a table of the instances' ``key`` items: instance, name, region, then ``columns``."""
    entries = [e for e in plan["instances"] if e.get(key)]
    if not entries:
        return []
    header = ("instance", "name", "region") + tuple(columns)
    lines = ["", "<details><summary>%s (%d instance(s))</summary>" % (title, len(entries)), "",
             "| %s |" % " | ".join(header), "|%s" % ("---|" * len(header))]
    for entry in entries:
        for item in entry[key]:
            row = ["`%s`" % entry["instance_id"], _cell(entry["name"]), entry["region"]] + cells(item)
            lines.append("| %s |" % " | ".join(row))
    return lines + ["", "</details>"]


def _cell(text):
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def _outcome(row):
    """(JUnit element or None, its type, message) of one row."""
    result = row.get("result") or ""
    message = "%s: %s" % (result, row.get("message") or "") if row.get("message") else result
    verified = row.get("verified")
    if result in FAILED:
        return "failure", result, message
    if verified == "error":
        return "error", "verify", "the verification could not read the instance; %s" % message
    if verified not in (None, "", "ok", "not_run", "unreachable"):
        return "failure", "verify", "verification: %s (after %s)" % (verified, message)
    if result in SKIPPED:
        return "skipped", result, message
    return None, "", message


def ecs_junit(rows, suite="alibabacloud.ecs_ops"):
    """JUnit XML: one test case per row (instance and action), in the common schema (testsuites, testsuite,
    testcase with failure, error, skipped, system-out). Names stay the same from run to run: the class is the suite
    and the instance id, the name ``extension <name>``, ``prune <name>`` or the patch action (``scan``, ``patch``,
    ``snapshot``, ``reboot``); what was done is in the output. Failed, cancelled or unfinished rows, and rows whose
    verification found something left to do, are failures; a verification that could not read the instance is an
    error; skipped, held, busy, unreachable, unsupported, deferred, blocked, not run rows and prunes without the
    opt-in are skipped; the rest pass."""
    cases, counts = [], dict(failure=0, error=0, skipped=0)
    for row in rows or []:
        # the name stays the same from run to run (CI systems track a test by it): "extension node", "prune nginx",
        # "patch"; the action taken and the counts go to the output
        if row.get("extension"):
            name = "%s %s" % ("prune" if row.get("prune") else "extension", row["extension"])
        else:
            name = row.get("action") or "check"
        case = ElementTree.Element("testcase", classname="%s.%s" % (suite, row["instance_id"]), name=name.strip(),
                                   time="0")
        kind, kind_type, message = _outcome(row)
        if kind == "skipped":
            ElementTree.SubElement(case, "skipped", message=message)
        elif kind:
            ElementTree.SubElement(case, kind, message=message, type=kind_type).text = message
        if kind:
            counts[kind] += 1
        action = row.get("action") if row.get("extension") and row.get("action") not in (None, "", "none") else ""
        where = ", ".join(v for v in (row.get("instance_name"), row.get("region"), row.get("item"), action) if v)
        ElementTree.SubElement(case, "system-out").text = "%s%s" % ("%s: " % where if where else "", message)
        cases.append(case)
    totals = dict(tests=str(len(cases)), failures=str(counts["failure"]), errors=str(counts["error"]),
                  skipped=str(counts["skipped"]), time="0")
    root = ElementTree.Element("testsuites", name=suite, **totals)
    testsuite = ElementTree.SubElement(root, "testsuite", name=suite, **totals)
    testsuite.extend(cases)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _patch_row(instance_id, entry, action, item, result, message):
    return dict(instance_id=instance_id, instance_name=entry.get("name") or "", region=entry.get("region") or "",
                action=action, item=item, result=result, message=message)


def _hook_rows(instance_id, entry, stage):
    """A row for what oos_patch_run's ``stage`` hook did on the instance (none if it did not run there): its exit
    code, and the reason and the end of its output as the message."""
    verdict = (entry.get("hooks") or {}).get(stage)
    if not verdict:
        return []
    item = "exit code %s" % verdict["exit_code"] if verdict.get("exit_code") is not None else (
        verdict.get("status") or "no result")
    output = (verdict.get("output") or "").strip()
    message = "; ".join(x for x in (verdict.get("reason") or "", output[-HOOK_OUTPUT_SHOWN:]) if x)
    return [_patch_row(instance_id, entry, stage + "-hook", item, "succeeded" if verdict.get("passed") else "failed",
                       message)]


def _patch_rows_of(instance_id, entry, create_snapshot, reboot):
    result = entry.get("result") or ""
    missing = entry.get("missing_patches")
    if missing is not None:
        item = "%d missing patch(es)" % len(missing)
    elif entry.get("patches_installed") is not None:
        item = "%d patch(es) installed" % entry["patches_installed"]
    else:
        item = "approved missing patches"
    rows = _hook_rows(instance_id, entry, "pre")
    rows.append(_patch_row(instance_id, entry, "patch", item, result, entry.get("message") or ""))
    rows.extend(_hook_rows(instance_id, entry, "post"))
    if result == "planned" and create_snapshot:
        rows.append(_patch_row(instance_id, entry, "snapshot", "system disk", result,
                               "the install template snapshots the system disk first"))
    elif entry.get("snapshot_ids"):
        rows.append(_patch_row(instance_id, entry, "snapshot", ", ".join(entry["snapshot_ids"]), "succeeded",
                               "taken before the install"))
    pending = ((entry.get("before") or {}).get("installed_pending_reboot") or 0) > 0
    if result == "planned" and reboot == "if_required":
        rows.append(_patch_row(instance_id, entry, "reboot", "pending reboot" if pending else "if a patch needs it",
                               result, "a patch installed earlier waits for a reboot" if pending else
                               "reboot=if_required: the template reboots it when an installed patch needs it"))
    elif result == "planned" and reboot == "always":
        rows.append(_patch_row(instance_id, entry, "reboot", "after installing", result,
                               "reboot=always: every patched instance is rebooted, inside its batch"))
    elif entry.get("rebooted"):
        rows.append(_patch_row(instance_id, entry, "reboot", "after installing", "succeeded", "rebooted"))
    elif result not in ("planned", "") and entry.get("reboot_required") and reboot in ("never", "later"):
        rows.append(_patch_row(instance_id, entry, "reboot", "pending reboot", "deferred",
                               "installed patches wait for a reboot (reboot=%s)" % reboot))
    return rows


def ecs_patch_rows(install=None, before=None, not_ready=None, scan=None, blocked="", create_snapshot=False,
                   reboot="never", agents=None):
    """The patch_management role's rows (as extension_rollout's: instance, action, item, result, message): one
    per instance for the scan (``scan``, oos_patch_run's result), the install (``install``) and, where the install
    would snapshot or reboot (check mode), those too. Without an install, the non-compliant instances of ``before``
    (the compliance summary) are ``blocked`` with the reason ``blocked`` (the gate's decision); ``not_ready``
    ({instance id: reason}) are unreachable. ``agents`` (the registered ecs_cloud_assistant_info results of the
    preflight) name the instances."""
    names = {}
    for result in agents or []:
        for instance_id, view in ((result or {}).get("instances") or {}).items():
            names[instance_id] = (view or {}).get("name") or ""
    rows = _patch_rows(install, before, not_ready, scan, blocked, create_snapshot, reboot)
    for row in rows:
        row["instance_name"] = row["instance_name"] or names.get(row["instance_id"], "")
    return rows


def _patch_rows(install, before, not_ready, scan, blocked, create_snapshot, reboot):
    rows = []
    for instance_id, entry in ((scan or {}).get("instances") or {}).items():
        rows.append(_patch_row(instance_id, entry, "scan", "patch state", entry.get("result") or "",
                               entry.get("message") or ""))
    installed = (install or {}).get("instances") or {}
    for instance_id, entry in installed.items():
        rows.extend(_patch_rows_of(instance_id, entry, create_snapshot, reboot))
    if not installed and blocked:
        for entry in (before or {}).get("instances") or []:
            if not entry.get("compliant"):
                rows.append(_patch_row(entry["instance_id"], entry, "patch", "%d missing patch(es)" % (
                    entry.get("missing") or 0), "blocked", blocked))
    for instance_id, reason in (not_ready or {}).items():
        rows.append(_patch_row(instance_id, {}, "patch", "patches", "unreachable", reason))
    return rows


def _utc(text):
    return datetime.strptime(text, ISO_UTC).replace(tzinfo=timezone.utc)


def ecs_report_header(started, regions=None, account="", play="", playbook_dir="", awx_job_id="",
                      awx_job_template="", now=None):
    """The header of a role's reports: when they were generated (UTC), since when the run went (``started``, UTC,
    ``YYYY-MM-DDThh:mm:ssZ``) and so its duration, the account and regions it worked in, and what ran it (the play
    and its directory; the AWX job id and template when AWX set them)."""
    generated = _utc(now) if now else datetime.now(timezone.utc).replace(microsecond=0)
    try:
        duration = max(0, int((generated - _utc(started)).total_seconds())) if started else None
    except ValueError:
        duration = None
    minutes, seconds = divmod(duration or 0, 60)
    header = dict(generated=generated.strftime(ISO_UTC), started=started or "", duration_seconds=duration,
                  duration=("%d min %02d s" % (minutes, seconds) if minutes else "%d s" % seconds)
                  if duration is not None else "", account=str(account or ""),
                  regions=sorted({str(r) for r in regions or [] if r}), play=str(play or ""),
                  playbook_dir=str(playbook_dir or ""), awx_job_id=str(awx_job_id or ""),
                  awx_job_template=str(awx_job_template or ""))
    parts = ["generated %s UTC" % generated.strftime("%Y-%m-%d %H:%M:%S")
             + (" after %s" % header["duration"] if header["duration"] else "")]
    if header["account"]:
        parts.append("account %s" % header["account"])
    if header["regions"]:
        parts.append("region%s %s" % ("s" if len(header["regions"]) > 1 else "", ", ".join(header["regions"])))
    play = ('"%s"' % header["play"] if header["play"] else "",
            "(%s)" % header["playbook_dir"] if header["playbook_dir"] else "")
    if any(play):
        parts.append("play %s" % " ".join(v for v in play if v))
    if header["awx_job_id"]:
        template = " (%s)" % header["awx_job_template"] if header["awx_job_template"] else ""
        parts.append("AWX job %s%s" % (header["awx_job_id"], template))
    header["summary"] = " · ".join(parts)
    return header


class FilterModule:
    def filters(self):
        return {"ecs_extension_changes": ecs_extension_changes, "ecs_plan": ecs_plan,
                "ecs_plan_markdown": ecs_plan_markdown, "ecs_junit": ecs_junit, "ecs_patch_rows": ecs_patch_rows,
                "ecs_report_header": ecs_report_header, "ecs_schedule_blocked": ecs_schedule_blocked}
