# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: what an extension install does on each instance — a pure function
of the desired state and what was read (instance view, installed package), with no API access."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions import (
    platform_matches,
    version_number,
)

INSTALL, UPDATE, UNINSTALL, NONE, SKIP = "install", "update", "uninstall", "none", "skip"
MUTATING_ACTIONS = (INSTALL, UPDATE, UNINSTALL)
ABSENT = "absent"


class Desired:
    """What the task asks for: ``state`` (present, latest, absent), the target version and ``force``."""

    def __init__(self, state, target_version, force=False, platforms=None):
        self.state = state
        self.target_version = target_version
        self.force = force
        self.platforms = list(platforms or [])


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
    if version == desired.target_version:
        return NONE, "%s installed" % version
    return NONE, "%s installed (state=%s keeps it)" % (version, desired.state)


def unreachable_reason(desired, view, action):
    """Why ``action`` cannot run on the instance now, or ""."""
    if not view["exists"]:
        return view["reason"]
    if action in (INSTALL, UPDATE) and not platform_matches(desired.platforms, view["os_type"], view["os_name"]):
        return "the extension supports only %s; the instance runs %s" % (
            ", ".join(desired.platforms), view["os_name"] or view["os_type"] or "an unknown OS")
    return view["reason"]


def plan_instance(desired, view, installed):
    """The plan for one instance: action, expected version after, message and, if it cannot be acted on, why."""
    previous = (installed or {}).get("version") or ""
    if not view["exists"]:
        action, message, reason = SKIP, "", view["reason"]
    else:
        action, message = _wanted_action(desired, installed)
        reason = unreachable_reason(desired, view, action) if action in MUTATING_ACTIONS else ""
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
        unreachable=bool(reason),
    )


def plan(desired, views, installed_by_id):
    """{instance id: plan_instance(...)} in the order of ``views``."""
    return {i: plan_instance(desired, v, installed_by_id.get(i)) for i, v in views.items()}


def summarise_plan(entries):
    """Counts per planned action (``to_update``, not ``update``: Jinja would find the dict method)."""
    counts = dict(total=0, to_install=0, to_update=0, to_uninstall=0, unchanged=0, unreachable=0)
    for entry in entries:
        counts["total"] += 1
        if entry["action"] == NONE:
            counts["unchanged"] += 1
        elif entry["action"] == SKIP:
            counts["unreachable"] += 1
        else:
            counts["to_" + entry["action"]] += 1
    return counts


def plan_diff(entries):
    """``diff`` before/after: the installed version (or ``absent``) of every instance that would change."""
    changing = [e for e in entries if e["action"] in MUTATING_ACTIONS]
    before = {e["instance_id"]: e["previous_version"] or ABSENT for e in changing}
    after = {e["instance_id"]: e["new_version"] or ABSENT for e in changing}
    return dict(before=before, after=after)
