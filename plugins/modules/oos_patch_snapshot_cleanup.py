#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_patch_snapshot_cleanup
short_description: Delete the pre-patch snapshots of oos_patch_run older than a retention
version_added: 0.1.0
description:
  - Patch rounds with O(alibabacloud.ecs_ops.oos_patch_run#module:create_snapshot=true) take a system-disk snapshot
    of each instance, named C(Snapshot-<execution id>). ECS releases each one when the
    O(alibabacloud.ecs_ops.oos_patch_run#module:snapshot_retention_days) given at the time have passed; this module
    deletes those older than O(retention_days) earlier, for example after the round was verified, or after the
    retention policy changed.
  - It deletes only snapshots it can show were taken by the collection's patch runs. Both must hold, the name is
    C(Snapshot-<execution id>), and that execution (or, for a child execution, its parent) exists, is a run of
    C(ACS-ECS-BulkyApplyPatchBaseline) and carries the tag C(ecs-ops-patch-run=oos_patch_run) that
    M(alibabacloud.ecs_ops.oos_patch_run) puts on every execution it starts. Every other snapshot is left alone;
    a patch snapshot that fails a check is listed as C(kept) with the reason (for example when its execution
    was deleted from OOS, or was started by hand in the console).
  - Snapshots still being created are kept. Deletion never forces, so a snapshot a disk was created from stays
    (the API refuses; it is reported C(failed)).
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
attributes:
  check_mode:
    support: full
    details: Deletes nothing; lists every snapshot that would be deleted (C(would_delete)) and every one kept, with why.
  diff_mode:
    support: none
    details: The snapshots deleted or kept are in RV(snapshots).
options:
  retention_days:
    description:
      - Delete the collection's patch snapshots at least this many days old (1 to 65536), judged against the real
        current time (UTC) of the host running the module and the snapshot's C(CreationTime).
    type: int
    required: true
  regions:
    description: The regions to clean up. Default the module's O(region).
    type: list
    elements: str
notes:
  - The RAM actions needed are C(ecs:DescribeSnapshots), C(ecs:DeleteSnapshot) and C(oos:ListExecutions).
  - A second run deletes nothing more (C(changed=false)).
seealso:
  - module: alibabacloud.ecs_ops.oos_patch_run
"""

EXAMPLES = r"""
- name: What would go (check mode lists it)
  alibabacloud.ecs_ops.oos_patch_snapshot_cleanup:
    region: cn-hangzhou
    retention_days: 3
  check_mode: true
  register: would

- name: Keep a week of pre-patch snapshots in two regions
  alibabacloud.ecs_ops.oos_patch_snapshot_cleanup:
    regions: [cn-hangzhou, cn-shanghai]
    retention_days: 7
  register: cleanup

- name: Show what was kept and why
  ansible.builtin.debug:
    msg: "{{ cleanup.snapshots | selectattr('action', 'eq', 'kept') | map(attribute='reason') | list }}"
"""

RETURN = r"""
snapshots:
  description: Every snapshot named like a patch run's (C(Snapshot-exec-...)) in the regions, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    snapshot_id:
      description: The snapshot.
      type: str
      sample: s-bp1c0doj0taqyzzl****
    snapshot_name:
      description: Its name.
      type: str
      sample: Snapshot-exec-8a2aaf460fdf47c6b5ef
    region:
      description: Its region.
      type: str
    execution_id:
      description: The execution its name refers to.
      type: str
    instance_id:
      description: The instance of that execution, when it was read and is the collection's.
      type: str
    creation_time:
      description: C(CreationTime) of the snapshot.
      type: str
    age_days:
      description: Its age in days.
      type: float
    status:
      description: C(progressing), C(accomplished) or C(failed).
      type: str
    action:
      description: C(deleted), C(would_delete) (check mode), C(kept) or C(failed) (the delete failed).
      type: str
    reason:
      description: Why, for example C(younger than retention_days ...) or the failed check.
      type: str
deleted_snapshot_ids:
  description: The snapshots deleted (in check mode, those that would be).
  returned: always
  type: list
  elements: str
summary:
  description: Counts of RV(snapshots) by action.
  returned: always
  type: dict
  sample: {found: 12, deleted: 8, would_delete: 0, kept: 4, failed: 0}
"""

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import REGION_REQUIRED, AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.run import MAX_RETENTION_DAYS
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.snapshots import (
    cleanup_summary,
    delete_snapshot,
    judge,
    read_executions,
    read_patch_snapshots,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError, validate_region
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import utc_now


def argument_spec():
    return dict(retention_days=dict(type="int", required=True), regions=dict(type="list", elements="str"))


def validate(p, region):
    """(the regions to clean, [], None), or a ValidationError naming every problem, before any call."""
    problems = []
    if not 1 <= p["retention_days"] <= MAX_RETENTION_DAYS:
        problems.append("retention_days must be from 1 to %d, got %d" % (MAX_RETENTION_DAYS, p["retention_days"]))
    regions = list(dict.fromkeys(p["regions"] or ([region] if region else [])))
    if not regions:
        problems.append("%s; or give regions" % REGION_REQUIRED)
    for region in regions:
        try:
            validate_region(region, "regions")
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    return regions, [], None


def plan(module, regions, retention_days):
    """Read and judge every patch snapshot of ``regions``."""
    now = utc_now()
    entries = []
    for region in regions:
        found = read_patch_snapshots(module.api("ecs", region), region, now)
        old = [e for e in found if e["age_days"] is not None and e["age_days"] >= retention_days
               and e["status"] != "progressing"]
        views = read_executions(module.api("oos", region), [e["execution_id"] for e in old]) if old else {}
        entries.extend(judge(e, retention_days, views) for e in found)
    return sorted(entries, key=lambda e: (e["region"], e["creation_time"], e["snapshot_id"]))


def delete(module, entries):
    doomed = [e for e in entries if e["action"] == "would_delete"]
    for outcome in run_bounded(lambda e: delete_snapshot(module.api("ecs", e["region"]), e["snapshot_id"]), doomed, 8):
        if outcome.ok:
            outcome.item["action"] = "deleted"
        else:
            outcome.item.update(action="failed", reason="DeleteSnapshot failed: %s" % describe(outcome.error)[0])


def main():
    module = AlicloudModule(argument_spec=argument_spec(), region_required=False, supports_check_mode=True)
    regions = module.validated(validate, module.params, module.region)[0]
    entries = []
    try:
        entries = plan(module, regions, module.params["retention_days"])
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc, snapshots=entries)
    if not module.check_mode:
        delete(module, entries)
    gone = [e["snapshot_id"] for e in entries if e["action"] in ("deleted", "would_delete")]
    result = dict(changed=bool(gone), snapshots=entries, deleted_snapshot_ids=gone, summary=cleanup_summary(entries))
    failed = [e for e in entries if e["action"] == "failed"]
    if failed:
        module.fail_json(msg="Could not delete %d snapshot(s): %s" % (len(failed), "; ".join(
            "%s: %s" % (e["snapshot_id"], e["reason"]) for e in failed[:10])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
