# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: what an extension install does on each instance — a pure function
of the desired state and what was read (instance view, installed package), with no API access."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.templates import (
    platform_matches,
    version_number,
)

INSTALL, UPDATE, UNINSTALL, NONE, SKIP = "install", "update", "uninstall", "none", "skip"
UNKNOWN = "unknown"     # never planned: its package state was not read before the task ended
MUTATING_ACTIONS = (INSTALL, UPDATE, UNINSTALL)
ABSENT = "absent"


class Desired:
    """What the task asks for: ``state`` (present, latest, absent), the target version, ``force``, the
    parameters the user gave (``wanted``, secret ones left out) and whether drift is reinstalled."""

    def __init__(self, state, target_version, force=False, platforms=None, wanted=None, reinstall_on_drift=False):
        self.state = state
        self.target_version = target_version
        self.force = force
        self.platforms = list(platforms or [])
        self.wanted = dict(wanted or {})
        self.reinstall_on_drift = reinstall_on_drift


def _text(value):
    return str(value).lower() if isinstance(value, bool) else str(value)


def drift(wanted, installed):
    """{name: {installed, wanted}} for each parameter the user gave whose value differs from what OOS recorded
    at install (the package state's ``Parameters``); a parameter OOS did not record counts as drift too."""
    recorded = (installed or {}).get("parameters") or {}
    found = {}
    for name, value in wanted.items():
        if name not in recorded or _text(recorded[name]) != _text(value):
            found[name] = dict(installed=recorded.get(name), wanted=value)
    return found


def _drift_text(found):
    return ", ".join("%s: %s installed, %s wanted" % (n, "(not recorded)" if d["installed"] is None else d["installed"],
                                                      d["wanted"]) for n, d in sorted(found.items()))


def _older(installed, target):
    a, b = version_number(installed), version_number(target)
    if a is None or b is None:
        return installed != target
    return a < b


def _wanted_action(desired, installed):
    """(action, message) ignoring reachability."""
    version = (installed or {}).get("version") or ""
    if desired.state == ABSENT:
        if installed is None:
            return NONE, "not installed"
        return UNINSTALL, "%s installed; will be uninstalled" % version
    if installed is None:
        return INSTALL, "not installed; will install %s" % desired.target_version
    if desired.force:
        return UPDATE, "%s installed; force reinstalls %s" % (version, desired.target_version)
    if desired.state == "latest" and _older(version, desired.target_version):
        return UPDATE, "%s installed; will update to %s" % (version, desired.target_version)
    found = drift(desired.wanted, installed)
    if found and desired.reinstall_on_drift:
        return UPDATE, "%s installed with other parameters (%s); will reinstall %s" % (
            version, _drift_text(found), desired.target_version)
    kept = "%s installed" % version if version == desired.target_version else \
        "%s installed (state=%s keeps it)" % (version, desired.state)
    if found:
        return NONE, "%s, with other parameters (%s); reinstall_on_drift=true applies them" % (kept, _drift_text(found))
    return NONE, kept


def blocker(desired, view, action):
    """(kind, why) ``action`` cannot run on the instance: kind ``unsupported`` (its OS) or ``unreachable``
    (missing, stopped, no online agent); ("", "") if it can."""
    if not view["exists"]:
        return "unreachable", view["reason"]
    if action in (INSTALL, UPDATE) and not platform_matches(desired.platforms, view["os_type"], view["os_name"]):
        return "unsupported", "the extension supports only %s; the instance runs %s" % (
            ", ".join(desired.platforms), view["os_name"] or view["os_type"] or "an unknown OS")
    return ("unreachable", view["reason"]) if view["reason"] else ("", "")


def plan_instance(desired, view, installed):
    """The plan for one instance: action, expected version after, message and, if it cannot be acted on, why."""
    previous = (installed or {}).get("version") or ""
    found = {}
    if not view["exists"]:
        action, message, (kind, reason) = SKIP, "", ("unreachable", view["reason"])
    else:
        action, message = _wanted_action(desired, installed)
        if installed is not None and desired.state != ABSENT:
            found = drift(desired.wanted, installed)
        kind, reason = blocker(desired, view, action) if action in MUTATING_ACTIONS else ("", "")
        if reason:
            action = SKIP
    if action in (INSTALL, UPDATE):
        expected = desired.target_version
    elif action == UNINSTALL:
        expected = ""
    else:
        expected = previous
    return dict(
        instance_id=view["instance_id"],
        region=view["region"],
        name=view.get("name", ""),
        action=action,
        previous_version=previous,
        new_version=expected,
        message=reason or message,
        unreachable=kind == "unreachable" and bool(reason),
        unsupported=kind == "unsupported",
        drift=found,
    )


def plan(desired, views, installed_by_id):
    """{instance id: plan_instance(...)} in the order of ``views``."""
    return {i: plan_instance(desired, v, installed_by_id.get(i)) for i, v in views.items()}


def summarise_plan(entries):
    """Counts per planned action (``to_update``, not ``update``: Jinja would find the dict method)."""
    counts = dict(total=0, to_install=0, to_update=0, to_uninstall=0, unchanged=0, unreachable=0, unsupported=0,
                  drifted=0)
    for entry in entries:
        counts["total"] += 1
        counts["drifted"] += int(bool(entry.get("drift")))
        if entry["action"] == NONE:
            counts["unchanged"] += 1
        elif entry["action"] == SKIP:
            counts["unsupported" if entry.get("unsupported") else "unreachable"] += 1
        elif entry["action"] in MUTATING_ACTIONS:
            counts["to_" + entry["action"]] += 1
    return counts


def plan_diff(entries):
    """``diff`` before/after: the installed version (or ``absent``) of every instance that would change."""
    changing = [e for e in entries if e["action"] in MUTATING_ACTIONS]
    before = {e["instance_id"]: e["previous_version"] or ABSENT for e in changing}
    after = {e["instance_id"]: e["new_version"] or ABSENT for e in changing}
    return dict(before=before, after=after)
