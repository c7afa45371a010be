#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_patch_baseline_info
short_description: List OOS patch baselines, public defaults included, or get one by name
version_added: 0.1.0
description:
  - Lists the patch baselines of a region (the public C(ACS-<OS>-DefaultPatchBaseline) ones and the account's
    own), or gets one by O(name), in the same normalised shape M(alibabacloud.ecs_ops.oos_patch_baseline)
    returns, so a registered result can be compared with the declared one.
  - Also returns which baseline is the default of each operating system (RV(default_baselines)), which is
    the one a patch run applies.
  - Public default baselines exist for AlmaLinux, AliyunLinux, Anolis, CentOS, Debian, RedhatEnterpriseLinux,
    Ubuntu and Windows only; Fedora, RockyLinux and Suse have a default only when one of the account's
    baselines is registered as such.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
  - alibabacloud.ecs_ops.attributes.info_module
options:
  name:
    description:
      - Get this baseline only. If it does not exist, RV(baselines) is empty (the task does not fail).
    type: str
  name_contains:
    description: Only baselines whose name contains this text (case-insensitive).
    type: str
  operation_system:
    description: Only baselines for this operating system.
    type: str
    choices: [AlmaLinux, AliyunLinux, Anolis, CentOS, Debian, Fedora, RedhatEnterpriseLinux, RockyLinux, Suse, Ubuntu, Windows]
  share_type:
    description: C(Public) for the system baselines, C(Private) for the account's own.
    type: str
    choices: [Public, Private]
  tags:
    description: Only baselines that have all these tags.
    type: dict
  include_rules:
    description:
      - Also read each listed baseline's approval rules, rejected patches and rejected-patches action (one
        C(GetPatchBaseline) per baseline; the list call does not return them).
      - Always true with O(name).
    type: bool
    default: true
seealso:
  - module: alibabacloud.ecs_ops.oos_patch_baseline
"""

EXAMPLES = r"""
- name: Every baseline of the region with its rules
  alibabacloud.ecs_ops.oos_patch_baseline_info:
    region: cn-hangzhou
  register: baselines

- name: The baseline patch runs apply to Ubuntu instances
  ansible.builtin.debug:
    msg: "{{ baselines.default_baselines.Ubuntu }}"

- name: One baseline
  alibabacloud.ecs_ops.oos_patch_baseline_info:
    region: cn-hangzhou
    name: prod-aliyunlinux
  register: prod

- name: Fail when its rules drifted
  ansible.builtin.assert:
    that: prod.baselines[0].approval_rules[0].approve_after_days == 7

- name: Our Windows baselines, without reading their rules
  alibabacloud.ecs_ops.oos_patch_baseline_info:
    region: cn-hangzhou
    operation_system: Windows
    share_type: Private
    include_rules: false
"""

RETURN = r"""
baselines:
  description:
    - The baselines, public ones first, in the shape of RV(alibabacloud.ecs_ops.oos_patch_baseline#module:baseline).
    - With O(include_rules=false), C(approval_rules), C(rejected_patches) and C(rejected_patches_action) are null.
  returned: always
  type: list
  elements: dict
  sample:
    - name: ACS-AliyunLinux-DefaultPatchBaseline
      id: pb-0123456789abcdef0123
      operation_system: AliyunLinux
      description: Default patch baseline for AliyunLinux provided by Alibaba Cloud
      approval_rules: [{classifications: [Bugfix, Security], severities: [Critical, Important], products: ["*"],
                        approve_after_days: 7, approve_until_date: "", enable_non_security: false,
                        compliance_level: Unspecified}]
      approved_patches: []
      approved_patches_enable_non_security: false
      rejected_patches: []
      rejected_patches_action: ALLOW_AS_DEPENDENCY
      sources: []
      tags: {}
      resource_group_id: ""
      share_type: Public
      default: true
      created_by: ACS
      created_date: "2021-06-01T00:00:00Z"
      updated_by: ACS
      updated_date: "2021-06-01T00:00:00Z"
default_baselines:
  description:
    - Operating system to the name of its default baseline, among the baselines listed.
    - An operating system without a default (Fedora, RockyLinux or Suse with none registered) is not a key.
  returned: always
  type: dict
  sample: {AliyunLinux: prod-aliyunlinux, Windows: ACS-Windows-DefaultPatchBaseline}
"""

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import first_error, run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.baselines import (
    OPERATION_SYSTEMS,
    baseline_from_api,
    tags_to_api,
)

NOT_FOUND = ("EntityNotExists.PatchBaseline",)


def list_baselines(module):
    params = module.params
    request = {"Name": params["name_contains"], "OperationSystem": params["operation_system"],
               "ShareType": params["share_type"], "MaxResults": 100}
    if params["tags"]:
        request["Tags"] = json_param(tags_to_api({str(k): str(v) for k, v in params["tags"].items()}))
    api = module.api("oos")
    try:
        return list_all(lambda p: api.call("ListPatchBaselines", p), request, ("PatchBaselines",))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)


def with_rules(module, items):
    api = module.api("oos")
    outcomes = run_bounded(lambda item: api.call("GetPatchBaseline", {"Name": item["Name"]}), items)
    failed = first_error(outcomes)
    if failed:
        module.fail_api(failed.error)
    return [dict(item, **(o.value.get("PatchBaseline") or {})) for item, o in zip(items, outcomes)]


def main():
    module = AlicloudModule(
        argument_spec=dict(
            name=dict(type="str"),
            name_contains=dict(type="str"),
            operation_system=dict(type="str", choices=list(OPERATION_SYSTEMS)),
            share_type=dict(type="str", choices=["Public", "Private"]),
            tags=dict(type="dict"),
            include_rules=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("name", "name_contains")],
        supports_check_mode=True,
    )
    if module.params["name"] is not None:
        body = module.call("oos", "GetPatchBaseline", {"Name": module.params["name"]}, not_found=NOT_FOUND)
        items = [body["PatchBaseline"]] if body and body.get("PatchBaseline") else []
    else:
        items = list_baselines(module)
        if module.params["include_rules"]:
            items = with_rules(module, items)
    baselines = [baseline_from_api(item) for item in items]
    module.exit_json(
        changed=False,
        baselines=baselines,
        default_baselines={b["operation_system"]: b["name"] for b in baselines if b["default"]},
    )


if __name__ == "__main__":
    main()
