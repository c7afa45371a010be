"""The GitOps filters: changes per host, plans for pull requests, JUnit XML."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.alibabacloud.ecs_ops.plugins.filter.ecs_gitops import (
    ecs_extension_changes,
    ecs_junit,
    ecs_plan,
    ecs_plan_markdown,
)

NODE22 = dict(name="node", version="v22", parameters={"port": 80})
NGINX = dict(name="nginx")


def targets(*ids):
    return [dict(instance_id=i, region="cn-hangzhou") for i in ids]


def test_hosts_that_want_the_same_change_share_it_and_the_rest_want_the_default():
    hostvars = {
        "web1": dict(ecs_instance_id="i-1", extension_rollout_extensions=[NODE22, NGINX]),
        "web2": dict(ecs_instance_id="i-2", extension_rollout_extensions=[dict(NODE22, parameters={"port": 80})]),
        "db": dict(ecs_instance_id="i-3", extension_rollout_extensions=[dict(NODE22, version="v20")]),
        "bare": dict(ecs_instance_id="i-4"),
    }
    changes = ecs_extension_changes(targets("i-1", "i-2", "i-3", "i-4", "i-5"), hosts=list(hostvars),
                                    hostvars=hostvars, default=[NGINX])
    summary = [(c["name"], c["version"], [t["instance_id"] for t in c["targets"]]) for c in changes]
    assert summary == [("node", "v22", ["i-1", "i-2"]), ("nginx", "latest", ["i-1", "i-4", "i-5"]),
                       ("node", "v20", ["i-3"])]
    assert changes[0]["source"] == "web1" and changes[0]["index"] == 0
    assert changes[1]["source"] == "web1" and changes[1]["index"] == 1


def test_secret_values_group_but_never_appear():
    hostvars = {"a": dict(ecs_instance_id="i-1", extension_rollout_extensions=[dict(NGINX, secret_parameters={"k": "s3cr3t"})]),
                "b": dict(ecs_instance_id="i-2", extension_rollout_extensions=[dict(NGINX, secret_parameters={"k": "other"})])}
    changes = ecs_extension_changes(targets("i-1", "i-2"), hosts=["a", "b"], hostvars=hostvars)
    assert len(changes) == 2 and "s3cr3t" not in repr(changes) and "other" not in repr(changes)


def test_an_empty_host_list_wants_nothing_and_bad_entries_are_named():
    hostvars = {"a": dict(ecs_instance_id="i-1", extension_rollout_extensions=[])}
    assert ecs_extension_changes(targets("i-1"), hosts=["a"], hostvars=hostvars, default=[NGINX]) == []
    hostvars = {"a": dict(ecs_instance_id="i-1", extension_rollout_extensions=[{"version": "1"}])}
    with pytest.raises(AnsibleFilterError, match=r"extension_rollout_extensions\[0\] of a has no name"):
        ecs_extension_changes(targets("i-1"), hosts=["a"], hostvars=hostvars)


ROWS = [
    dict(instance_id="i-1", instance_name="web-1", region="r", extension="node", action="update", result="planned",
         version_before="v20", version_after="v22", message=""),
    dict(instance_id="i-1", instance_name="web-1", region="r", extension="nginx", action="none", result="unchanged"),
    dict(instance_id="i-2", instance_name="web|2", region="r", extension="node", action="skip", result="unreachable",
         message="the agent is offline"),
    dict(instance_id="i-3", instance_name="db", region="r", extension="node", action="none", result="unchanged"),
]


def test_plan_lists_changes_and_blocked_with_a_summary():
    plan = ecs_plan(ROWS)
    assert not plan["empty"]
    assert plan["summary"] == dict(instances=3, changes=1, by_action={"update": 1}, instances_changing=1,
                                   instances_blocked=1, instances_unchanged=1)
    assert [e["instance_id"] for e in plan["instances"]] == ["i-2", "i-1", "i-3"]   # blocked first, then changing
    assert plan["instances"][1]["changes"] == [dict(item="node", action="update", before="v20", after="v22", detail="")]
    assert plan["instances"][0]["blocked"][0]["reason"] == "the agent is offline"
    assert ecs_plan([dict(r, result="unchanged", action="none") for r in ROWS[:1]])["empty"] is True


def test_plan_markdown_has_the_summary_first_and_folds_the_details():
    text = ecs_plan_markdown(ecs_plan(ROWS), title="Extensions")
    lines = text.splitlines()
    assert lines[0] == "### Extensions: 1 change(s)"
    assert "1 would change (1 to update), 1 blocked, 1 already as wanted" in lines[2]
    assert "<details><summary>Changes (1 instance(s))</summary>" in text and "update node (v20 → v22)" in text
    assert "web\\|2" in text     # a pipe in a name does not break the table
    assert ecs_plan_markdown(ecs_plan([]), title="X").startswith("### X: no changes")


def test_junit_counts_add_up_and_parse():
    rows = ROWS + [dict(instance_id="i-4", extension="node", action="install", result="failed", message="exit 1"),
                   dict(instance_id="i-5", extension="node", action="none", result="unchanged", verified="would update")]
    root = ElementTree.fromstring(ecs_junit(rows, suite="extension_rollout"))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert root.tag == "testsuites" and len(cases) == int(suite.get("tests")) == 6
    assert int(suite.get("failures")) == 2 and int(suite.get("skipped")) == 1 and suite.get("errors") == "0"
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("classname") for c in failed] == ["extension_rollout.i-4", "extension_rollout.i-5"]
    assert failed[0].find("failure").get("message") == "failed: exit 1"
    assert cases[0].get("name") == "update node" and cases[0].get("file") == "web-1"


def test_a_target_given_twice_is_in_each_change_once():
    changes = ecs_extension_changes(targets("i-1", "i-1", "i-2"), default=[NGINX, NODE22])
    assert [[t["instance_id"] for t in c["targets"]] for c in changes] == [["i-1", "i-2"], ["i-1", "i-2"]]
