"""oos_patch_baseline and oos_patch_baseline_info against the simulator, through the real SDK."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_baseline as module
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_baseline_info as info
from unit_helpers import mutating, sim_args

RULES = [dict(classifications=["security", "Bugfix"], severities=["Critical", "Important"], approve_after_days=7)]


def args(server, **extra):
    return sim_args(server, **dict(dict(_ansible_diff=True), **extra))


def last_seq(server):
    calls = server.calls()
    return calls[-1]["seq"] if calls else 0


def three_runs(server, run_module, params):
    """check mode, for real, again: returns the three results; asserts check mode mutated nothing."""
    before = last_seq(server)
    _rc, check = run_module(module.main, params, check_mode=True)
    assert mutating(server, before) == [], check
    _rc, real = run_module(module.main, params)
    after_real = last_seq(server)
    _rc, again = run_module(module.main, params)
    assert again["changed"] is False and again["actions"] == [] and mutating(server, after_real) == []
    return check, real, again


def test_lifecycle(sim_server, run_module):
    params = args(sim_server, name="prod-linux", operation_system="AliyunLinux", approval_rules=RULES,
                  tags={"team": "platform"}, rejected_patches=["kernel-debug.x86_64"])
    check, real, again = three_runs(sim_server, run_module, params)
    assert check["changed"] and check["actions"] == ["create"] and check["diff"]["before"] == {}
    assert check["baseline"]["approval_rules"] == real["baseline"]["approval_rules"]
    assert real["changed"] and real["baseline"]["id"].startswith("pb-") and real["baseline"]["default"] is False
    assert real["baseline"]["approval_rules"][0]["classifications"] == ["Bugfix", "Security"]
    assert real["baseline"]["tags"] == {"team": "platform"} == again["baseline"]["tags"]
    assert mutating(sim_server) == ["CreatePatchBaseline"]

    seq = last_seq(sim_server)
    extra_rule = dict(classifications=["Enhancement"], approve_until_date="2026-01-31")
    update = dict(params, description="weekly", approval_rules=RULES + [extra_rule])
    check, real, again = three_runs(sim_server, run_module, update)
    assert check["changed_fields"] == ["approval_rules", "description"] == real["changed_fields"]
    assert check["diff"]["before"]["description"] == "" and check["diff"]["after"]["description"] == "weekly"
    assert len(real["baseline"]["approval_rules"]) == 2 and real["baseline"]["description"] == "weekly"
    assert mutating(sim_server, seq) == ["UpdatePatchBaseline"]

    seq = last_seq(sim_server)
    check, real, again = three_runs(sim_server, run_module, dict(update, default=True))
    assert check["actions"] == ["register_default"] and real["baseline"]["default"] is True
    assert mutating(sim_server, seq) == ["RegisterDefaultPatchBaseline"]
    _rc, listed = run_module(info.main, args(sim_server, operation_system="AliyunLinux"))
    assert listed["default_baselines"] == {"AliyunLinux": "prod-linux"}

    seq = last_seq(sim_server)
    check, real, again = three_runs(sim_server, run_module, dict(name="prod-linux", state="absent", **args(sim_server)))
    assert check["actions"] == ["restore_system_default", "delete"] == real["actions"]
    assert check["diff"]["after"] == {} and check["diff"]["before"]["default"] is True and real["baseline"] == {}
    assert mutating(sim_server, seq) == ["RegisterDefaultPatchBaseline", "DeletePatchBaseline"]
    _rc, listed = run_module(info.main, args(sim_server, operation_system="AliyunLinux"))
    assert listed["default_baselines"] == {"AliyunLinux": "ACS-AliyunLinux-DefaultPatchBaseline"}


def test_default_false_hands_the_default_back(sim_server, run_module):
    params = args(sim_server, name="win", operation_system="Windows", default=True,
                  approval_rules=[dict(classifications=["Security Updates"], patch_set=["OS"])])
    _rc, created = run_module(module.main, params)
    assert created["actions"] == ["create", "register_default"] and created["baseline"]["default"] is True
    check, real, _again = three_runs(sim_server, run_module, dict(params, default=False))
    assert check["actions"] == ["restore_system_default"] and real["baseline"]["default"] is False
    assert check["baseline"]["default"] is False


def test_an_os_without_a_system_default_cannot_give_its_default_back(sim_server, run_module):
    params = args(sim_server, name="fedora-1", operation_system="Fedora", approval_rules=RULES, default=True)
    rc, created = run_module(module.main, params)
    assert rc == 0 and created["actions"] == ["create", "register_default"] and created["baseline"]["default"]
    seq = last_seq(sim_server)
    rc, result = run_module(module.main, dict(params, default=False))
    assert rc == 1 and "default: false is impossible: fedora-1 is the default baseline of Fedora" in result["msg"]
    assert "register another Fedora baseline as the default (default: true) first" in result["msg"]
    rc, result = run_module(module.main, args(sim_server, name="fedora-1", state="absent"))
    assert rc == 1 and result["msg"].startswith("Cannot delete baseline fedora-1: state=absent is impossible")
    assert mutating(sim_server, seq) == []

    rc, other = run_module(module.main, dict(params, name="fedora-2"))
    assert rc == 0 and other["actions"] == ["create", "register_default"]
    _check, real, _again = three_runs(sim_server, run_module, args(sim_server, name="fedora-1", state="absent"))
    assert real["actions"] == ["delete"]
    _rc, listed = run_module(info.main, args(sim_server, operation_system="Fedora"))
    assert listed["default_baselines"] == {"Fedora": "fedora-2"}


def test_changing_the_os_is_refused(sim_server, run_module):
    params = args(sim_server, name="b1", operation_system="Ubuntu", approval_rules=RULES)
    run_module(module.main, params)
    seq = last_seq(sim_server)
    rc, result = run_module(module.main, dict(params, operation_system="CentOS"))
    assert rc == 1 and "operation_system of baseline b1 is Ubuntu and cannot be changed to CentOS" in result["msg"]
    assert mutating(sim_server, seq) == []


def test_creating_needs_rules_and_public_baselines_are_read_only(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, name="b2", operation_system="Ubuntu"))
    assert rc == 1 and "needs approval_rules" in result["msg"]
    rc, result = run_module(module.main, args(sim_server, name="ACS-Ubuntu-DefaultPatchBaseline", state="absent"))
    assert rc == 1 and "must not start with" in result["msg"]
    assert mutating(sim_server) == []


def test_recreate_after_delete_with_the_same_content(sim_server, run_module):
    params = args(sim_server, name="again", operation_system="Debian", approval_rules=RULES)
    run_module(module.main, params)
    run_module(module.main, dict(name="again", state="absent", **args(sim_server)))
    rc, result = run_module(module.main, params)
    assert rc == 0 and result["actions"] == ["create"] and result["baseline"]["id"]


def test_clearing_lists_and_tags(sim_server, run_module):
    params = args(sim_server, name="clear", operation_system="CentOS", approval_rules=RULES,
                  approved_patches=["a"], tags={"k": "v"})
    run_module(module.main, params)
    _rc, result = run_module(module.main, dict(params, approved_patches=[], tags={}))
    assert result["changed_fields"] == ["approved_patches", "tags"]
    assert result["baseline"]["approved_patches"] == [] and result["baseline"]["tags"] == {}
    _rc, result = run_module(module.main, dict(params, approved_patches=[], tags={"x": "y"}, purge_tags=False))
    assert result["baseline"]["tags"] == {"x": "y"}


@pytest.mark.parametrize("bad,fragments", [
    ({"name": "bad name"}, ["must be 1 to 128"]),
    ({"name": "aliyun-mine"}, ["must not start with"]),
    ({"operation_system": "BeOS"}, ["value of operation_system must be one of"]),
    ({"approval_rules": [{"classifications": ["Security Updates"]}]}, ["'Security Updates' is not valid"]),
    ({"approval_rules": [{"severities": ["Huge"], "approve_after_days": 500}]}, ["'Huge'", "from 0 to 100"]),
    ({"approval_rules": [{"approve_after_days": 3, "approve_until_date": "2026-13-01"}]},
     ["must be a date", "not both"]),
    ({"approval_rules": [{"patch_set": ["OS"]}]}, ["applies to Windows baselines only"]),
    ({"approval_rules": []}, ["1 to 10 rules"]),
    ({"operation_system": None}, ["approval_rules needs operation_system"]),
    ({"client_token": "has space"}, ["client_token must be"]),
    ({"rejected_patches_action": "DROP"}, ["rejected_patches_action must be one of"]),
    ({"description": "d" * 201}, ["at most 200 characters"]),
])
def test_bad_input_fails_before_any_call(sim_server, run_module, bad, fragments):
    params = dict(args(sim_server, name="ok", operation_system="Ubuntu", approval_rules=RULES), **bad)
    rc, result = run_module(module.main, {k: v for k, v in params.items() if v is not None})
    assert rc == 1, result
    for fragment in fragments:
        assert fragment in result["msg"]
    assert [c for c in sim_server.calls() if c["product"] in ("ecs", "oos")] == []


def test_info_lists_public_defaults_with_rules(sim_server, run_module):
    run_module(module.main, args(sim_server, name="mine", operation_system="Ubuntu", approval_rules=RULES,
                                 tags={"team": "a"}))
    _rc, result = run_module(info.main, args(sim_server))
    names = [b["name"] for b in result["baselines"]]
    assert names[-1] == "mine" and "ACS-Windows-DefaultPatchBaseline" in names and len(names) == 9
    public = next(b for b in result["baselines"] if b["name"] == "ACS-Ubuntu-DefaultPatchBaseline")
    assert public["share_type"] == "Public" and public["default"] is True
    assert public["approval_rules"][0]["classifications"] == ["Bugfix", "Security"]
    assert public["rejected_patches_action"] == "ALLOW_AS_DEPENDENCY"
    assert sorted(result["default_baselines"]) == ["AliyunLinux", "AlmaLinux", "Anolis", "CentOS", "Debian",
                                                   "RedhatEnterpriseLinux", "Ubuntu", "Windows"]

    _rc, private = run_module(info.main, args(sim_server, share_type="Private", tags={"team": "a"}, include_rules=False))
    assert [b["name"] for b in private["baselines"]] == ["mine"] and private["baselines"][0]["approval_rules"] is None
    _rc, one = run_module(info.main, args(sim_server, name="mine"), check_mode=True)
    _rc, declared = run_module(module.main, args(sim_server, name="mine", operation_system="Ubuntu", approval_rules=RULES))
    assert one["baselines"] == [declared["baseline"]] and one["changed"] is False
    _rc, missing = run_module(info.main, args(sim_server, name="nope"))
    assert missing["baselines"] == [] and missing["default_baselines"] == {}
    assert mutating(sim_server) == ["CreatePatchBaseline"]


def test_throttling_is_retried(sim_server, run_module):
    sim_server.admin("POST", "faults", {"action": "*PatchBaseline*", "code": "Throttling.User", "count": 3})
    rc, result = run_module(module.main, args(sim_server, name="t", operation_system="Ubuntu", approval_rules=RULES))
    assert rc == 0 and result["changed"] and mutating(sim_server) == ["CreatePatchBaseline"]
