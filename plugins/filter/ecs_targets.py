# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every way a playbook or a role names instances, as one list of {instance_id, region}.

``ecs_targets`` is the one normalisation of the roles and playbooks (ids in three forms, AWX survey strings,
inventory hosts, instances found by tag); ``ecs_survey_list`` and ``ecs_survey_tags`` read the other survey
answers the roles take (host names, regions, tags). The accepted forms are those of the modules' ``instance_ids``
(``module_utils/_targets.py``): a region's ids must be a list there too, so ``{region: "i-1"}`` is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

_SEPARATORS = re.compile(r"[\s,]+")


def _is_list(value):
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _kind(value):
    """The plain type name of ``value`` (Ansible hands filters tagged subclasses of str, dict and list)."""
    for kind, name in ((str, "str"), (Mapping, "dict"), (Sequence, "list"), (bool, "bool"), (int, "int"), (float, "float")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _region_of(value, default):
    region = value if isinstance(value, str) and value else default
    return region or ""


def ecs_survey_list(value):
    """A list as it is; a string (an AWX survey answer) split at commas, spaces and newlines, blanks dropped."""
    return [item for item in _SEPARATORS.split(value) if item] if isinstance(value, str) else value


def ecs_survey_tags(value):
    """A dict as it is; a string of ``key=value`` pairs separated by commas or newlines (an AWX survey answer) as
    a dict. A pair without ``=`` is a key with an empty value (it matches any value of the key)."""
    if not isinstance(value, str):
        return value
    tags = {}
    for pair in value.replace(",", "\n").splitlines():
        key, _sep, tag_value = pair.strip().partition("=")
        if pair.strip():
            tags[key.strip()] = tag_value.strip()
    return tags


def _ids_of_mapping(instance_ids, problems):
    found = []
    for ids_region, ids in instance_ids.items():
        if not _is_list(ids):
            problems.append("instance ids of region %s must be a list, got %s %r" % (ids_region, _kind(ids), ids))
            continue
        for instance_id in ids:
            if isinstance(instance_id, str) and instance_id:
                found.append((instance_id, str(ids_region)))
            else:
                problems.append("%r (region %s) is not an instance id" % (instance_id, ids_region))
    return found


def _ids_of_list(instance_ids, region, problems):
    found = []
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
    return found


def _ids(instance_ids, region, problems):
    """The (id, region) pairs of the ids in any accepted form; a string is a survey answer (a list of ids)."""
    instance_ids = ecs_survey_list(instance_ids)
    if isinstance(instance_ids, Mapping):
        return _ids_of_mapping(instance_ids, problems)
    if _is_list(instance_ids):
        return _ids_of_list(instance_ids, region, problems)
    problems.append("instance ids must be a list of ids, a list of {instance_id, region}, a dict of region to "
                    "ids or a string of ids separated by commas, spaces or newlines, not the %s %r"
                    % (_kind(instance_ids), instance_ids))
    return []


def _hosts(hosts, hostvars, region, problems):
    """The (id, region) pairs of inventory hosts, from their ``ecs_instance_id`` and ``ecs_region`` variables."""
    hosts = ecs_survey_list(hosts)
    if not _is_list(hosts):
        problems.append("hosts must be a list of inventory host names, not the %s %r" % (_kind(hosts), hosts))
        return []
    if hosts and hostvars is None:
        problems.append("hosts need hostvars: ecs_targets(hosts=..., hostvars=hostvars)")
        return []
    found, unknown, without_id = [], [], []
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
        problems.append("hosts not in the inventory: %s" % ", ".join(unknown))
    if without_id:
        problems.append("hosts without the ecs_instance_id variable: %s" % ", ".join(without_id))
    return found


def _tagged(lookups, problems):
    """The (id, region) pairs that ``ecs_cloud_assistant_info`` found by tag: its registered loop results (or one
    result), each with ``instances`` of id to a view carrying ``region``. Skipped loop items have no instances."""
    if isinstance(lookups, Mapping):
        lookups = lookups.get("results", [lookups])
    if not _is_list(lookups):
        problems.append("tagged must be the registered results of ecs_cloud_assistant_info, not the %s %r"
                        % (_kind(lookups), lookups))
        return []
    return [(str(instance_id), _region_of(view.get("region"), ""))
            for lookup in lookups if isinstance(lookup, Mapping)
            for instance_id, view in (lookup.get("instances") or {}).items()]


def ecs_targets(instance_ids=None, hosts=None, hostvars=None, region="", tagged=None):
    """Instance ids, inventory hosts and instances found by tag as one list of {instance_id, region}, in that order,
    each instance once (its first occurrence). Every problem of the input is named in one error."""
    problems = []
    found = _ids([] if instance_ids is None else instance_ids, region, problems)
    found += _hosts([] if hosts is None else hosts, hostvars, region, problems)
    found += _tagged([] if tagged is None else tagged, problems)
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
        return {"ecs_targets": ecs_targets, "ecs_survey_list": ecs_survey_list, "ecs_survey_tags": ecs_survey_tags}
