#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_patch_compliance_info
short_description: Report the patch compliance of ECS instances
version_added: 0.1.0
description:
  - Reports, per instance, the patch counts the last scan or install recorded (installed, installed other,
    installed pending reboot, installed rejected, missing, failed), which baseline was applied and when, and
    whether the instance is compliant.
  - An instance is compliant when it has been scanned or patched and has no missing patch, no failed patch
    and no installed patch waiting for a reboot. Instances that were never scanned are reported as such.
  - On request, also lists the patches of each instance, optionally filtered by status.
  - Reads C(ListInstancePatchStates) (100 instances per call) and, for patch lists, C(ListInstancePatches).
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
  - alibabacloud.ecs_ops.attributes.info_module
options:
  instance_ids:
    description:
      - The instances, any number. A list of instance ids in O(region), a list of C({instance_id, region}),
        or a dict of region to a list of instance ids. Duplicates are dropped with a warning.
      - If not set, every instance of O(region) is reported (read with C(DescribeInstances)).
    type: raw
  include_patches:
    description: Also list the patches of each scanned instance in the C(patches) of each entry in RV(instances).
    type: bool
    default: false
  patch_statuses:
    description: Only list patches with these statuses. Implies O(include_patches=true).
    type: list
    elements: str
    choices: [Installed, InstalledOther, InstalledPendingReboot, InstalledRejected, Missing, Failed]
seealso:
  - module: alibabacloud.ecs_ops.oos_patch_run
  - module: alibabacloud.ecs_ops.oos_patch_baseline
"""

EXAMPLES = r"""
- name: Compliance of two instances with their missing and failed patches
  alibabacloud.ecs_ops.oos_patch_compliance_info:
    region: cn-hangzhou
    instance_ids: [i-bp1g6zv0ce8oghu7****, i-bp1g6zv0ce8oghu8****]
    patch_statuses: [Missing, Failed]
  register: compliance

- name: Gate on the result
  ansible.builtin.assert:
    that: compliance.summary.non_compliant == 0
    fail_msg: "Not compliant: {{ compliance.non_compliant_instance_ids | join(', ') }}"

- name: The whole region
  alibabacloud.ecs_ops.oos_patch_compliance_info:
    region: cn-shanghai
  register: region_compliance

- name: Instances across regions
  alibabacloud.ecs_ops.oos_patch_compliance_info:
    instance_ids:
      cn-hangzhou: [i-bp1g6zv0ce8oghu7****]
      cn-shanghai: [i-uf6g6zv0ce8oghu9****]
"""

RETURN = r"""
instances:
  description: One entry per instance, keyed by instance id, in input order.
  returned: always
  type: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
    region:
      description: Its region.
      type: str
    scanned:
      description: Whether a scan or install ever recorded a patch state for it.
      type: bool
    compliant:
      description: Scanned, and no missing, failed or pending-reboot patch.
      type: bool
    reboot_required:
      description: Installed patches wait for a reboot.
      type: bool
    compliance:
      description: C(compliant), C(non_compliant) or C(never_scanned).
      type: str
    patch_state:
      description: The counts of the last scan or install; null when never scanned.
      type: dict
      contains:
        installed:
          description: Approved patches installed.
          type: int
        installed_other:
          description: Installed patches the baseline does not approve.
          type: int
        installed_pending_reboot:
          description: Installed patches waiting for a reboot.
          type: int
        installed_rejected:
          description: Installed patches the baseline rejects (with C(BLOCK)).
          type: int
        missing:
          description: Approved patches not installed.
          type: int
        failed:
          description: Approved patches that failed to install.
          type: int
        baseline_id:
          description: The baseline that was applied.
          type: str
        operation_type:
          description: C(scan) or C(install).
          type: str
        operation_start_time:
          description: When that operation started (UTC).
          type: str
        operation_end_time:
          description: When it ended (UTC).
          type: str
    patches:
      description: The patches (filtered by O(patch_statuses)); only with O(include_patches) or O(patch_statuses).
      type: list
      elements: dict
      sample: [{title: "openssl-libs.x86_64:1.1.1k-9.al8", kb_id: openssl-libs.x86_64, classification: Security,
                severity: Important, status: Missing, installed_time: ""}]
compliant_instance_ids:
  description: Compliant instances.
  returned: always
  type: list
  elements: str
non_compliant_instance_ids:
  description: Scanned instances that are not compliant.
  returned: always
  type: list
  elements: str
never_scanned_instance_ids:
  description: Instances without any patch state.
  returned: always
  type: list
  elements: str
summary:
  description: Fleet counts; C(missing) and C(failed) are patch totals over all instances.
  returned: always
  type: dict
  sample: {total: 3, compliant: 1, non_compliant: 1, never_scanned: 1, reboot_required: 1, missing: 4, failed: 0}
"""

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import describe_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import REGION_REQUIRED, AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.states import (
    PATCH_STATUSES,
    instance_entry,
    read_patch_states,
    read_patches,
    summarise,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._targets import normalise_targets
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError


def argument_spec():
    return dict(
        instance_ids=dict(type="raw"),
        include_patches=dict(type="bool", default=False),
        patch_statuses=dict(type="list", elements="str", choices=list(PATCH_STATUSES)),
    )


def validate(params, region):
    """({region: [ids]}, or None for every instance of the region; warnings; None), or a ValidationError."""
    if params["instance_ids"] is not None:
        targets, warnings = normalise_targets(params["instance_ids"], region)
        return targets, warnings, None
    if not region:
        raise ValidationError("%s; it is needed when instance_ids is not set" % REGION_REQUIRED)
    return None, [], None


def read(module, targets):
    """The compliance entry of every instance of ``targets`` (the whole region if None), with its patches if asked."""
    params = module.params
    with_patches = params["include_patches"] or bool(params["patch_statuses"])
    if targets is None:
        ids = [i["InstanceId"] for i in describe_instances(module.api("ecs"), None)]
        targets = {module.region: ids} if ids else {}
    entries = []
    for region, ids in targets.items():
        api = module.api("oos", region)
        states = read_patch_states(api, ids)
        group = [instance_entry(i, region, states[i]) for i in ids]
        if with_patches:
            patches = read_patches(api, [e["instance_id"] for e in group if e["scanned"]], params["patch_statuses"])
            for entry in group:
                entry["patches"] = patches.get(entry["instance_id"], [])
        entries.extend(group)
    return entries


def report(entries):
    return dict(
        changed=False,
        instances={e["instance_id"]: e for e in entries},
        compliant_instance_ids=[e["instance_id"] for e in entries if e["compliance"] == "compliant"],
        non_compliant_instance_ids=[e["instance_id"] for e in entries if e["compliance"] == "non_compliant"],
        never_scanned_instance_ids=[e["instance_id"] for e in entries if e["compliance"] == "never_scanned"],
        summary=summarise(entries),
    )


def main():
    module = AlicloudModule(argument_spec=argument_spec(), region_required=False, supports_check_mode=True)
    targets = module.validated(validate, module.params, module.region)[0]
    try:
        entries = read(module, targets)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    module.exit_json(**report(entries))


if __name__ == "__main__":
    main()
