# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``ecs_targets`` filter: every way a playbook names instances, as one list of {instance_id, region}."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError


def _is_list(value):
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _region_of(value, default):
    region = value if isinstance(value, str) and value else default
    return region or ""


def ecs_targets(instance_ids=None, hosts=None, hostvars=None, region=""):
    """Instance ids (a list of ids, a list of {instance_id, region} or a dict of region to ids) and inventory
    hosts (their ``ecs_instance_id`` and ``ecs_region``) as one list of {instance_id, region}, in order, each
    instance once (its first occurrence)."""
    instance_ids = [] if instance_ids is None else instance_ids
    hosts = [] if hosts is None else hosts
    problems = []
    found = []
    if isinstance(instance_ids, Mapping):
        for ids_region, ids in instance_ids.items():
            if not _is_list(ids):
                problems.append("instance ids of region %s must be a list, got %s" % (ids_region, type(ids).__name__))
                continue
            found.extend((str(i), str(ids_region)) for i in ids)
    elif _is_list(instance_ids):
        for item in instance_ids:
            if isinstance(item, Mapping):
                if not item.get("instance_id"):
                    problems.append("%s has no instance_id" % dict(item))
                    continue
                found.append((str(item["instance_id"]), _region_of(item.get("region"), region)))
            elif isinstance(item, str) and item:
                found.append((item, _region_of(None, region)))
            else:
                problems.append("%r is not an instance id" % (item,))
    else:
        problems.append("instance ids must be a list of ids, a list of {instance_id, region} or a dict of region to "
                        "ids, not the %s %r" % (type(instance_ids).__name__, instance_ids))
    if not _is_list(hosts):
        problems.append("hosts must be a list of inventory host names, not the %s %r" % (type(hosts).__name__, hosts))
        hosts = []
    if hosts and hostvars is None:
        problems.append("hosts need hostvars: ecs_targets(hosts=..., hostvars=hostvars)")
        hosts = []
    unknown, without_id = [], []
    for host in hosts:
        if host not in hostvars:
            unknown.append(str(host))
            continue
        variables = hostvars[host]
        instance_id = variables.get("ecs_instance_id")
        if not instance_id:
            without_id.append(str(host))
            continue
        found.append((str(instance_id), _region_of(variables.get("ecs_region"), region)))
    if unknown:
        problems.append("not in the inventory: %s" % ", ".join(unknown))
    if without_id:
        problems.append("hosts without the ecs_instance_id variable: %s" % ", ".join(without_id))
    if problems:
        raise AnsibleFilterError("ecs_targets: " + "; ".join(problems))
    seen, targets = set(), []
    for instance_id, target_region in found:
        if instance_id not in seen:
            seen.add(instance_id)
            targets.append({"instance_id": instance_id, "region": target_region})
    return targets


class FilterModule:
    def filters(self):
        return {"ecs_targets": ecs_targets}
