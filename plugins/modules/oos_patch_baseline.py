#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_patch_baseline
short_description: Create, update, delete OOS patch baselines and register them as the OS default
version_added: 0.1.0
description:
  - Keeps one named OOS patch baseline as declared - its operating system, approval rules, approved and
    rejected patches, sources, tags - and optionally makes it the default baseline of its operating system,
    which is the one C(ACS-ECS-BulkyApplyPatchBaseline) (and M(alibabacloud.ecs_ops.oos_patch_run)) applies.
  - Idempotent. The current baseline is read with C(GetPatchBaseline) and normalised (rule and list order,
    tag shapes, the rules as an object or a JSON string do not count as differences); only the fields that
    differ are sent with C(UpdatePatchBaseline).
  - The operating system of an existing baseline cannot be changed; such a request fails and names the
    current and requested values.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
attributes:
  check_mode:
    support: full
    details: Reads the baseline and reports what would change; makes no create, update, delete or register call.
  diff_mode:
    support: full
    details: The diff shows the managed fields of the baseline before and after.
options:
  name:
    description:
      - The baseline name, 1 to 128 letters, digits, C(_), C(-) or C(.).
      - Names starting with C(ACS), C(ALIYUN), C(ALIBABA) or C(ALICLOUD) are reserved for public baselines.
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the baseline; C(absent) deletes it.
      - Deleting the default baseline of an OS first hands the default back to C(ACS-<OS>-DefaultPatchBaseline).
        Fedora, RockyLinux and Suse have no such baseline, so deleting their default fails before anything
        changes; register another baseline of the same OS as the default first.
    type: str
    choices: [present, absent]
    default: present
  operation_system:
    description:
      - The operating system the baseline applies to. Required to create a baseline and to set O(approval_rules).
      - Cannot be changed once the baseline exists.
      - Alibaba Cloud provides a system default baseline (C(ACS-<OS>-DefaultPatchBaseline)) for AlmaLinux,
        AliyunLinux, Anolis, CentOS, Debian, RedhatEnterpriseLinux, Ubuntu and Windows only. Fedora, RockyLinux
        and Suse have a default baseline, which patch runs need, only once one is registered (O(default=true)).
    type: str
    choices: [AlmaLinux, AliyunLinux, Anolis, CentOS, Debian, Fedora, RedhatEnterpriseLinux, RockyLinux, Suse, Ubuntu, Windows]
  description:
    description: The description, at most 200 characters.
    type: str
  approval_rules:
    description:
      - The rules that approve patches automatically; a patch is approved when any rule approves it.
      - Required to create a baseline. Translated to the API's C(ApprovalRules) C(PatchRules) JSON.
    type: list
    elements: dict
    suboptions:
      classifications:
        description:
          - Patch classifications to approve, or C(*) for all.
          - Linux C(Security), C(Bugfix), C(Enhancement), C(Recommended), C(Newpackage).
          - Windows C(Security Updates), C(Critical Updates), C(Updates), C(Update Rollups), C(Definition Updates),
            C(Feature Packs), C(Service Packs), C(Tools), C(Drivers), C(Upgrades).
          - Case does not matter. Default C(*).
        type: list
        elements: str
      severities:
        description:
          - Severities to approve, or C(*). Linux C(Critical), C(Important), C(Medium), C(Moderate), C(Low); Windows
            C(Critical), C(Important), C(Moderate), C(Low), C(Unspecified). Default C(*).
        type: list
        elements: str
      products:
        description: Products (OS versions) the rule applies to, for example C(Windows Server 2019); default C(*).
        type: list
        elements: str
      patch_set:
        description: Windows only, C(OS) or C(Application).
        type: list
        elements: str
      product_family:
        description: Windows only, for example C(Windows).
        type: list
        elements: str
      approve_after_days:
        description: Approve a patch this many days (0 to 100) after its release. Default 0.
        type: int
      approve_until_date:
        description: Approve patches released on or before this date (C(YYYY-MM-DD)) instead of O(approval_rules[].approve_after_days).
        type: str
      enable_non_security:
        description: On Linux, also approve updates that are not security updates.
        type: bool
        default: false
      compliance_level:
        description: The compliance level reported for missing patches approved by this rule.
        type: str
        choices: [Critical, High, Medium, Low, Informational, Unspecified]
        default: Unspecified
  approved_patches:
    description: Patches (KB ids or package names) always approved. An empty list clears them.
    type: list
    elements: str
  approved_patches_enable_non_security:
    description: Whether the approved patches include non-security updates on Linux.
    type: bool
  rejected_patches:
    description: Patches never approved (they win over every approval). An empty list clears them.
    type: list
    elements: str
  rejected_patches_action:
    description: C(ALLOW_AS_DEPENDENCY) lets a rejected patch be installed as a dependency of another; C(BLOCK) never installs it.
    type: str
    choices: [ALLOW_AS_DEPENDENCY, BLOCK]
  sources:
    description: Package repository definitions (for example yum ini lines), in order.
    type: list
    elements: str
  tags:
    description: Tags of the baseline. With O(purge_tags=true) these are all the tags it has.
    type: dict
  purge_tags:
    description: Remove tags not listed in O(tags). Has no effect when O(tags) is not set.
    type: bool
    default: true
  resource_group_id:
    description: The resource group of the baseline.
    type: str
  default:
    description:
      - V(true) registers the baseline as the default of its operating system (what patch runs apply).
      - V(false) hands the default back to C(ACS-<OS>-DefaultPatchBaseline) if this baseline is the default.
        For Fedora, RockyLinux and Suse there is no such baseline, so V(false) on their default fails before
        anything changes; register another baseline of the same OS as the default instead.
      - Not set leaves the default as it is.
    type: bool
  client_token:
    description:
      - Prefix of the idempotency token of the create call. The token is derived from the request, so a retried
        run cannot create twice; set this to tell two deliberate runs apart.
    type: str
notes:
  - Tags are written with the baseline's C(Tags) field in C(UpdatePatchBaseline).
seealso:
  - module: alibabacloud.ecs_ops.oos_patch_baseline_info
  - module: alibabacloud.ecs_ops.oos_patch_run
  - name: Patch baselines in OOS
    description: How patch baselines and approval rules work.
    link: https://www.alibabacloud.com/help/en/oos/user-guide/patch-baselines
"""

EXAMPLES = r"""
- name: Security and bug fixes for Alibaba Cloud Linux, a week after release, as the default baseline
  alibabacloud.ecs_ops.oos_patch_baseline:
    region: cn-hangzhou
    name: prod-aliyunlinux
    operation_system: AliyunLinux
    description: Production Linux baseline
    approval_rules:
      - classifications: [Security, Bugfix]
        severities: [Critical, Important]
        approve_after_days: 7
        compliance_level: High
    rejected_patches: [kernel-debug.x86_64]
    rejected_patches_action: BLOCK
    tags:
      team: platform
    default: true

- name: Windows critical updates approved up to a cut-off date
  alibabacloud.ecs_ops.oos_patch_baseline:
    region: cn-hangzhou
    name: prod-windows
    operation_system: Windows
    approval_rules:
      - classifications: [Security Updates, Critical Updates]
        severities: [Critical]
        patch_set: [OS]
        product_family: [Windows]
        approve_until_date: "2026-06-30"
    approved_patches: [KB5005565]

- name: Give the default back to the system baseline and delete ours
  alibabacloud.ecs_ops.oos_patch_baseline:
    region: cn-hangzhou
    name: prod-aliyunlinux
    state: absent
"""

RETURN = r"""
baseline:
  description: The baseline after the run (in check mode, as it would be); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: The name.
      type: str
      sample: prod-aliyunlinux
    id:
      description: The baseline id; empty in check mode before it exists.
      type: str
      sample: pb-445340b5c6504a85a300
    operation_system:
      description: The operating system.
      type: str
      sample: AliyunLinux
    description:
      description: The description.
      type: str
    approval_rules:
      description: The approval rules in the shape of O(approval_rules), sorted, every key present.
      type: list
      elements: dict
      sample: [{classifications: [Bugfix, Security], severities: [Critical, Important], products: ["*"],
                approve_after_days: 7, approve_until_date: "", enable_non_security: false, compliance_level: High}]
    approved_patches:
      description: Always approved patches, sorted.
      type: list
      elements: str
    approved_patches_enable_non_security:
      description: Whether approved patches include non-security updates.
      type: bool
    rejected_patches:
      description: Rejected patches, sorted.
      type: list
      elements: str
    rejected_patches_action:
      description: C(ALLOW_AS_DEPENDENCY) or C(BLOCK).
      type: str
    sources:
      description: Package sources.
      type: list
      elements: str
    tags:
      description: Tags as a dict.
      type: dict
      sample: {team: platform}
    resource_group_id:
      description: The resource group.
      type: str
    share_type:
      description: C(Private) for baselines of the account.
      type: str
    default:
      description: Whether it is the default baseline of its operating system.
      type: bool
    created_by:
      description: Who created it.
      type: str
    created_date:
      description: When it was created (UTC).
      type: str
    updated_by:
      description: Who last updated it.
      type: str
    updated_date:
      description: When it was last updated (UTC).
      type: str
actions:
  description: What was (or in check mode would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: [create, register_default]
changed_fields:
  description: The managed fields that differed and were (or would be) changed.
  returned: always
  type: list
  elements: str
  sample: [approval_rules, tags]
diff:
  description: The managed fields before and after, with O(ignore:--diff) or in check mode.
  returned: when diff mode is on
  type: dict
"""

import json

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import has_error_code
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.baselines import (
    COMPLIANCE_LEVELS,
    OPERATION_SYSTEMS,
    REJECTED_PATCHES_ACTIONS,
    SETTABLE,
    baseline_from_api,
    create_request,
    desired_from_params,
    hand_back_problem,
    plan_baseline,
    system_default_name,
    update_request,
    validate_name,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import client_token, token_problems
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError

NOT_FOUND = ("EntityNotExists.PatchBaseline",)


def argument_spec():
    list_of_str = dict(type="list", elements="str")
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        operation_system=dict(type="str", choices=list(OPERATION_SYSTEMS)),
        description=dict(type="str"),
        approval_rules=dict(type="list", elements="dict", options=dict(
            classifications=list_of_str, severities=list_of_str, products=list_of_str,
            patch_set=list_of_str, product_family=list_of_str,
            approve_after_days=dict(type="int"), approve_until_date=dict(type="str"),
            enable_non_security=dict(type="bool", default=False),
            compliance_level=dict(type="str", choices=list(COMPLIANCE_LEVELS), default="Unspecified"),
        )),
        approved_patches=list_of_str,
        approved_patches_enable_non_security=dict(type="bool"),
        rejected_patches=list_of_str,
        rejected_patches_action=dict(type="str", choices=list(REJECTED_PATCHES_ACTIONS)),
        sources=list_of_str,
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        resource_group_id=dict(type="str"),
        default=dict(type="bool"),
        client_token=dict(type="str", no_log=False),
    )


def managed_view(baseline):
    if not baseline:
        return {}
    return {k: baseline.get(k) for k in ("name",) + SETTABLE}


class BaselineRunner:
    def __init__(self, module):
        self.module = module
        self.name = module.params["name"]
        self.actions = []

    def call(self, action, params, not_found=()):
        return self.module.call("oos", action, params, not_found=not_found)

    def read(self):
        body = self.call("GetPatchBaseline", {"Name": self.name}, not_found=NOT_FOUND)
        return None if body is None else baseline_from_api(body.get("PatchBaseline") or {})

    def register_default(self, name):
        self.actions.append("register_default" if name == self.name else "restore_system_default")
        if not self.module.check_mode:
            self.call("RegisterDefaultPatchBaseline", {"Name": name})

    def create(self, after):
        self.actions.append("create")
        if self.module.check_mode:
            return
        params = create_request(after)
        token = client_token(params, self.module.params["client_token"], prefix="pb")
        try:
            self.module.api("oos").call("CreatePatchBaseline", dict(params, ClientToken=token))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # The token of an earlier create of a since-deleted baseline: create under a derived token.
            if not has_error_code(exc, *NOT_FOUND):
                raise
            self.call("CreatePatchBaseline", dict(params, ClientToken=client_token({"after": token}, prefix="pb")))

    def update(self, changes):
        fields = {k: v for k, v in changes.items() if k != "default"}
        if not fields:
            return
        self.actions.append("update")
        if not self.module.check_mode:
            self.call("UpdatePatchBaseline", update_request(self.name, fields))

    def delete(self, current):
        if current.get("default"):
            self.register_default(system_default_name(current["operation_system"]))
        self.actions.append("delete")
        if not self.module.check_mode:
            self.call("DeletePatchBaseline", {"Name": self.name})


def validate(params):
    """(None, [], the desired baseline or None for state=absent), or a ValidationError naming the problems."""
    problems = token_problems(params["client_token"])
    if problems:
        raise ValidationError(problems)
    if params["state"] == "absent":
        problem = validate_name(params["name"])
        if problem:
            raise ValidationError(problem)
        return None, [], None
    return None, [], desired_from_params(params)


def run(module, desired):
    """Read the baseline, plan and apply the change (none in check mode): the result."""
    runner = BaselineRunner(module)
    current = runner.read()

    if module.params["state"] == "absent":
        changes, after = {}, None
        if current is not None:
            if current["share_type"] == "Public":
                module.fail_json(msg="%s is a public baseline and cannot be deleted" % runner.name)
            problem = hand_back_problem(current, "state=absent")
            if problem:
                module.fail_json(msg="Cannot delete baseline %s: %s" % (runner.name, problem), baseline=current)
            runner.delete(current)
    else:
        changes, after, error = plan_baseline(desired, current, module.params["purge_tags"])
        if error:
            module.fail_json(msg="Cannot apply baseline %s: %s" % (runner.name, error),
                             baseline=current or {})
        if current is None:
            runner.create(after)
        else:
            runner.update(changes)
        if "default" in changes:
            runner.register_default(runner.name if desired["default"] else system_default_name(after["operation_system"]))
        if runner.actions and not module.check_mode:
            after = runner.read() or after

    result = dict(changed=bool(runner.actions), actions=runner.actions, changed_fields=sorted(changes),
                  baseline=after or {})
    if module._diff:
        result["diff"] = dict(before=json.loads(json.dumps(managed_view(current))),
                              after=json.loads(json.dumps(managed_view(after))))
    return result


def main():
    module = AlicloudModule(argument_spec=argument_spec(), supports_check_mode=True)
    desired = module.validated(validate, module.params)[1]
    try:
        result = run(module, desired)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
