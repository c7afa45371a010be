# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the system-disk snapshots that ``oos_patch_run`` has the patch template take
(``Snapshot-<execution id>``), read, proven and judged for ``oos_patch_snapshot_cleanup``.

A snapshot is the collection's only when both hold: its name is ``Snapshot-<execution id>``, and that execution
(or, for a child execution, its parent) is a run of the patch template carrying the tag ``oos_patch_run`` puts on
every execution it starts. A name alone proves nothing (anyone can name a snapshot so); an execution that no
longer exists proves nothing either, so its snapshots are kept.
"""

from __future__ import annotations

import re

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import get_execution
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.run import PATCH_RUN_TAG, PATCH_TEMPLATE
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import parse_api_time

SNAPSHOT_NAME_RE = re.compile(r"^Snapshot-(exec-[0-9A-Za-z]+)$")
SNAPSHOT_PAGE = 100


def execution_of(name):
    """The execution id in a patch snapshot's name, or None."""
    match = SNAPSHOT_NAME_RE.match(name or "")
    return match.group(1) if match else None


def snapshot_entry(raw, region, now):
    created = parse_api_time(raw.get("CreationTime"))
    return dict(snapshot_id=raw.get("SnapshotId", ""), snapshot_name=raw.get("SnapshotName", ""), region=region,
                status=raw.get("Status", ""), creation_time=raw.get("CreationTime", ""),
                age_days=round((now - created).total_seconds() / 86400, 2) if created else None,
                source_disk_id=raw.get("SourceDiskId", ""), execution_id=execution_of(raw.get("SnapshotName")),
                instance_id="", action="", reason="")


def provenance(execution_id, views):
    """(instance id or "", problem or "") for the execution a snapshot is named after; ``views`` holds the
    executions read by id (None: it does not exist)."""
    view = views.get(execution_id)
    if view is None:
        return "", ("its execution %s no longer exists, so it cannot be shown to be one oos_patch_run started"
                    % execution_id)
    root = view
    if view.get("parent_execution_id"):
        root = views.get(view["parent_execution_id"])
        if root is None:
            return "", "the parent of its execution %s no longer exists, so it cannot be shown to be one " \
                       "oos_patch_run started" % execution_id
    if root.get("template_name") != PATCH_TEMPLATE:
        return "", "its execution %s is not a run of %s" % (root.get("execution_id"), PATCH_TEMPLATE)
    key, value = PATCH_RUN_TAG
    if (root.get("tags") or {}).get(key) != value:
        return "", "its execution %s was not started by oos_patch_run (no %s tag)" % (root.get("execution_id"), key)
    params = view.get("parameters") or {}
    return str(params.get("instanceId") or ""), ""


def judge(entry, retention_days, views):
    """Decide one patch snapshot: ``would_delete`` or ``kept``, with the reason (fills ``action``/``reason``)."""
    if entry["age_days"] is None:
        entry.update(action="kept", reason="its creation time %r cannot be read" % entry["creation_time"])
        return entry
    if entry["age_days"] < retention_days:
        entry.update(action="kept", reason="younger than retention_days (%s of %d days)" % (
            entry["age_days"], retention_days))
        return entry
    if entry["status"] == "progressing":
        entry.update(action="kept", reason="it is still being created")
        return entry
    instance_id, problem = provenance(entry["execution_id"], views)
    entry["instance_id"] = instance_id
    if problem:
        entry.update(action="kept", reason=problem)
    else:
        entry.update(action="would_delete", reason="taken by oos_patch_run %d day(s) ago, older than retention_days (%d)"
                     % (int(entry["age_days"]), retention_days))
    return entry


def read_patch_snapshots(ecs, region, now):
    """Every snapshot of ``region`` named like a patch run's (``Snapshot-exec-...``), as entries."""
    items = list_all(lambda q: ecs.call("DescribeSnapshots", q), {"MaxResults": SNAPSHOT_PAGE},
                     ("Snapshots", "Snapshot"))
    return [snapshot_entry(i, region, now) for i in items if execution_of(i.get("SnapshotName"))]


def read_executions(oos, execution_ids, workers=8):
    """{execution id: view or None} for ``execution_ids`` and the parents of the child executions among them."""
    ids = sorted(set(execution_ids))
    views = dict(zip(ids, run_all(lambda i: get_execution(oos, i), ids, workers)))
    parents = sorted({v["parent_execution_id"] for v in views.values() if v and v.get("parent_execution_id")}
                     - set(views))
    views.update(zip(parents, run_all(lambda i: get_execution(oos, i), parents, workers)))
    return views


def delete_snapshot(ecs, snapshot_id):
    """DeleteSnapshot without ``Force``: a snapshot some disk was created from stays (the API refuses)."""
    ecs.call("DeleteSnapshot", {"SnapshotId": snapshot_id})


def cleanup_summary(entries):
    summary = dict(found=len(entries), deleted=0, would_delete=0, kept=0, failed=0)
    for entry in entries:
        summary[entry["action"]] += 1
    return summary
