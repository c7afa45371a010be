"""ecs_rollout_rows, ecs_rollout_instances and ecs_rollout_outcome: the extension_rollout role's report rows and
outcome, from module results only."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.filter.ecs_rollout import (
    FilterModule,
    ecs_rollout_instances,
    ecs_rollout_outcome,
    ecs_rollout_phase,
    ecs_rollout_rows,
)

NODE = {"name": "node", "key": "k-node", "state": "latest",
        "targets": [{"instance_id": "i-1", "region": "cn-hangzhou"}, {"instance_id": "i-2", "region": ""}]}
NGINX = {"name": "nginx", "key": "k-nginx", "state": "absent", "targets": [{"instance_id": "i-2", "region": ""}]}
TEMPLATE = "ACS-Extension-node-1853370294850618"


def entry(**values):
    return dict({"name": "web", "region": "cn-hangzhou", "action": "install", "result": "succeeded",
                 "previous_version": "", "new_version": "v27", "message": "installed"}, **values)


def call(instances, **values):
    return dict({"extension": {"name": TEMPLATE}, "instances": instances}, **values)


def test_a_converged_rollout():
    """Canary i-1 and rest i-2 each from its own phase's call; the verify call gives installed_version and ok."""
    updated = entry(name="web-2", action="update", previous_version="v20")
    rows = ecs_rollout_rows(
        [NODE], canary=[call({"i-1": entry()})], rest=[call({"i-2": updated})],
        verify=[call({"i-1": entry(action="none", previous_version="v27"),
                      "i-2": entry(action="none", previous_version="v27")})], canary_ids=["i-1"])
    assert rows == [
        {"instance_id": "i-1", "instance_name": "web", "region": "cn-hangzhou", "extension": "node", "change": "k-node",
         "template": TEMPLATE, "state": "latest", "phase": "canary", "action": "install", "result": "succeeded",
         "version_before": "", "version_after": "v27", "installed_version": "v27", "verified": "ok",
         "message": "installed"},
        {"instance_id": "i-2", "instance_name": "web-2", "region": "cn-hangzhou", "extension": "node", "change": "k-node",
         "template": TEMPLATE, "state": "latest", "phase": "rollout", "action": "update", "result": "succeeded",
         "version_before": "v20", "version_after": "v27", "installed_version": "v27", "verified": "ok",
         "message": "installed"},
    ]


def test_without_a_canary_every_instance_is_in_the_rollout_phase():
    rows = ecs_rollout_rows([NODE], canary=[call({"i-1": entry()})], rest=[call({"i-1": entry(), "i-2": entry()})])
    assert [r["phase"] for r in rows] == ["rollout", "rollout"]


def test_an_instance_without_a_result_says_why():
    """The call failed (its message), the canary failed (held back) or nothing ran."""
    failed = ecs_rollout_rows([NODE], rest=[{"failed": True, "msg": "quota exceeded"}])
    assert [(r["result"], r["message"]) for r in failed] == [("failed", "quota exceeded")] * 2
    assert ecs_rollout_rows([NODE], rest=[{"failed": True}])[0]["message"] == "the task failed"
    held = ecs_rollout_rows([NODE], canary=[call({"i-1": entry(result="failed")})], rest=[{"skipped": True}],
                            canary_ids=["i-1"], canary_failed=True)
    assert [(r["result"], r["message"]) for r in held] == [("failed", "installed"),
                                                           ("not_run", "not run: the canary failed")]
    assert [(r["result"], r["message"]) for r in ecs_rollout_rows([NODE])] == [("not_run", "not run")] * 2


def test_without_a_result_the_target_gives_the_region_and_the_change_the_template():
    row = ecs_rollout_rows([NODE])[0]
    assert (row["region"], row["instance_name"], row["template"], row["action"]) == ("cn-hangzhou", "", "node", "")


def test_the_verify_call_names_the_instance_when_the_phase_did_not():
    row = ecs_rollout_rows([NODE], verify=[call({"i-1": entry(name="from-verify", region="cn-shanghai",
                                                              action="none")})])[0]
    assert (row["instance_name"], row["region"], row["verified"]) == ("from-verify", "cn-shanghai", "ok")


def test_what_the_verify_phase_found():
    """Bug fixed: the role's Jinja looked "update" up in {'none': 'ok', 'skip': 'unreachable'} and got the dict's
    update method, so a verify that still wanted an update failed the report task instead of saying so."""
    rows = ecs_rollout_rows([NODE], verify=[call({"i-1": entry(action="skip"), "i-2": entry(action="update")})])
    assert [r["verified"] for r in rows] == ["unreachable", "would update"]
    assert [r["verified"] for r in ecs_rollout_rows([NODE], verify=[{"failed": True}])] == ["error", "error"]


def test_each_change_reads_its_own_call_and_template():
    """Results are one per change, in the order of the changes; the first call that ran names the template."""
    rows = ecs_rollout_rows([NODE, NGINX], rest=[call({"i-1": entry(), "i-2": entry()}),
                                                 call({"i-2": entry(action="uninstall")},
                                                      extension={"name": "ACS-Extension-nginx"})])
    assert [(r["extension"], r["instance_id"], r["template"], r["action"], r["state"]) for r in rows] == [
        ("node", "i-1", TEMPLATE, "install", "latest"), ("node", "i-2", TEMPLATE, "install", "latest"),
        ("nginx", "i-2", "ACS-Extension-nginx", "uninstall", "absent")]


def row(instance_id, **values):
    return dict({"instance_id": instance_id, "instance_name": "", "region": "cn-hangzhou", "phase": "rollout",
                 "extension": "node", "action": "none", "result": "unchanged", "verified": "ok"}, **values)


def test_one_outcome_per_instance_failures_first():
    targets = [{"instance_id": i, "region": "r"} for i in ("i-ok", "i-skip", "i-fail", "i-drift", "i-none")]
    rows = [row("i-ok", action="install", result="succeeded", instance_name="web"),
            row("i-skip", result="busy"), row("i-fail", result="pending", phase="canary"),
            row("i-drift", verified="would update"), row("i-ok", extension="nginx", instance_name="other")]
    instances = ecs_rollout_instances(rows, targets)
    assert [(i["instance_id"], i["outcome"]) for i in instances] == [
        ("i-fail", "failed"), ("i-drift", "failed"), ("i-skip", "skipped"), ("i-ok", "succeeded"),
        ("i-none", "succeeded")]
    ok = instances[3]
    assert (ok["instance_name"], ok["region"], ok["phase"], ok["changed"]) == ("web", "cn-hangzhou", "rollout", True)
    assert ok["extensions"] == [{"extension": "node", "action": "install", "result": "succeeded", "verified": "ok"},
                                {"extension": "nginx", "action": "none", "result": "unchanged", "verified": "ok"}]
    assert instances[0]["phase"] == "canary" and instances[2]["changed"] is False
    assert instances[4] == {"instance_id": "i-none", "instance_name": "", "region": "r", "phase": "rollout",
                            "outcome": "succeeded", "changed": False, "extensions": []}


def test_a_planned_change_counts_as_changed_and_not_run_as_skipped():
    targets = [{"instance_id": "i-1", "region": ""}, {"instance_id": "i-2", "region": ""}]
    instances = ecs_rollout_instances([row("i-1", action="update", result="planned", verified="not_run"),
                                       row("i-2", result="not_run", verified="not_run")], targets)
    assert [(i["instance_id"], i["outcome"], i["changed"]) for i in instances] == [
        ("i-2", "skipped", False), ("i-1", "succeeded", True)]


def full(instance_id, **values):
    """A report row with every key the outcome reads."""
    return row(instance_id, **dict({"change": "k-node", "template": TEMPLATE, "installed_version": "v27",
                                    "message": "done"}, **values))


CHANGE = {"name": "node", "label": "node v27", "key": "k-node", "state": "present", "version": "v27", "force": False,
          "targets": [{"instance_id": "i-1", "region": ""}, {"instance_id": "i-2", "region": ""}]}
TARGETS = CHANGE["targets"]


def outcome(rows, changes=(CHANGE,), **options):
    return ecs_rollout_outcome(rows, list(changes), ecs_rollout_instances(rows, TARGETS), TARGETS, **options)


def test_the_status():
    """canary_failed beats a problem, a problem gives failed, check mode planned, else converged."""
    failed = [full("i-1", result="failed")]
    assert outcome(failed, canary_failed=True)["status"] == "canary_failed"
    assert outcome(failed, check_mode=True)["status"] == "failed"
    assert outcome([full("i-1")], check_mode=True)["status"] == "planned"
    assert outcome([full("i-1")])["status"] == "converged"


def test_a_failed_cancelled_or_unfinished_change_is_a_problem():
    rows = [full("i-1", result=result, message="why") for result in ("failed", "cancelled", "pending")]
    assert outcome(rows, busy="skip", unreachable="skip")["problems"] == [
        "node on i-1: failed (why)", "node on i-1: cancelled (why)", "node on i-1: pending (why)"]


def test_a_busy_instance_is_a_problem_unless_busy_is_skip():
    busy = [full("i-1", result="busy", message="another run")]
    assert outcome(busy, busy="wait")["problems"] == ["node on i-1: busy (another run)"]
    assert outcome(busy, busy="fail")["problems"] == ["node on i-1: busy (another run)"]
    assert outcome(busy, busy="skip")["problems"] == []
    assert outcome([full("i-1", result="busy", verified="error")], busy="skip")["problems"] == [
        "node on i-1: verification error"]


def test_an_unreachable_instance_is_a_problem_only_when_unreachable_is_fail():
    rows = [full("i-1", result=result, message="m") for result in ("skipped", "unreachable", "unsupported")]
    assert outcome(rows, unreachable="fail")["problems"] == ["node on i-1: unreachable (m)"] * 3
    assert outcome(rows, unreachable="skip")["problems"] == []


def test_a_verification_that_is_not_ok_is_a_problem():
    """ok and not_run pass; unreachable passes only when unreachable is skip; anything else fails."""
    rows = [full("i-1", verified=v) for v in ("ok", "not_run", "unreachable", "would update", "error")]
    assert outcome(rows, unreachable="skip")["problems"] == [
        "node on i-1: verification would update", "node on i-1: verification error"]
    assert outcome(rows, unreachable="fail")["problems"] == [
        "node on i-1: verification unreachable", "node on i-1: verification would update",
        "node on i-1: verification error"]


def test_one_entry_per_change_counts_its_own_rows():
    rows = [full("i-1", action="install", result="succeeded", installed_version="v9"),
            full("i-2", action="update", result="failed", installed_version="v10", verified="error"),
            full("i-1", change="k-other", result="busy"), full("i-2", result="not_run", installed_version="")]
    assert outcome(rows)["extensions"] == [{
        "name": "node", "label": "node v27", "key": "k-node", "template": TEMPLATE, "state": "present",
        "version": "v27", "force": False, "instances": 2, "installed_versions": ["v10", "v9"], "changed": 1,
        "unchanged": 0, "failed": 1, "skipped": 0, "verified": 2}]
    counted = outcome([full("i-1", result=r) for r in ("unchanged", "skipped", "busy", "unreachable", "unsupported")])
    assert [counted["extensions"][0][k] for k in ("changed", "unchanged", "skipped")] == [0, 1, 4]


def test_a_change_without_rows_or_label_falls_back_to_its_name():
    entry = outcome([], changes=[dict(CHANGE, label=None), {k: v for k, v in CHANGE.items() if k != "label"}])
    assert [(e["label"], e["template"], e["installed_versions"]) for e in entry["extensions"]] == [
        (None, "node", []), ("node", "node", [])]


def test_installed_versions_that_differ_in_case_are_two_versions():
    """Bug fixed: the role's Jinja (Ansible's unique, case-insensitive) reported V1 and v1 as one version, hiding a
    fleet that runs two. They are sorted case-insensitively, as before."""
    rows = [full("i-1", installed_version=v) for v in ("v2", "V1", "v1", "v2", "a3")]
    assert outcome(rows)["extensions"][0]["installed_versions"] == ["a3", "V1", "v1", "v2"]


def test_the_headline_counts():
    prune = {"change": "k-prune", "prune": True, "action": "uninstall"}
    rows = [full("i-1", action="install", result="succeeded"), full("i-2", action="update", result="succeeded"),
            full("i-1", change="k-nginx", extension="nginx", action="uninstall", result="succeeded"),
            full("i-2", action="update", result="planned", verified="not_run"),
            full("i-1", result="cancelled", verified="unreachable"), full("i-2", result="unsupported"),
            full("i-1", result="not_run", verified="would install"),
            full("i-2", result="succeeded", **prune), full("i-1", result="planned", **prune),
            full("i-2", result="failed", **prune), full("i-1", result="not_opted_in", **prune)]
    nginx = dict(CHANGE, name="nginx", key="k-nginx", targets=TARGETS[:1])
    summary = outcome(rows, changes=[CHANGE, nginx, dict(CHANGE, key="k-node-2")], canary_instances=1)["summary"]
    assert summary == {
        "instances": 2, "instances_succeeded": 0, "instances_failed": 2, "instances_skipped": 0,
        "instances_changed": 2, "canary_instances": 1, "extensions": 2, "changes": 3, "rows": 11, "installed": 1,
        "updated": 1, "uninstalled": 2, "unchanged": 0, "planned": 2, "skipped": 1, "failed": 2, "not_run": 1,
        "pruned": 2, "would_prune": 1, "verified": 8, "unreachable": 1, "not_verified": 1}


def test_extension_names_that_differ_in_case_are_two_extensions():
    """Bug fixed: the count of distinct extensions took Node and node for one (Ansible's unique is case-insensitive);
    template names are case-sensitive."""
    assert outcome([], changes=[CHANGE, dict(CHANGE, name="Node", key="k-2")])["summary"]["extensions"] == 2


def test_a_phase_gives_one_line_per_change_that_ran():
    changes = [CHANGE, dict(CHANGE, name="nginx"), dict(CHANGE, name="redis")]
    results = [
        {"_extension_rollout_index": 0, "summary": {"installed": 3, "failed": 0, "unchanged": 1}},
        {"_extension_rollout_index": 1, "skipped": True},
        {"_extension_rollout_index": 2, "failed": True, "msg": "Throttling.User"},
        {"_extension_rollout_index": 0, "summary": {"installed": 0}},
    ]
    assert ecs_rollout_phase(results, changes) == [
        "node: installed 3, unchanged 1", "redis: failed: Throttling.User", "node: nothing to do"]
    assert "changed=" not in " ".join(ecs_rollout_phase(results, changes))
    assert ecs_rollout_phase(None, changes) == []


def test_the_filters_are_registered():
    assert FilterModule().filters() == {"ecs_rollout_rows": ecs_rollout_rows, "ecs_rollout_instances": ecs_rollout_instances,
                                        "ecs_rollout_outcome": ecs_rollout_outcome, "ecs_rollout_phase": ecs_rollout_phase}
