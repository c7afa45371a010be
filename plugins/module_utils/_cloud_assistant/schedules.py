# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: schedules — periodic Cloud Assistant invocations managed by name.

A schedule is one invocation (``RepeatMode`` Period, EveryReboot or NextRebootOnly) carrying the tags
``ecs-ops-schedule`` (its name) and ``ecs-ops-schedule-spec`` (a digest of everything that defines it), and
``ecs-ops-secret-parameters`` when some parameter values are secret (their names, never the values). A run finds
it again, on any machine, with DescribeInvocations filtered by the name tag and ``Timed`` (true: the invocations
that will still run; false: the ones that ended, read only when a one-shot schedule may have run already).

What runs is compared with what is asked in two ways: the digest (the options as given, secret values left out)
and the fields DescribeInvocations returns that ModifyInvocationAttribute can change in place without touching the
tags: the command (content or id), the frequency, the parameter values (secret ones in memory only) and the
instances. Cloud Assistant cannot drop an instance from a running invocation, so a schedule that differs is
replaced: stopped, then started again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import frequency as freq
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.invocations import invocation_tags, outcome
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import MASK, tagged_names
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import canonical

NAME_TAG = "ecs-ops-schedule"
SPEC_TAG = "ecs-ops-schedule-spec"
ACTIVE = frozenset(("Pending", "Running", "Scheduled"))
STOPPED = frozenset(("Stopping", "Stopped"))
REPEAT_MODES = ("Period", "EveryReboot", "NextRebootOnly")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")
COMMAND_NAME_PREFIX = "ecs-ops-schedule-"
MAX_INSTANCES = 100
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def spec_digest(spec):
    """32 hex characters naming ``spec`` (what defines a schedule; secret values are never part of it)."""
    return hashlib.sha256(canonical(spec).encode("utf-8")).hexdigest()[:32]


def is_one_shot(repeat_mode, frequency):
    """True for a schedule that runs once (``at()``, NextRebootOnly): once it ran, it is done, not missing."""
    return repeat_mode == "NextRebootOnly" or (repeat_mode == "Period" and freq.kind(frequency) == "at")


def _decode(content):
    try:
        return base64.b64decode(content or "", validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return content or ""


def _parameters(text):
    """The parameter values of an invocation ({name: text}), or None when the API's text is not a JSON object."""
    try:
        values = json.loads(text or "{}")
    except ValueError:
        return None
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()} \
        if isinstance(values, dict) else None


def _time(text):
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def _show(moment):
    return moment.strftime(TIME_FORMAT) if moment else ""


def instance_record(item):
    """One instance of a schedule: its status and the result of its latest run, as DescribeInvocations gives them."""
    status = item.get("InvocationStatus") or ""
    repeats = int(item.get("Repeats") or 0)
    return dict(instance_id=item.get("InstanceId", ""), status=status,
                result=outcome(status, item.get("ErrorCode") or "", repeats), runs=repeats,
                exit_code=item.get("ExitCode") if repeats else None, error_code=item.get("ErrorCode") or "",
                error_info=item.get("ErrorInfo") or "", last_start=item.get("StartTime") or "",
                last_finish=item.get("FinishTime") or "", stopped=item.get("StopTime") or "")


def next_run(view):
    """When an active schedule runs next, where the documented rules tell it from what the API returns: a rate
    runs one period after its creation and then every period from the creation time; an at() once, at its time.
    Empty for cron (its instant depends on a time zone the instance may supply) and for reboots."""
    if not view["active"] or view["repeat_mode"] != "Period":
        return ""
    period = freq.rate_seconds(view["frequency"])
    created = _time(view["created"])
    if period and created:
        last = _time(view["last_run"])
        runs = int((last - created).total_seconds() // period) + 1 if last and last > created else 1
        return _show(created + timedelta(seconds=runs * period))
    instant = freq.at_instant(view["frequency"])
    return _show(instant) if instant and not view["runs"] else ""


def schedule_view(raw, redactor):
    """The collection's view of a tagged invocation from DescribeInvocations. Secret parameter values (named by
    the ``ecs-ops-secret-parameters`` tags) are masked in ``parameters`` and remembered by ``redactor``; the raw
    values stay in ``_values`` for comparisons and never leave the module (``public`` drops them)."""
    tags = invocation_tags(raw)
    records = [instance_record(i) for i in (raw.get("InvokeInstances") or {}).get("InvokeInstance") or []]
    status = raw.get("InvocationStatus") or ""
    values = _parameters(raw.get("Parameters"))
    secret_names = sorted(tagged_names(tags))
    starts = [s for s in (_time(r["last_start"]) for r in records) if s]
    frequency = raw.get("Frequency") or ""
    view = dict(
        name=tags.get(NAME_TAG, ""), invoke_id=raw.get("InvokeId", ""), status=status, active=status in ACTIVE,
        repeat_mode=raw.get("RepeatMode") or "", frequency=frequency,
        timezone=freq.split_zone(frequency)[1] if raw.get("RepeatMode") == "Period" else "",
        spec_digest=tags.get(SPEC_TAG, ""), command_id=raw.get("CommandId") or "",
        command_name=raw.get("CommandName") or "", command_type=raw.get("CommandType") or "",
        command=_decode(raw.get("CommandContent")),
        instance_ids=sorted(r["instance_id"] for r in records), instances=records,
        parameters=redactor.mask(values, secret_names) if values is not None else raw.get("Parameters") or "",
        secret_parameter_names=secret_names, username=raw.get("Username") or "", timeout=raw.get("Timeout"),
        working_dir=raw.get("WorkingDir") or "", created=raw.get("CreationTime") or "",
        runs=sum(r["runs"] for r in records), last_run=_show(max(starts)) if starts else "",
        failed_instances=sorted(r["instance_id"] for r in records if r["result"] == "failed"), _values=values)
    view["next_run"] = next_run(view)
    return view


def public(view):
    """``view`` without what must not leave the module (the raw parameter values)."""
    return {k: v for k, v in view.items() if not k.startswith("_")}


def find_schedules(api, redactor, name=None, ended=False):
    """The invocations of the region tagged as a schedule (of ``name``), oldest first, as ``schedule_view``s:
    those that will still run (``Timed=true``) and, with ``ended``, those that ended (``Timed=false``)."""
    tag = dict(Key=NAME_TAG, Value=name) if name else dict(Key=NAME_TAG)
    found = {}
    for timed in (True, False) if ended else (True,):
        for raw in list_all(lambda q: api.call("DescribeInvocations", q),
                            {"Tag": [tag], "Timed": timed, "MaxResults": 50}, ("Invocations", "Invocation")):
            found.setdefault(raw.get("InvokeId"), raw)
    views = [schedule_view(r, redactor) for r in found.values()]
    views = [v for v in views if v["name"] and (name is None or v["name"] == name)]
    return sorted(views, key=lambda v: (v["created"], v["invoke_id"]))


def live_differences(view, desired):
    """What an invocation runs that differs from ``desired`` in the fields DescribeInvocations returns, so changes
    made in place (ModifyInvocationAttribute) are seen: ``command``, ``repeat_mode``, ``frequency``,
    ``parameters``, ``secret_parameters`` (compared in memory, never shown), ``instance_ids``.

    ``desired``: ``command`` (inline text or None), ``command_id``, ``repeat_mode``, ``frequency``, ``values``
    (every parameter value as text), ``secret_names``, ``wanted`` (the instances it should run on) and
    ``ignored`` (instances that may be missing from it: unreachable ones left out when it started).
    """
    found = []
    if desired["command"] is not None and view["command"] != desired["command"]:
        found.append("command")
    if desired["command"] is None and view["command_id"] != desired["command_id"]:
        found.append("command")
    if view["repeat_mode"] != desired["repeat_mode"]:
        found.append("repeat_mode")
    elif desired["repeat_mode"] == "Period" and " ".join(view["frequency"].split()) != desired["frequency"]:
        found.append("frequency")
    live = view["_values"]
    if live is not None:
        secret = set(desired["secret_names"])
        for kind, names in (("parameters", [k for k in set(live) | set(desired["values"]) if k not in secret]),
                            ("secret_parameters", secret)):
            if any(live.get(k) != desired["values"].get(k) for k in names):
                found.append(kind)
    running = set(view["instance_ids"])
    if running - set(desired["wanted"]) or set(desired["wanted"]) - running - set(desired["ignored"]):
        found.append("instance_ids")
    return found


def plan_schedule(found, state, digest="", differences=None, one_shot=False):
    """What to do with the schedules ``found`` (of one name) to reach ``state``.

    ``differences(view)`` lists how an active invocation differs from what is asked (``live_differences``); one
    matches when its spec digest is ``digest`` and nothing differs. Returns ``dict(keep, stop, start, reason,
    differences)``: ``keep`` the invocation that stays (or None), ``stop`` those to stop, ``start`` whether a new
    one must start, ``differences`` what differs in the invocation replaced. A one-shot schedule (``at()``,
    NextRebootOnly) that ended after running with the same spec is done: kept, not started again. Invocations
    stopped (by anyone) are history and never count.
    """
    active = [v for v in found if v["active"]]
    if state == "absent":
        return dict(keep=None, stop=active, start=False, differences=[],
                    reason="stop %d invocation(s)" % len(active) if active else "no schedule runs under this name")
    seen = {v["invoke_id"]: differences(v) if v["spec_digest"] == digest else ["spec"] for v in active}
    matching = [v for v in active if not seen[v["invoke_id"]]]
    if matching:
        keep = matching[0]
        others = [v for v in active if v is not keep]
        return dict(keep=keep, stop=others, start=False, differences=[],
                    reason="up to date" + ("; %d other invocation(s) of this name stopped" % len(others)
                                           if others else ""))
    done = [v for v in found if not v["active"] and v["status"] not in STOPPED and v["spec_digest"] == digest]
    if one_shot and done:
        return dict(keep=done[-1], stop=active, start=False, differences=[],
                    reason="ran already (%s)" % done[-1]["status"])
    if active:
        what = seen[active[0]["invoke_id"]]
        return dict(keep=None, stop=active, start=True, differences=what,
                    reason="replace: %s differs from what is asked" % (
                        "the specification" if what == ["spec"] else ", ".join(what)))
    return dict(keep=None, stop=[], start=True, differences=[], reason="create")


def shown_parameters(values, secret_names, changed=False):
    """Parameter values for a diff or a result: secret ones masked (``(changed)`` when they differ)."""
    return {k: (MASK + (" (changed)" if changed else "")) if k in secret_names else v for k, v in values.items()}
