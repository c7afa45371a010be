"""Pure functions of _patching: rules <-> PatchRules, normalisation, the present/absent plan."""

from __future__ import annotations

import json

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching import baselines as p
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError

API_RULES = {"PatchRules": [{"PatchFilterGroup": [
    {"Key": "Product", "Values": ["*"]}, {"Key": "Classification", "Values": ["Security", "Bugfix"]},
    {"Key": "Severity", "Values": ["Important", "Critical"]}],
    "ApproveAfterDays": 7, "ApproveUntilDate": "", "EnableNonSecurity": True, "ComplianceLevel": "Medium"}]}


def test_rules_round_trip_and_case_insensitive_values():
    rules = p.normalise_rules([dict(classifications=["security", "BUGFIX"], severities=["critical", "Important"],
                                    approve_after_days=7, enable_non_security=True, compliance_level="medium")],
                              "AliyunLinux")
    assert rules == [dict(classifications=["Bugfix", "Security"], severities=["Critical", "Important"], products=["*"],
                          approve_after_days=7, approve_until_date="", enable_non_security=True,
                          compliance_level="Medium")]
    assert p.rules_from_api(API_RULES) == rules
    assert p.rules_from_api(json.dumps(API_RULES)) == rules          # the API may return a JSON string
    assert p.rules_from_api(p.rules_to_api(rules)) == rules


def test_rule_order_does_not_matter():
    one = dict(classifications=["Security"], approve_after_days=3)
    two = dict(classifications=["Bugfix"], approve_until_date="2026-01-31")
    assert p.normalise_rules([one, two], "CentOS") == p.normalise_rules([two, one], "CentOS")


def test_windows_rules_keep_patch_set_and_until_date():
    rules = p.normalise_rules([dict(classifications=["Security Updates"], patch_set=["OS"], product_family=["Windows"],
                                    approve_until_date="2026-06-30")], "Windows")
    api = p.rules_to_api(rules)["PatchRules"][0]
    keys = ["PatchSet", "ProductFamily", "Product", "Classification", "Severity"]
    assert [g["Key"] for g in api["PatchFilterGroup"]] == keys
    assert api["ApproveUntilDate"] == "2026-06-30" and "ApproveAfterDays" not in api
    assert p.rules_from_api(p.rules_to_api(rules)) == rules


def test_every_rule_problem_is_named():
    with pytest.raises(ValidationError) as err:
        p.normalise_rules([dict(classifications=["Security Updates"], severities=["Huge"], approve_after_days=101),
                           dict(approve_after_days=3, approve_until_date="31/01/2026", patch_set=["OS"],
                                compliance_level="Severe", bogus=1)], "Ubuntu")
    text = "; ".join(err.value.problems)
    for fragment in ("approval_rules[0].classifications: 'Security Updates' is not valid",
                     "approval_rules[0].severities: 'Huge'", "approve_after_days must be an integer from 0 to 100",
                     "approval_rules[1].approve_until_date must be a date", "not both",
                     "patch_set applies to Windows", "compliance_level must be one of", "unknown key(s) bogus"):
        assert fragment in text
    with pytest.raises(ValidationError, match="1 to 10 rules"):
        p.normalise_rules([], "Ubuntu")


@pytest.mark.parametrize("raw,expected", [
    ([{"TagKey": "a", "TagValue": "1"}], {"a": "1"}),
    ([{"Key": "a", "Value": None}], {"a": ""}),
    ({"a": 1}, {"a": "1"}),
    ({"Tag": [{"TagKey": "b", "TagValue": "2"}]}, {"b": "2"}),
    (None, {}),
])
def test_tag_shapes(raw, expected):
    assert p.tags_from_api(raw) == expected


def base_params(**extra):
    params = dict(name="prod", operation_system="Ubuntu", description=None, approval_rules=None,
                  approved_patches=None, approved_patches_enable_non_security=None, rejected_patches=None,
                  rejected_patches_action=None, sources=None, tags=None, resource_group_id=None, default=None)
    params.update(extra)
    return params


def current_baseline(**extra):
    raw = {"Name": "prod", "Id": "pb-1", "OperationSystem": "Ubuntu", "ApprovalRules": API_RULES, "ShareType": "Private",
           "ApprovedPatches": ["b", "a"], "RejectedPatches": [], "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY",
           "Tags": [{"TagKey": "team", "TagValue": "x"}], "IsDefault": False}
    raw.update(extra)
    return p.baseline_from_api(raw)


def test_plan_no_change_when_only_order_and_shapes_differ():
    desired = p.desired_from_params(base_params(
        approval_rules=[dict(classifications=["Bugfix", "Security"], severities=["Critical", "Important"],
                             approve_after_days=7, enable_non_security=True, compliance_level="Medium")],
        approved_patches=["a", "b"], tags={"team": "x"}))
    changes, after, error = p.plan_baseline(desired, current_baseline())
    assert (changes, error) == ({}, None) and after == current_baseline()


def test_plan_only_what_differs_and_tags_merge_without_purge():
    desired = p.desired_from_params(base_params(description="new", tags={"env": "prod"}, default=True))
    changes, after, _error = p.plan_baseline(desired, current_baseline())
    assert set(changes) == {"description", "tags", "default"}
    assert after["tags"] == {"env": "prod"} and after["approved_patches"] == ["a", "b"]
    changes, after, _error = p.plan_baseline(desired, current_baseline(), purge_tags=False)
    assert changes["tags"] == ({"team": "x"}, {"team": "x", "env": "prod"})
    request = p.update_request("prod", {k: v for k, v in changes.items() if k != "default"})
    assert request == {"Name": "prod", "Description": "new",
                       "Tags": '[{"Key":"env","Value":"prod"},{"Key":"team","Value":"x"}]'}


def test_plan_refuses_os_change_public_and_incomplete_create():
    desired = p.desired_from_params(base_params(operation_system="CentOS"))
    assert "cannot be changed to CentOS" in p.plan_baseline(desired, current_baseline())[2]
    desired = p.desired_from_params(base_params())
    assert "public baseline" in p.plan_baseline(desired, current_baseline(ShareType="Public"))[2]
    assert "needs approval_rules" in p.plan_baseline(desired, None)[2]


def test_only_eight_systems_have_a_system_default():
    assert p.system_default_name("Ubuntu") == "ACS-Ubuntu-DefaultPatchBaseline"
    assert [s for s in p.OPERATION_SYSTEMS if p.system_default_name(s) is None] == ["Fedora", "RockyLinux", "Suse"]
    rocky = current_baseline(Name="rocky", OperationSystem="RockyLinux", IsDefault=True)
    changes, after, error = p.plan_baseline(p.desired_from_params(base_params(
        name="rocky", operation_system=None, default=False)), rocky)
    assert (changes, after["default"]) == ({}, True) and error.startswith(
        "default: false is impossible: rocky is the default baseline of RockyLinux, and only AlmaLinux, AliyunLinux")
    assert p.hand_back_problem(dict(rocky, default=False), "state=absent") is None
    assert p.hand_back_problem(current_baseline(IsDefault=True), "state=absent") is None
    assert p.plan_baseline(p.desired_from_params(base_params(default=False)), current_baseline(IsDefault=True))[0] \
        == {"default": (True, False)}


def test_create_request():
    desired = p.desired_from_params(base_params(approval_rules=[dict(classifications=["Security"])],
                                                rejected_patches=["x"], sources=["[main]", "enabled=1"]))
    changes, after, _error = p.plan_baseline(desired, None)
    assert set(changes) == {"operation_system", "approval_rules", "rejected_patches", "sources"}
    request = p.create_request(after)
    assert request["Name"] == "prod" and request["OperationSystem"] == "Ubuntu"
    assert json.loads(request["ApprovalRules"])["PatchRules"][0]["PatchFilterGroup"][1] == {
        "Key": "Classification", "Values": ["Security"]}
    assert request["Sources"] == '["[main]","enabled=1"]' and "Tags" not in request


@pytest.mark.parametrize("name,fragment", [
    ("ACS-mine", "must not start with"), ("bad name", "must be 1 to 128"),
    ("", "must be 1 to 128"), ("x" * 129, "must be 1 to 128"),
])
def test_names(name, fragment):
    assert fragment in p.validate_name(name)


def test_desired_names_every_problem():
    with pytest.raises(ValidationError) as err:
        p.desired_from_params(base_params(name="aliyun-x", operation_system=None, approval_rules=[{}],
                                          approved_patches=[""], tags={str(n): "v" for n in range(21)}))
    text = "; ".join(err.value.problems)
    assert "must not start with" in text and "approval_rules needs operation_system" in text
    assert "approved_patches must be" in text and "at most 20 tags" in text


def test_the_steps_tag_tells_a_killed_round_from_a_running_one():
    from datetime import datetime, timezone
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.reboots import (
        STEPS_TAG, parse_pending, pending_value, unfinished_steps)
    until = datetime(2026, 11, 29, 3, 41, 28, tzinfo=timezone.utc)
    value = pending_value(["reboot", "post_hook"], until)
    assert value == "pending reboot+post_hook until 2026-11-29T03:41:28Z" and len(value) <= 128
    assert parse_pending(value) == (["reboot", "post_hook"], until)
    assert parse_pending("done") is None and parse_pending("") is None and parse_pending("pending x") is None
    before, after = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc), datetime(2026, 11, 29, 4, 0, tzinfo=timezone.utc)
    expected = dict(steps=["reboot", "post_hook"], until="2026-11-29T03:41:28Z", overdue=False)
    assert unfinished_steps({STEPS_TAG: value}, before) == expected
    assert unfinished_steps({STEPS_TAG: value}, after)["overdue"]
    assert unfinished_steps({STEPS_TAG: "done"}, after) is None and unfinished_steps({}, after) is None
    assert unfinished_steps({STEPS_TAG: "pending post_hook until garbage"}, before)["overdue"], \
        "an unreadable time cannot belong to a task still running"
