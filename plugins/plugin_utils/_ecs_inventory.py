# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: what the ``ecs`` inventory plugin reads and how it names and describes hosts.

``read_region`` makes the minimum calls for one region (DescribeInstances 100 a page for each filter set,
DescribeCloudAssistantStatus 50 ids a call, and the opt-in reads), and returns one JSON-able record per
instance (what the cache keeps). ``host_name`` and ``host_vars`` are pure.
"""

from __future__ import annotations

import fnmatch

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import (
    DESCRIBE_INSTANCES_BATCH,
    describe_agents,
    instance_view,
    tag_filter,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.states import read_patch_states, verdict
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import chunked


def private_ips(instance):
    return list(((instance.get("VpcAttributes") or {}).get("PrivateIpAddress") or {}).get("IpAddress") or [])


def public_ips(instance):
    eip = (instance.get("EipAddress") or {}).get("IpAddress")
    return list((instance.get("PublicIpAddress") or {}).get("IpAddress") or []) + ([eip] if eip else [])


# filter option -> (DescribeInstances parameter, how the instance says it, how a value is sent)
FILTERS = {
    "status": ("Status", lambda i: [i.get("Status", "")], str),
    "instance_name": ("InstanceName", lambda i: [i.get("InstanceName", "")], str),
    "zone_id": ("ZoneId", lambda i: [i.get("ZoneId", "")], str),
    "vpc_id": ("VpcId", lambda i: [(i.get("VpcAttributes") or {}).get("VpcId", "")], str),
    "vswitch_id": ("VSwitchId", lambda i: [(i.get("VpcAttributes") or {}).get("VSwitchId", "")], str),
    "security_group_id": ("SecurityGroupId", lambda i: (i.get("SecurityGroupIds") or {}).get("SecurityGroupId") or [],
                          str),
    "instance_type": ("InstanceType", lambda i: [i.get("InstanceType", "")], str),
    "instance_type_family": ("InstanceTypeFamily", lambda i: [i.get("InstanceTypeFamily", "")], str),
    "image_id": ("ImageId", lambda i: [i.get("ImageId", "")], str),
    "resource_group_id": ("ResourceGroupId", lambda i: [i.get("ResourceGroupId", "")], str),
    "private_ips": ("PrivateIpAddresses", private_ips, json_param),
    "public_ips": ("PublicIpAddresses", public_ips, json_param),
}
LIST_FILTERS = ("private_ips", "public_ips")
HOSTNAME_SOURCES = ("instance_id", "instance_name", "hostname", "private_ip", "public_ip")
PACKAGE_STATE_WORKERS = 16


def tags_of(instance):
    return {t.get("TagKey", ""): t.get("TagValue", "") for t in (instance.get("Tags") or {}).get("Tag") or []}


# --- checking a filter set before any call ---------------------------------------------------------------
def filter_problems(filters, where="filters"):
    """Problems with one filter set (a dict), named as ``where``."""
    if not isinstance(filters, dict):
        return ["%s must be a dict of filter name to value, got %s" % (where, type(filters).__name__)]
    problems = []
    for name, value in filters.items():
        if name == "tags":
            if not isinstance(value, dict) or not value:
                problems.append("%s.tags must be a non-empty dict of tag key to value (empty: any value)" % where)
        elif name == "instance_ids":
            if not isinstance(value, list) or not all(isinstance(i, str) and i.startswith("i-") for i in value):
                problems.append("%s.instance_ids must be a list of instance ids (i-...)" % where)
        elif name in LIST_FILTERS:
            if not isinstance(value, list) or not value:
                problems.append("%s.%s must be a non-empty list" % (where, name))
        elif name not in FILTERS:
            problems.append("%s.%s is not a filter; the filters are: %s" % (
                where, name, ", ".join(sorted(list(FILTERS) + ["instance_ids", "tags"]))))
        elif not isinstance(value, str) or not value:
            problems.append("%s.%s must be a non-empty string" % (where, name))
    return problems


def matches(instance, filters):
    """Whether ``instance`` (a DescribeInstances item) passes ``filters``; the same test the server makes, so a
    server that ignores a filter cannot widen the inventory."""
    for name, wanted in filters.items():
        if name == "tags":
            tags = tags_of(instance)
            if not all(k in tags and (v in (None, "") or tags[k] == str(v)) for k, v in wanted.items()):
                return False
        elif name == "instance_ids":
            if instance.get("InstanceId") not in wanted:
                return False
        else:
            have = FILTERS[name][1](instance)
            if name in LIST_FILTERS:
                if not set(map(str, wanted)) & set(have):
                    return False
            elif not any(fnmatch.fnmatchcase(h, wanted) if name == "instance_name" else h == wanted for h in have):
                return False
    return True


# --- reading ---------------------------------------------------------------------------------------------
def _query(filters):
    query = {"MaxResults": DESCRIBE_INSTANCES_BATCH}
    for name, value in filters.items():
        if name in FILTERS:
            param, _read, send = FILTERS[name]
            query[param] = send(value)
    if filters.get("tags"):
        query["Tag"] = tag_filter(filters["tags"])
    return query


def describe(api, filters):
    """DescribeInstances items for one filter set, every page (ids 100 a call)."""
    def page(params):
        return api.call("DescribeInstances", params)

    query = _query(filters)
    ids = filters.get("instance_ids")
    if ids is None:
        items = list_all(page, query, ("Instances", "Instance"))
    else:
        items = [i for batch in chunked(ids, DESCRIBE_INSTANCES_BATCH)
                 for i in list_all(page, dict(query, InstanceIds=json_param(batch)), ("Instances", "Instance"))]
    return [i for i in items if matches(i, filters)]


def select(api, filters, include_filters, exclude_filters):
    """{instance id: item}: those of ``filters``, plus those of each ``include_filters`` set, minus those that
    match any ``exclude_filters`` set (checked on what was read: no extra call)."""
    found = {}
    for filter_set in [filters] + list(include_filters):
        for item in describe(api, filter_set):
            found.setdefault(item["InstanceId"], item)
    return {i: item for i, item in found.items() if not any(matches(item, ex) for ex in exclude_filters)}


def installed_extensions(api, instance_ids):
    """{instance id: {template name: version}} of every extension OOS knows installed (one call an instance:
    ListInstancePackageStates takes one InstanceId)."""
    def read(instance_id):
        params = {"InstanceId": instance_id, "MaxResults": 100}
        rows = list_all(lambda p: api.call("ListInstancePackageStates", p), params, ("PackageStates",))
        return {r.get("TemplateName", ""): r.get("TemplateVersion", "") for r in rows}
    instance_ids = list(instance_ids)
    return dict(zip(instance_ids, run_all(read, instance_ids, PACKAGE_STATE_WORKERS)))


def read_region(ecs, oos, region, filters, include_filters, exclude_filters, extensions=False, patch_state=False):
    """The records of one region's selected instances (JSON-able, what the cache keeps)."""
    items = select(ecs, filters, include_filters, exclude_filters)
    ids = list(items)
    agents = {a["InstanceId"]: a for a in describe_agents(ecs, ids)} if ids else {}
    running = [i for i in ids if items[i].get("Status") == "Running"]
    packages = installed_extensions(oos, running) if extensions and running else {}
    states = read_patch_states(oos, ids) if patch_state and ids else {}
    records = []
    for instance_id in ids:
        record = dict(region=region, instance=items[instance_id], agent=agents.get(instance_id) or {})
        if extensions:
            record["extensions"] = packages.get(instance_id)
        if patch_state:
            record["patch_state"] = states.get(instance_id)
        records.append(record)
    return records


# --- naming and describing hosts (pure) -------------------------------------------------------------------
def _candidate(record, source):
    instance = record["instance"]
    if source.startswith("tag:"):
        return tags_of(instance).get(source[4:], "")
    values = {"instance_id": instance.get("InstanceId", ""), "instance_name": instance.get("InstanceName", ""),
              "hostname": instance.get("HostName", ""), "private_ip": (private_ips(instance) or [""])[0],
              "public_ip": (public_ips(instance) or [""])[0]}
    return values.get(source, "")


def host_names(records, preferences):
    """{instance id: inventory host name}: for each instance the first non-empty name of ``preferences`` that no
    other instance took before it (records in order); the instance id when every preference is empty or taken."""
    taken, names = set(), {}
    for record in records:
        instance_id = record["instance"]["InstanceId"]
        name = next((c for c in (_candidate(record, s) for s in preferences) if c and c not in taken), instance_id)
        taken.add(name)
        names[instance_id] = name
    return names


def host_vars(record, ansible_host=("public_ip", "private_ip")):
    """The ``ecs_`` host variables of one record, and ``ansible_host`` from the first available source."""
    instance, agent = record["instance"], record["agent"]
    view = instance_view(instance["InstanceId"], record["region"], instance, agent)
    hostvars = dict(
        ecs_instance_id=instance["InstanceId"], ecs_region=record["region"], ecs_zone=instance.get("ZoneId", ""),
        ecs_instance_name=instance.get("InstanceName", ""), ecs_hostname=instance.get("HostName", ""),
        ecs_status=instance.get("Status", ""), ecs_os_type=view["os_type"], ecs_os_name=view["os_name"],
        ecs_tags=tags_of(instance), ecs_private_ips=private_ips(instance), ecs_public_ips=public_ips(instance),
        ecs_instance_type=instance.get("InstanceType", ""), ecs_image_id=instance.get("ImageId", ""),
        ecs_vpc_id=(instance.get("VpcAttributes") or {}).get("VpcId", ""),
        ecs_vswitch_id=(instance.get("VpcAttributes") or {}).get("VSwitchId", ""),
        ecs_security_group_ids=(instance.get("SecurityGroupIds") or {}).get("SecurityGroupId") or [],
        ecs_cloud_assistant=dict(installed=view["agent_installed"], online=view["agent_online"],
                                 version=view["agent_version"], last_heartbeat=view["last_heartbeat_time"],
                                 ready=view["ready"], reason=view["reason"]),
    )
    if "extensions" in record:
        hostvars["ecs_installed_extensions"] = record["extensions"] or {}
    if "patch_state" in record:
        state = record["patch_state"]
        compliant, reboot, status = verdict(state)
        hostvars["ecs_patch_state"] = dict(state or {}, compliance=status, compliant=compliant,
                                           reboot_required=reboot)
    address = next((_candidate(record, s) for s in ansible_host if _candidate(record, s)), "")
    if address:
        hostvars["ansible_host"] = address
    return hostvars


def default_groups(hostvars):
    """The ready-made groups of a host: ``ecs`` (every host of the plugin), agent reachability, OS type,
    compliance (when read)."""
    agent = hostvars["ecs_cloud_assistant"]
    groups = ["ecs", "ecs_agent_online" if agent["online"] else "ecs_agent_offline" if agent["installed"]
              else "ecs_agent_missing"]
    if hostvars["ecs_os_type"] in ("linux", "windows"):
        groups.append("ecs_%s" % hostvars["ecs_os_type"])
    if "ecs_patch_state" in hostvars:
        groups.append("ecs_%s" % hostvars["ecs_patch_state"]["compliance"])
    return groups
