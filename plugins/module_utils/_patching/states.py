# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: per-instance patch state (ListInstancePatchStates /
ListInstancePatches) read in batches, and the compliance verdict and fleet summary built from it.

An instance is compliant when it was scanned or patched and has no missing, failed or
installed-pending-reboot patch. Instances never scanned have no state.
"""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import chunked

PATCH_STATES_BATCH = 100   # ListInstancePatchStates takes at most 100 InstanceIds
PATCH_STATUSES = ("Installed", "InstalledOther", "InstalledPendingReboot", "InstalledRejected", "Missing", "Failed")
COUNT_FIELDS = (("installed", "InstalledCount"), ("installed_other", "InstalledOtherCount"),
                ("installed_pending_reboot", "InstalledPendingRebootCount"),
                ("installed_rejected", "InstalledRejectedCount"), ("missing", "MissingCount"),
                ("failed", "FailedCount"))


def _count(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def state_view(raw):
    """One ListInstancePatchStates row (counts are strings in the API) -> snake_case with ints; None if never scanned."""
    if not raw:
        return None
    counts = {name: _count(raw.get(field)) for name, field in COUNT_FIELDS}
    return dict(counts, baseline_id=raw.get("BaselineId", ""), operation_type=raw.get("OperationType", ""),
                operation_start_time=raw.get("OperationStartTime", ""),
                operation_end_time=raw.get("OperationEndTime", ""))


def verdict(state):
    """(compliant, reboot_required, status) for a state_view (None = never scanned)."""
    if state is None:
        return False, False, "never_scanned"
    reboot = state["installed_pending_reboot"] > 0
    compliant = state["missing"] == 0 and state["failed"] == 0 and not reboot
    return compliant, reboot, "compliant" if compliant else "non_compliant"


def instance_entry(instance_id, region, state):
    compliant, reboot, status = verdict(state)
    return dict(instance_id=instance_id, region=region, scanned=state is not None, compliant=compliant,
                reboot_required=reboot, compliance=status, patch_state=state)


def summarise(entries):
    summary = dict(total=0, compliant=0, non_compliant=0, never_scanned=0, reboot_required=0, missing=0, failed=0)
    for entry in entries:
        summary["total"] += 1
        summary[entry["compliance"]] += 1
        summary["reboot_required"] += int(entry["reboot_required"])
        state = entry["patch_state"] or {}
        summary["missing"] += state.get("missing", 0)
        summary["failed"] += state.get("failed", 0)
    return summary


def read_patch_states(api, instance_ids, workers=8, deadline=None):
    """{instance id: state_view or None} for ``instance_ids`` of one region (100 ids per call)."""
    def batch(ids):
        return list_all(lambda p: api.call("ListInstancePatchStates", p, deadline=deadline),
                        {"InstanceIds": json_param(ids), "MaxResults": 100}, ("InstancePatchStates",))

    pages = run_all(batch, chunked(instance_ids, PATCH_STATES_BATCH), workers)
    rows = {row.get("InstanceId"): row for page in pages for row in page}
    return {i: state_view(rows.get(i)) for i in instance_ids}


def patch_view(raw):
    return dict(title=raw.get("Title", ""), kb_id=raw.get("KBId", ""), classification=raw.get("Classification", ""),
                severity=raw.get("Severity", ""), status=raw.get("Status", ""),
                installed_time=raw.get("InstalledTime", ""))


def read_patches(api, instance_ids, statuses=None, workers=8):
    """{instance id: [patch_view]} (ListInstancePatches, one paged listing per instance)."""
    params = {"MaxResults": 100}
    if statuses:
        params["PatchStatuses"] = ",".join(statuses)

    def one(instance_id):
        return [patch_view(p) for p in list_all(lambda q: api.call("ListInstancePatches", q),
                                                dict(params, InstanceId=instance_id), ("Patches",))]

    return dict(zip(instance_ids, run_all(one, instance_ids, workers)))


def installed_total(state):
    """Every installed patch a state counts (install moves patches from missing into these)."""
    if state is None:
        return None
    return sum(state[k] for k in ("installed", "installed_other", "installed_pending_reboot", "installed_rejected"))
