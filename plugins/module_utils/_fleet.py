# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: what the fleet looks like right now (instance status, OS, agent).

Every fleet module checks the same things before it acts: does the instance exist, is it running,
is its Cloud Assistant agent installed and online. ``read_instances`` answers that for one region
with batched, concurrent reads, for given instance ids or for the instances carrying given tags;
``instance_view`` is the per-instance answer.
"""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all, paginate
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import chunked

DESCRIBE_INSTANCES_BATCH = 100   # InstanceIds takes at most 100 ids
AGENT_STATUS_BATCH = 50          # DescribeCloudAssistantStatus takes at most 50 InstanceId.N
VIEW_FIELDS = ("InstanceId", "InstanceName", "Status", "ZoneId", "OSType", "OSNameEn", "OSName", "Tags")  # instance_view's


def _gather(func, batches, workers):
    return [item for value in run_all(func, batches, workers) for item in value]


def tag_filter(tags):
    """DescribeInstances ``Tag`` for a {key: value} dict; an empty or null value matches any value of the key."""
    return [dict(Key=k, Value=v) if v not in (None, "") else dict(Key=k) for k, v in tags.items()]


def describe_instances(api, instance_ids=None, workers=8, tags=None, fields=None):
    """DescribeInstances items for ``instance_ids`` (unknown ids are simply absent), for the instances
    carrying every tag of ``tags``, or for the whole region. With ``fields``, each item keeps only those keys,
    page by page: the full records of a large fleet (several KiB each) are never all in memory at once."""
    def items(query):
        pages = paginate(lambda params: api.call("DescribeInstances", params), query, ("Instances", "Instance"))
        if fields is None:
            return list(pages)
        return [{k: item[k] for k in fields if k in item} for item in pages]

    if instance_ids is None:
        query = {"MaxResults": DESCRIBE_INSTANCES_BATCH}
        if tags:
            query["Tag"] = tag_filter(tags)
        return items(query)
    return _gather(lambda batch: items({"MaxResults": DESCRIBE_INSTANCES_BATCH, "InstanceIds": json_param(batch)}),
                   chunked(instance_ids, DESCRIBE_INSTANCES_BATCH), workers)


def describe_agents(api, instance_ids, workers=8):
    """DescribeCloudAssistantStatus items for existing ``instance_ids``."""
    path = ("InstanceCloudAssistantStatusSet", "InstanceCloudAssistantStatus")
    return _gather(
        lambda batch: list_all(lambda p: api.call("DescribeCloudAssistantStatus", p), {"InstanceId": batch}, path),
        chunked(instance_ids, AGENT_STATUS_BATCH), workers)


def instance_view(instance_id, region, instance, agent):
    """One instance as the fleet modules see it; ``reason`` says why it cannot take work now."""
    exists = instance is not None
    instance, agent = instance or {}, agent or {}
    version = agent.get("CloudAssistantVersion") or ""
    heartbeat = agent.get("LastHeartbeatTime") or ""
    installed = bool(version or heartbeat)
    online = str(agent.get("CloudAssistantStatus", "false")).lower() == "true"
    status = instance.get("Status", "")
    if not exists:
        reason = "the instance does not exist in %s" % region
    elif status != "Running":
        reason = "the instance is %s, not Running" % (status or "in an unknown state")
    elif not installed:
        reason = "the Cloud Assistant agent is not installed"
    elif not online:
        reason = "the Cloud Assistant agent is offline (no heartbeat in the last two minutes)"
    else:
        reason = ""
    return dict(
        instance_id=instance_id,
        region=region,
        zone=instance.get("ZoneId", ""),
        exists=exists,
        name=instance.get("InstanceName", ""),
        status=status,
        os_type=(instance.get("OSType") or agent.get("OSType") or "").lower(),
        os_name=instance.get("OSNameEn") or instance.get("OSName", ""),
        tags={t.get("TagKey", ""): t.get("TagValue", "") for t in (instance.get("Tags") or {}).get("Tag") or []},
        agent_installed=installed,
        agent_online=online,
        agent_version=version,
        last_heartbeat_time=heartbeat,
        last_invoked_time=agent.get("LastInvokedTime") or "",
        active_task_count=int(agent.get("ActiveTaskCount") or 0),
        invocation_count=int(agent.get("InvocationCount") or 0),
        support_session_manager=bool(agent.get("SupportSessionManager")),
        ready=not reason,
        reason=reason,
    )


def read_instances(api, region, instance_ids=None, workers=8, tags=None):
    """{instance id: instance_view} for ``instance_ids`` in input order, else for the instances carrying
    every tag of ``tags``, else for every instance in the region."""
    instances = {i["InstanceId"]: i for i in describe_instances(api, instance_ids, workers, tags, VIEW_FIELDS)}
    targets = list(instances) if instance_ids is None else list(instance_ids)
    agents = {a["InstanceId"]: a for a in describe_agents(api, [i for i in targets if i in instances], workers)}
    return {i: instance_view(i, region, instances.get(i), agents.get(i)) for i in targets}


def summarise(views):
    """Counts of ready instances and of each reason not to be."""
    summary = dict(total=0, ready=0, agent_offline=0, agent_not_installed=0, not_running=0, not_found=0)
    for view in views:
        summary["total"] += 1
        if view["ready"]:
            summary["ready"] += 1
        elif not view["exists"]:
            summary["not_found"] += 1
        elif view["status"] != "Running":
            summary["not_running"] += 1
        elif not view["agent_installed"]:
            summary["agent_not_installed"] += 1
        else:
            summary["agent_offline"] += 1
    return summary
