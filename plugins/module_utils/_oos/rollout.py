# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the guard rails of a rollout that the execution runner (``_oos.runner``)
applies while it starts batches, pure: the time after which no batch starts (a maintenance window's end minus
its margin) and when running ones are cancelled, the failure budget across batches, and the disruption budget
per zone with the batch formation that holds it."""

from __future__ import annotations

import math
import re

_PERCENT_RE = re.compile(r"^\s*(\d{1,3})\s*%\s*$")


class Guards:
    """What limits the runner's starts. Times are instants of the runner's (monotonic) clock; None = no limit.

    ``start_until``: no batch starts at or after it (``start_note`` says why); ``cancel_at``: the runner
    cancels the executions it started that still run; ``failure_allowance``: the most failed instances
    allowed across batches before no more batch starts; ``zone_of``/``zone_limits``: each instance's zone
    and the most instances of a zone in running batches at once."""

    def __init__(self, start_until=None, start_note="", cancel_at=None, failure_allowance=None,
                 failure_note="", zone_of=None, zone_limits=None):
        self.start_until = start_until
        self.start_note = start_note
        self.cancel_at = cancel_at
        self.failure_allowance = failure_allowance
        self.failure_note = failure_note
        self.zone_of = dict(zone_of or {})
        self.zone_limits = dict(zone_limits or {})


def budget_value(value, name):
    """(("count", n) or ("percent", p), problem or None) for a budget given as a number >= 1 or "N%" (1-100)."""
    if isinstance(value, bool):
        return None, "%s must be a number of instances or a percentage such as 25%%, got %r" % (name, value)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        if int(value) < 1:
            return None, "%s must be at least 1 instance, got %s" % (name, value)
        return ("count", int(value)), None
    match = _PERCENT_RE.match(value) if isinstance(value, str) else None
    if match and 1 <= int(match.group(1)) <= 100:
        return ("percent", int(match.group(1))), None
    return None, "%s must be a number >= 1 or a percentage from 1%% to 100%%, got %r" % (name, value)


def zone_limits(zone_of, budget):
    """{zone: most instances of the zone patched at once} for the instances ``zone_of`` ({id: zone}) and a
    ``budget_value``: a count as given, a percentage of the zone's instances rounded down, at least 1."""
    sizes = {}
    for zone in zone_of.values():
        if zone:
            sizes[zone] = sizes.get(zone, 0) + 1
    kind, number = budget
    if kind == "count":
        return {zone: number for zone in sizes}
    return {zone: max(1, size * number // 100) for zone, size in sizes.items()}


def failure_allowance(total, percent):
    """The most failed instances of ``total`` within ``percent`` (rounded down): exceeding it stops the run."""
    return int(math.floor(total * float(percent) / 100.0 + 1e-9))


def plan_batches(groups, batch_size, room, zone_of=None, limits=None, in_flight=None):
    """The batches to start now: ``[(key, [ids])]``, at most ``room`` of at most ``batch_size`` ids each.

    ``groups`` is ``[(key, [ids])]`` (the instances that may start, by region and action, in order). With
    ``limits`` ({zone: most at once}), no zone gets more instances than its limit minus ``in_flight`` (its
    instances in running batches): each batch takes, in order, the instances whose zone still has room, so a
    zone at its limit waits and the others go on. Instances of a zone without a limit are not held."""
    limits = limits or {}
    zone_of = zone_of or {}
    used = dict(in_flight or {})
    chosen = []
    for key, ids in groups:
        pending = list(ids)
        while pending and len(chosen) < room:
            batch, rest = [], []
            for instance_id in pending:
                zone = zone_of.get(instance_id)
                free = zone not in limits or used.get(zone, 0) < limits[zone]
                if len(batch) < batch_size and free:
                    batch.append(instance_id)
                    if zone in limits:
                        used[zone] = used.get(zone, 0) + 1
                else:
                    rest.append(instance_id)
            if not batch:
                break
            chosen.append((key, batch))
            pending = rest
    return chosen


def in_flight_by_zone(instance_ids, zone_of):
    """{zone: count} of ``instance_ids`` (the instances of the batches still running)."""
    counts = {}
    for instance_id in instance_ids:
        zone = zone_of.get(instance_id)
        if zone:
            counts[zone] = counts.get(zone, 0) + 1
    return counts
