"""The GitOps filters: changes per host, plans for pull requests, JUnit XML."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.alibabacloud.ecs_ops.plugins.filter.ecs_gitops import (
    ecs_extension_changes,
    ecs_junit,
    ecs_patch_rows,
    ecs_plan,
    ecs_plan_markdown,
    ecs_report_header,
    ecs_schedule_blocked,
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
    assert [c["label"] for c in changes] == ["node v22", "nginx", "node v20"]


def test_changes_that_read_the_same_get_labels_apart():
    hostvars = {
        "a": dict(ecs_instance_id="i-1", extension_rollout_extensions=[dict(name="node", parameters={"version": "22"})]),
        "b": dict(ecs_instance_id="i-2", extension_rollout_extensions=[dict(name="node", parameters={"version": "20"})]),
        "c": dict(ecs_instance_id="i-3", extension_rollout_extensions=[dict(name="node", state="absent")]),
        "d": dict(ecs_instance_id="i-4", extension_rollout_extensions=[dict(name="nginx", secret_parameters={"k": "1"})]),
        "e": dict(ecs_instance_id="i-5", extension_rollout_extensions=[dict(name="nginx", secret_parameters={"k": "2"})]),
    }
    changes = ecs_extension_changes(targets("i-1", "i-2", "i-3", "i-4", "i-5"), hosts=list(hostvars), hostvars=hostvars)
    assert [c["label"] for c in changes] == ["node (version=22)", "node (version=20)", "node (absent)", "nginx",
                                             "nginx #2"]
    assert "parameters" not in changes[0] and "1" not in repr([c["label"] for c in changes][3:])


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
                                   instances_blocked=1, instances_unchanged=1, would_prune=0)
    assert [e["instance_id"] for e in plan["instances"]] == ["i-2", "i-1", "i-3"]   # blocked first, then changing
    assert plan["instances"][1]["changes"] == [dict(item="node", action="update", before="v20", after="v22", detail="",
                                                    prune=False)]
    assert plan["instances"][0]["blocked"][0]["reason"] == "the agent is offline"
    assert ecs_plan([dict(r, result="unchanged", action="none") for r in ROWS[:1]])["empty"] is True
    # targets without a row (nothing wanted there) count as already as wanted
    whole = ecs_plan(ROWS, targets=[dict(instance_id="i-9", region="r"), dict(instance_id="i-1", region="r")])
    assert whole["summary"]["instances"] == 4 and whole["summary"]["instances_unchanged"] == 2
    assert whole["instances"][1]["name"] == "web-1"


def test_plan_markdown_has_the_summary_first_and_folds_the_details():
    text = ecs_plan_markdown(ecs_plan(ROWS), title="Extensions")
    lines = text.splitlines()
    assert lines[0] == "### Extensions: 1 change(s)"
    assert "1 would change (1 to update), 1 blocked, 1 already as wanted" in lines[2]
    assert "<details><summary>Changes (1 instance(s))</summary>" in text and "update node (v20 → v22)" in text
    assert "web\\|2" in text     # a pipe in a name does not break the table
    assert ecs_plan_markdown(ecs_plan([]), title="X").startswith("### X: no changes")


# The common JUnit schema (Jenkins junit-10.xsd, which GitHub, GitLab and Azure reporters read): the attributes and
# children each element may have.
SCHEMA = {
    "testsuites": ({"name", "time", "tests", "failures", "errors", "disabled", "skipped"}, {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors", "time", "disabled", "skipped", "timestamp", "hostname", "id",
                   "package", "file", "log", "url", "version"},
                  {"properties", "testcase", "system-out", "system-err"}),
    "testcase": ({"name", "assertions", "time", "classname", "status"},
                 {"skipped", "error", "failure", "system-out", "system-err"}),
    "failure": ({"message", "type"}, set()), "error": ({"message", "type"}, set()), "skipped": ({"message"}, set()),
    "system-out": (set(), set()), "system-err": (set(), set()),
}


def check_schema(element):
    attributes, children = SCHEMA[element.tag]
    assert set(element.attrib) <= attributes, (element.tag, set(element.attrib) - attributes)
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        check_schema(child)
    if element.tag == "testcase":
        assert element.get("name") and len([c for c in element if c.tag in ("skipped", "error", "failure")]) <= 1


def test_junit_is_valid_and_its_counts_add_up():
    rows = ROWS + [dict(instance_id="i-4", extension="node", action="install", result="failed", message="exit 1"),
                   dict(instance_id="i-5", extension="node", action="none", result="unchanged", verified="would update"),
                   dict(instance_id="i-6", extension="node", action="none", result="unchanged", verified="error"),
                   dict(instance_id="i-7", extension="nginx", action="uninstall", result="not_opted_in", prune=True,
                        message="would prune (opt-in)")]
    root = ElementTree.fromstring(ecs_junit(rows, suite="extension_rollout"))
    check_schema(root)
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert root.tag == "testsuites" and len(cases) == int(suite.get("tests")) == int(root.get("tests")) == 8
    counted = {kind: sum(1 for c in cases if c.find(kind) is not None) for kind in ("failure", "error", "skipped")}
    assert counted == dict(failure=2, error=1, skipped=2)
    for element in (root, suite):
        assert (int(element.get("failures")), int(element.get("errors")), int(element.get("skipped"))) == (2, 1, 2)
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("classname") for c in failed] == ["extension_rollout.i-4", "extension_rollout.i-5"]
    assert failed[0].find("failure").get("message") == "failed: exit 1"
    assert failed[1].find("failure").get("message").startswith("verification: would update")
    assert cases[0].get("name") == "extension node" and cases[0].find("system-out").text.startswith("web-1, r, update: ")
    assert cases[-1].get("name") == "prune nginx"
    patch = ElementTree.fromstring(ecs_junit([dict(instance_id="i-1", action="patch", item="3 missing patch(es)",
                                                   result="planned", message="would install 3")]))
    case = patch.find("testsuite/testcase")
    assert case.get("name") == "patch"      # the same name every run; the count is in the output
    assert case.find("system-out").text == "3 missing patch(es): planned: would install 3"
    assert cases[-1].find("skipped").get("message") == "not_opted_in: would prune (opt-in)"
    empty = ElementTree.fromstring(ecs_junit([]))
    check_schema(empty)
    assert empty.find("testsuite").get("tests") == "0"


def test_a_plan_lists_would_prune_apart_and_it_does_not_make_the_plan_non_empty():
    rows = ROWS[1:2] + [dict(instance_id="i-1", extension="redis", action="uninstall", result="not_opted_in",
                             version_before="v3", message="would prune (opt-in: extension_rollout_prune): not listed")]
    plan = ecs_plan(rows)
    assert plan["empty"] is True and plan["summary"]["would_prune"] == 1
    assert plan["instances"][0]["would_prune"] == [dict(item="redis", before="v3", reason=rows[1]["message"])]
    text = ecs_plan_markdown(plan, title="Extensions")
    assert text.startswith("### Extensions: no changes")
    assert "1 extension(s) would be pruned with the opt-in (extension_rollout_prune: true)" in text
    assert "<details><summary>Would prune, opt-in (1 instance(s))</summary>" in text and "| redis (v3) |" in text
    pruned = ecs_plan([dict(rows[1], result="planned", prune=True)])
    assert pruned["empty"] is False and pruned["instances"][0]["changes"][0]["prune"] is True
    assert "prune: uninstall redis" in ecs_plan_markdown(pruned)


BEFORE = dict(v3=dict(missing=2, failed=0, installed_pending_reboot=0), pending=dict(missing=1, installed_pending_reboot=2))


def test_patch_rows_from_a_check_mode_install_show_patch_snapshot_and_reboot():
    install = dict(instances={
        "i-1": dict(region="r", result="planned", message="would install 2 missing", missing_patches=[{}, {}],
                    before=BEFORE["v3"]),
        "i-2": dict(region="r", result="planned", message="would install 1", missing_patches=[{}],
                    before=BEFORE["pending"]),
        "i-3": dict(region="r", result="unchanged", message="compliant", missing_patches=None, before={}),
        "i-4": dict(region="r", result="deferred", message="the window is closed", before=BEFORE["v3"])})
    agents = [dict(instances={"i-1": dict(name="web-1"), "i-5": dict(name="spare")}), dict(skipped=True)]
    rows = ecs_patch_rows(install, not_ready={"i-5": "Stopped"}, create_snapshot=True, reboot="if_required",
                          agents=agents)
    assert rows[0]["instance_name"] == "web-1" and rows[-1]["instance_name"] == "spare"
    assert [(r["instance_id"], r["action"], r["item"], r["result"]) for r in rows] == [
        ("i-1", "patch", "2 missing patch(es)", "planned"), ("i-1", "snapshot", "system disk", "planned"),
        ("i-1", "reboot", "if a patch needs it", "planned"),
        ("i-2", "patch", "1 missing patch(es)", "planned"), ("i-2", "snapshot", "system disk", "planned"),
        ("i-2", "reboot", "pending reboot", "planned"),
        ("i-3", "patch", "approved missing patches", "unchanged"),
        ("i-4", "patch", "approved missing patches", "deferred"),
        ("i-5", "patch", "patches", "unreachable")]
    plan = ecs_plan(rows, kind="patch_management")
    assert plan["summary"]["by_action"] == dict(patch=2, snapshot=2, reboot=2)
    assert sorted(e["instance_id"] for e in plan["instances"] if e["blocked"]) == ["i-4", "i-5"]
    never = ecs_patch_rows(install, reboot="never")
    assert {r["action"] for r in never} == {"patch"}


def test_patch_rows_without_an_install_block_the_non_compliant_with_the_gate_decision():
    before = dict(instances=[dict(instance_id="i-1", region="r", compliant=False, missing=3),
                             dict(instance_id="i-2", region="r", compliant=True, missing=0)])
    scan = dict(instances={"i-1": dict(result="succeeded", region="r"),
                           "i-2": dict(result="failed", region="r", message="exit 2")})
    rows = ecs_patch_rows(None, before, scan=scan, blocked="not approved (patch_management_approved=false)")
    assert [(r["instance_id"], r["action"], r["result"]) for r in rows] == [
        ("i-1", "scan", "succeeded"), ("i-2", "scan", "failed"), ("i-1", "patch", "blocked")]
    assert rows[-1]["item"] == "3 missing patch(es)" and rows[-1]["message"].startswith("not approved")
    junit = ElementTree.fromstring(ecs_junit(rows, suite="patch_management")).find("testsuite")
    assert (junit.get("tests"), junit.get("failures"), junit.get("skipped")) == ("3", "1", "1")
    real = ecs_patch_rows(dict(instances={"i-1": dict(result="succeeded", patches_installed=3,
                                                      snapshot_ids=["s-1"])}), create_snapshot=True)
    assert [(r["action"], r["item"], r["result"]) for r in real] == [
        ("patch", "3 patch(es) installed", "succeeded"), ("snapshot", "s-1", "succeeded")]


def test_the_report_header_says_when_where_and_what_ran_it():
    header = ecs_report_header("2026-11-29T01:58:30Z", regions=["cn-hangzhou", "", "cn-beijing", "cn-hangzhou"],
                               account="1234567890", play="Apply", playbook_dir="/runner/project",
                               awx_job_id=42, awx_job_template="fleet apply", now="2026-11-29T02:01:45Z")
    summary = header.pop("summary")
    assert header == dict(generated="2026-11-29T02:01:45Z", started="2026-11-29T01:58:30Z", duration_seconds=195,
                          duration="3 min 15 s", account="1234567890", regions=["cn-beijing", "cn-hangzhou"],
                          play="Apply", playbook_dir="/runner/project", awx_job_id="42", awx_job_template="fleet apply")
    assert summary == ('generated 2026-11-29 02:01:45 UTC after 3 min 15 s · account 1234567890 · regions cn-beijing, '
                       'cn-hangzhou · play "Apply" (/runner/project) · AWX job 42 (fleet apply)')
    quick = ecs_report_header("2026-11-29T02:01:40Z", now="2026-11-29T02:01:45Z")
    assert (quick["duration"], quick["awx_job_id"], quick["regions"]) == ("5 s", "", [])
    assert quick["summary"] == "generated 2026-11-29 02:01:45 UTC after 5 s"
    unknown = ecs_report_header("", now="2026-11-29T02:01:45Z")
    assert unknown["duration_seconds"] is None and unknown["duration"] == ""
    assert ecs_report_header("not a time")["duration"] == "" and ecs_report_header("x")["generated"].endswith("Z")


def test_a_target_given_twice_is_in_each_change_once():
    changes = ecs_extension_changes(targets("i-1", "i-1", "i-2"), default=[NGINX, NODE22])
    assert [[t["instance_id"] for t in c["targets"]] for c in changes] == [["i-1", "i-2"], ["i-1", "i-2"]]


def test_patch_rows_show_each_hook_that_ran_around_the_patch():
    passed = dict(passed=True, reason="", exit_code=0, status="Success", output="drained\n")
    unhealthy = dict(passed, passed=False, reason="exit code 1", exit_code=1, output="x" * 600 + "unhealthy")
    install = dict(instances={
        "i-1": dict(region="r", result="succeeded", message="install finished", patches_installed=1,
                    hooks=dict(pre=passed, post=unhealthy)),
        "i-2": dict(region="r", result="skipped", message="not patched: the pre-hook failed: Timeout",
                    hooks=dict(pre=dict(passed=False, reason="Timeout (ExecutionTimeout)", exit_code=None,
                                        status="Timeout", output=""))),
        "i-3": dict(region="r", result="unchanged", message="compliant")})
    rows = ecs_patch_rows(install)
    assert [(r["instance_id"], r["action"], r["item"], r["result"]) for r in rows] == [
        ("i-1", "pre-hook", "exit code 0", "succeeded"), ("i-1", "patch", "1 patch(es) installed", "succeeded"),
        ("i-1", "post-hook", "exit code 1", "failed"),
        ("i-2", "pre-hook", "Timeout", "failed"), ("i-2", "patch", "approved missing patches", "skipped"),
        ("i-3", "patch", "approved missing patches", "unchanged")]
    assert rows[0]["message"] == "drained"
    assert rows[2]["message"].startswith("exit code 1; x") and rows[2]["message"].endswith("unhealthy")
    assert len(rows[2]["message"]) == len("exit code 1; ") + 500
    assert rows[3]["message"] == "Timeout (ExecutionTimeout)"
    suite = ElementTree.fromstring(ecs_junit(rows)).find("testsuite")
    assert [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None] == ["post-hook", "pre-hook"]


def test_an_instance_held_after_a_rollback_is_blocked_in_the_plan_and_skipped_in_junit():
    held = "held: rolled back to its pre-patch snapshot s-1 (tag ecs-ops-rolled-back=s-1), so not patched again"
    install = dict(instances={"i-1": dict(region="r", result="held", message=held, missing_patches=[{}], before={}),
                              "i-2": dict(region="r", result="planned", message="would install 1", missing_patches=[{}],
                                          before={})})
    rows = ecs_patch_rows(install, create_snapshot=True, reboot="if_required")
    assert [(r["instance_id"], r["action"], r["result"]) for r in rows if r["instance_id"] == "i-1"] == [
        ("i-1", "patch", "held")]
    plan = ecs_plan(rows, kind="patch_management")
    blocked = {e["instance_id"]: e["blocked"] for e in plan["instances"] if e["blocked"]}
    assert list(blocked) == ["i-1"] and blocked["i-1"][0]["reason"] == held
    assert plan["summary"]["instances_changing"] == 1
    suite = ElementTree.fromstring(ecs_junit(rows)).find("testsuite")
    case = next(c for c in suite.findall("testcase") if c.get("classname").endswith("i-1"))
    assert case.find("skipped").get("message") == "held: " + held and suite.get("failures") == "0"


def test_plan_markdown_shows_a_parameter_change_that_keeps_the_version():
    """Node 22 -> 20 is a parameter of the same package version: the comment says so, not only "v27 → v27"."""
    message = "v27 installed with other parameters (version: v22.13.1 installed, v20.18.1 wanted); will reinstall v27"
    row = dict(instance_id="i-1", instance_name="api-1", region="r", extension="node", action="update",
               result="planned", version_before="v27", version_after="v27", message=message)
    text = ecs_plan_markdown(ecs_plan([row]), title="Extensions")
    assert "| change | detail |" in text
    assert "| update node (v27 → v27) | %s |" % message in text
    assert "a\\|b" in ecs_plan_markdown(ecs_plan([dict(row, message="a|b")]))


def test_schedule_blocked_names_the_targeted_hosts_the_schedule_does_not_run_on():
    hostvars = {
        "web-1": dict(ecs_instance_id="i-1", ecs_tags={"role": "web", "env": "prod"}),
        "web-spare": dict(ecs_instance_id="i-2", ecs_tags={"role": "web"}, ecs_status="Stopped",
                          ecs_cloud_assistant=dict(reason="the instance is Stopped")),
        "db": dict(ecs_instance_id="i-3", ecs_tags={"role": "db"}, ecs_cloud_assistant=dict(reason="agent offline")),
    }
    results = [dict(item=dict(name="by-tag", instance_tags={"role": "web"}), schedule=dict(instance_ids=["i-1"])),
               dict(item=dict(name="by-any-role", instance_tags={"role": ""}), schedule=dict(instance_ids=["i-1", "i-2"])),
               dict(item=dict(name="by-id", instance_ids=["i-3"]), schedule=dict(instance_ids=[])),
               dict(item=dict(name="failed", instance_tags={"role": "web"}), failed=True)]
    blocked = ecs_schedule_blocked(results, hosts=list(hostvars), hostvars=hostvars)
    assert blocked == {"by-tag": [dict(instance_id="i-2", name="web-spare", reason="the instance is Stopped")],
                       "by-any-role": [dict(instance_id="i-3", name="db", reason="agent offline")],
                       "by-id": [dict(instance_id="i-3", name="db", reason="agent offline")]}
    assert ecs_schedule_blocked(results[:1], hosts=["web-1"], hostvars=hostvars) == {}


def test_reboot_always_plans_a_reboot_row_and_reports_the_reboots_done():
    planned = dict(instances={"i-1": dict(region="r", result="planned", message="would install 1", missing_patches=[{}],
                                          before={})})
    rows = ecs_patch_rows(planned, reboot="always")
    expected = [("patch", "1 missing patch(es)", "planned"), ("reboot", "after installing", "planned")]
    assert [(r["action"], r["item"], r["result"]) for r in rows] == expected
    done = dict(instances={"i-1": dict(region="r", result="succeeded", message="installed 1; rebooted by RebootInstance",
                                       patches_installed=1, rebooted=True, before={}),
                           "i-2": dict(region="r", result="unchanged", message="compliant", rebooted=False, before={})})
    rows = ecs_patch_rows(done, reboot="always")
    assert [(r["instance_id"], r["action"], r["result"]) for r in rows] == [
        ("i-1", "patch", "succeeded"), ("i-1", "reboot", "succeeded"), ("i-2", "patch", "unchanged")]


def test_reboot_later_reports_the_reboots_still_needed_as_deferred_rows():
    done = dict(instances={"i-1": dict(region="r", result="succeeded", message="install finished", patches_installed=1,
                                       reboot_required=True, rebooted=False, before={}),
                           "i-2": dict(region="r", result="succeeded", message="install finished", patches_installed=1,
                                       reboot_required=False, rebooted=False, before={})})
    for policy in ("later", "never"):
        rows = ecs_patch_rows(done, reboot=policy)
        assert [(r["instance_id"], r["action"], r["result"]) for r in rows] == [
            ("i-1", "patch", "succeeded"), ("i-1", "reboot", "deferred"), ("i-2", "patch", "succeeded")]
        assert rows[1]["message"] == "installed patches wait for a reboot (reboot=%s)" % policy
    planned = dict(instances={"i-1": dict(region="r", result="planned", message="would install", reboot_required=True,
                                          before={})})
    assert [r["action"] for r in ecs_patch_rows(planned, reboot="later")] == ["patch"]
