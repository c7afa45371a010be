# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the policy of a patch round, pure: its options (maintenance window,
failure budget, disruption budget per zone, reboot policy), the runner's guards built from them, and what
the report says about them."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.rollout import (
    Guards,
    budget_value,
    failure_allowance,
    zone_limits,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import window_problems

REBOOT_CHOICES = ("if_required", "never", "later", "always")


def policy_options(p):
    """(problems, normalised) for the policy options of oos_patch_run. ``normalised`` holds ``reboot`` (the
    effective policy), ``window`` (a ``_window.Window`` or None), ``window_margin`` (seconds) and
    ``zone_disruption_budget`` (a ``budget_value`` or None)."""
    problems = []
    install = p["action"] == "install"
    if p.get("reboot") is not None and p.get("reboot_if_need") is not None:
        problems.append("give reboot or the older reboot_if_need, not both")
    if not install:
        problems.extend("%s only applies to action=install" % name for name, given in (
            ("reboot", p.get("reboot") is not None), ("reboot_if_need", p.get("reboot_if_need"))) if given)
    reboot = p.get("reboot") or ("if_required" if p.get("reboot_if_need") else "never")
    window_issues, window, margin = window_problems(p.get("window"), p.get("window_margin"))
    problems.extend(window_issues)
    if p.get("window_end") == "cancel" and p.get("window") is None:
        problems.append("window_end=cancel needs a window")
    percent = p.get("max_failure_percent")
    if percent is not None and not 0 <= percent <= 100:
        problems.append("max_failure_percent must be from 0 to 100, got %s" % percent)
    budget = None
    if p.get("zone_disruption_budget") not in (None, ""):
        budget, problem = budget_value(p["zone_disruption_budget"], "zone_disruption_budget")
        if problem:
            problems.append(problem)
    if not p["wait"]:
        for name, given in (("max_failure_percent", percent is not None), ("zone_disruption_budget", budget),
                            ("window_end=cancel", p.get("window_end") == "cancel"),
                            ("reboot=always", reboot == "always" and install)):
            if given:
                problems.append("%s needs wait=true (it is applied while the task waits)" % name)
    return problems, dict(reboot=reboot, window=window, window_margin=margin, zone_disruption_budget=budget)


def guards(p, state, clock_now, zone_of, work_count):
    """The runner's guards: the last start and the cancel time of the window ``state`` (``window_state``, or
    None) on the runner's clock (``clock_now`` is its reading at the moment ``state`` was judged), the failure
    allowance over the ``work_count`` instances to change, and the zone limits."""
    start_until = cancel_at = None
    note = ""
    if state is not None:
        start_until = clock_now + state["seconds_left"]
        if p["window_end"] == "cancel":
            cancel_at = clock_now + state["seconds_to_end"]
        note = "the maintenance window closes at %s (no batch starts in its last %s)" % (
            state["end_local"], state["margin"])
    allowance = note_budget = None
    if p["max_failure_percent"] is not None:
        allowance = failure_allowance(work_count, p["max_failure_percent"])
        note_budget = ": max_failure_percent=%s of %d instance(s)" % (_number(p["max_failure_percent"]), work_count)
    limits = zone_limits(zone_of, p["zone_disruption_budget"]) if p["zone_disruption_budget"] else {}
    return Guards(start_until=start_until, start_note=note, cancel_at=cancel_at, failure_allowance=allowance,
                  failure_note=note_budget or "", zone_of=zone_of, zone_limits=limits)


def _number(value):
    return ("%g" % value) if isinstance(value, float) else str(value)


def outside_window_message(state):
    """Why nothing starts now, and when it could."""
    if state["in_margin"]:
        why = "the maintenance window closes at %s, within window_margin (%s)" % (
            state["current_end_local"], state["margin"])
    else:
        why = "outside the maintenance window"
    return "%s; the next window opens at %s (%s) and closes at %s" % (
        why, state["start_local"], state["start"], state["end_local"])


def deferred_entry(entry, state, plan_message=""):
    """An entry that a run now does not touch because the window is closed (check mode: what it would do in
    the next window)."""
    message = "not started: %s" % outside_window_message(state)
    if plan_message:
        message += "; in that window: %s" % plan_message
    entry.update(result="deferred", message=message)
    return entry


def window_cancelled_entry(entry, execution_id):
    """An entry of an execution cancelled at the window's end (``window_end=cancel``): one it had not reached is
    deferred; one it was patching is cancelled, its state possibly partial."""
    if entry["result"] != "cancelled":
        return entry
    if entry["child_execution_id"]:
        entry["message"] = ("cancelled while being patched when the maintenance window ended (window_end=cancel "
                            "cancelled %s): its patches may be partly installed; scan it" % execution_id)
    else:
        entry.update(result="deferred", message="not started: the maintenance window ended (window_end=cancel "
                                                "cancelled %s before it reached this instance)" % execution_id)
    return entry


def reboot_pending(entries):
    """{region: [instance ids]} whose installed patches still wait for a reboot (sorted), for a reboot step."""
    pending = {}
    for entry in entries:
        if entry["reboot_required"] and entry["result"] != "unreachable":
            pending.setdefault(entry["region"], []).append(entry["instance_id"])
    return {region: sorted(ids) for region, ids in sorted(pending.items())}


def budget_verdict(entries, p, work_count, stopped_by_budget):
    """The failure message when ``max_failure_percent`` is exceeded, else "" (failures within it are tolerated)."""
    if p["max_failure_percent"] is None:
        return ""
    allowance = failure_allowance(work_count, p["max_failure_percent"])
    failed = [e for e in entries if e["result"] == "failed"]
    if len(failed) <= allowance and not stopped_by_budget:
        return ""
    held = sum(1 for e in entries if e["result"] == "cancelled" and "failure budget" in e["message"])
    shown = "; ".join("%s: %s" % (e["instance_id"], e["message"]) for e in failed[:10])
    return ("Failure budget exceeded: %d of %d instance(s) failed, max_failure_percent=%s allows %d; %d instance(s) "
            "were not started: %s" % (len(failed), work_count, _number(p["max_failure_percent"]), allowance, held,
                                      shown))


def window_summary(state):
    """The ``window`` return value: the opening the run was judged against (None without a window)."""
    if state is None:
        return None
    keep = ("open", "start", "end", "stop_starting_at", "start_local", "end_local", "stop_starting_at_local",
            "timezone", "margin")
    return {k: state[k] for k in keep}
