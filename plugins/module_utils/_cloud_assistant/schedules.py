# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: schedules — periodic Cloud Assistant invocations managed by name.

A schedule is a ``RepeatMode=Period`` invocation carrying two tags: ``ecs-ops-schedule`` (its name) and
``ecs-ops-schedule-spec`` (a digest of everything that defines it: command, type, targets, frequency with its time
zone, parameters, user, timeout, working directory). DescribeInvocations filters by tag, so any run on any machine
finds a schedule again by name, and the digest tells whether what runs is what is asked without trusting how the
API echoes each field. Cloud Assistant cannot rename or retarget a running invocation, so a changed schedule is
replaced: the old invocation is stopped, then a new one started.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime, timedelta, timezone

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.content import (
    AT_RE,
    rate_seconds,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import canonical

NAME_TAG = "ecs-ops-schedule"
SPEC_TAG = "ecs-ops-schedule-spec"
ACTIVE = frozenset(("Pending", "Running", "Scheduled"))
STOPPED = frozenset(("Stopping", "Stopped"))
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")
GMT_RE = re.compile(r"^GMT[+-]\d{1,2}(:\d{2})?$")
MAX_INSTANCES = 100


def timezone_problem(zone):
    """The problem with ``zone`` as a time zone of a Frequency (an IANA name such as Asia/Shanghai, or GMT+8),
    or None."""
    if GMT_RE.match(zone):
        return None
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # Python 3.9+
    except ImportError:   # pragma: no cover - older Pythons: the API judges the name
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return "timezone %r is not a time zone (an IANA name such as Asia/Shanghai, or GMT+8)" % zone
    return None


def frequency_zone(frequency):
    """The time zone a Frequency names itself, or ''."""
    match = AT_RE.match(frequency)
    if match:
        return (match.group(1) or "").strip()
    fields = frequency.split()
    if len(fields) == 8 or (len(fields) == 7 and re.search(r"[A-Za-z/]", fields[6]) and fields[6] != "?"):
        return fields[-1]
    return ""


def with_timezone(frequency, zone):
    """``frequency`` in ``zone``: ``at(... zone)``, or a cron expression with the zone as its last field. A rate
    has no time zone."""
    if not zone:
        return frequency
    if frequency.startswith("at("):
        return frequency[:-1] + " " + zone + ")"
    return frequency + " " + zone


def spec_digest(spec):
    """32 hex characters naming ``spec`` (what defines a schedule; secret values are never part of it)."""
    return hashlib.sha256(canonical(spec).encode("utf-8")).hexdigest()[:32]


def _tags(raw):
    return {t.get("TagKey"): t.get("TagValue", "") for t in (raw.get("Tags") or {}).get("Tag") or []}


def _decode(content):
    try:
        return base64.b64decode(content or "", validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return content or ""


def _parse_time(text):
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def schedule_view(raw):
    """The collection's view of a tagged invocation from DescribeInvocations."""
    tags = _tags(raw)
    instances = (raw.get("InvokeInstances") or {}).get("InvokeInstance") or []
    starts = [s for s in (_parse_time(i.get("StartTime")) for i in instances) if s]
    last = max(starts) if starts else None
    status = raw.get("InvocationStatus") or ""
    period = rate_seconds(raw.get("Frequency") or "")
    next_run = ""
    if status in ACTIVE and period and last:
        next_run = (last + timedelta(seconds=period)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dict(
        name=tags.get(NAME_TAG, ""), invoke_id=raw.get("InvokeId", ""), status=status, active=status in ACTIVE,
        frequency=raw.get("Frequency") or "", spec_digest=tags.get(SPEC_TAG, ""),
        command_id=raw.get("CommandId") or "", command_name=raw.get("CommandName") or "",
        command_type=raw.get("CommandType") or "", command=_decode(raw.get("CommandContent")),
        instance_ids=sorted(i.get("InstanceId", "") for i in instances),
        parameters=raw.get("Parameters") or "{}", username=raw.get("Username") or "",
        timeout=raw.get("Timeout"), working_dir=raw.get("WorkingDir") or "",
        created=raw.get("CreationTime") or "", runs=sum(int(i.get("Repeats") or 0) for i in instances),
        last_run=last.strftime("%Y-%m-%dT%H:%M:%SZ") if last else "", next_run=next_run,
        failed_instances=sorted(i.get("InstanceId", "") for i in instances
                                if i.get("InvocationStatus") in ("Failed", "Timeout", "Error", "Invalid", "Aborted")),
    )


def find_schedules(api, name=None):
    """Every invocation of the region tagged as a schedule (of ``name``), oldest first, as ``schedule_view``s."""
    tag = dict(Key=NAME_TAG, Value=name) if name else dict(Key=NAME_TAG)
    raw = list_all(lambda q: api.call("DescribeInvocations", q), {"Tag": [tag], "MaxResults": 50},
                   ("Invocations", "Invocation"))
    views = [schedule_view(r) for r in raw]
    views = [v for v in views if v["name"] and (name is None or v["name"] == name)]
    return sorted(views, key=lambda v: (v["created"], v["invoke_id"]))


def plan_schedule(digest, found, state, one_shot=False):
    """What to do with the schedules ``found`` (of one name) to reach ``state`` with the spec ``digest``.

    Returns ``dict(keep, stop, start, reason)``: ``keep`` the invocation that stays (or None), ``stop`` the
    invocations to stop, ``start`` whether a new one must start. Stopped invocations are history and ignored.
    A one-shot schedule (``at()``) that already ran with the same spec is kept as done, not started again.
    """
    live = [v for v in found if v["status"] not in STOPPED]
    active = [v for v in live if v["active"]]
    if state == "absent":
        return dict(keep=None, stop=active, start=False,
                    reason="stop %d invocation(s)" % len(active) if active else "no schedule runs under this name")
    matching = [v for v in active if v["spec_digest"] == digest]
    if matching:
        keep = matching[0]
        others = [v for v in active if v is not keep]
        reason = "up to date" if not others else "up to date; %d other invocation(s) of this name stopped" % len(others)
        return dict(keep=keep, stop=others, start=False, reason=reason)
    done = [v for v in live if not v["active"] and v["spec_digest"] == digest]
    if one_shot and done and not active:
        return dict(keep=done[-1], stop=[], start=False, reason="ran already (%s)" % done[-1]["status"])
    if active:
        return dict(keep=None, stop=active, start=True, reason="replace: the schedule differs from what is asked")
    return dict(keep=None, stop=[], start=True, reason="create")
