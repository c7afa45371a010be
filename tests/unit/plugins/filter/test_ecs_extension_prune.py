"""Pruning filters: what the extension_rollout role installed (from the execution history), what to prune, rows."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.filter.ecs_extension_prune import (
    ROLE_TAG,
    ecs_extension_owned,
    ecs_extension_prunes,
    ecs_prune_rows,
)

R = "cn-hangzhou"
NGINX = "ACS-Extension-nginx-1853370294850618"
NODE = "ACS-Extension-node-1853370294850618"
OURS = {ROLE_TAG[0]: ROLE_TAG[1]}
COUNTER = iter(range(10**6))


def execution(when, package, ids, action="install", status="Success", tags=None, parent="", targets=None):
    return dict(execution_id="exec-%d" % next(COUNTER), create_date=when, status=status, tags=tags or {},
                parent_execution_id=parent,
                parameters=dict(packageName=package, action=action, regionId=R,
                                targets=targets or dict(Type="ResourceIds", ResourceIds=list(ids), RegionId=R)))


def targets(*ids, region=R):
    return [dict(instance_id=i, region=region) for i in ids]


def owned_pairs(history, *ids):
    return [(o["instance_id"], o["template"]) for o in ecs_extension_owned([dict(executions=history)], targets(*ids))]


def test_the_roles_finished_install_owns_until_someone_else_touches_it():
    history = [
        execution("2026-11-01T10:00:00Z", NGINX, ["i-1", "i-2", "i-3"], tags=OURS),
        execution("2026-11-02T10:00:00Z", NGINX, ["i-2"], action="update"),                  # another tool after us
        execution("2026-11-03T10:00:00Z", NGINX, ["i-3"], action="update", tags=OURS),        # our update keeps it
    ]
    assert owned_pairs(history, "i-1", "i-2", "i-3") == [("i-1", NGINX), ("i-3", NGINX)]


def test_what_someone_else_installed_is_never_owned_even_if_the_role_updated_it_later():
    history = [execution("2026-11-01T10:00:00Z", NODE, ["i-1"]),
               execution("2026-11-02T10:00:00Z", NODE, ["i-1"], action="update", tags=OURS)]
    assert owned_pairs(history, "i-1") == []


def test_uninstalls_cancelled_and_unfinished_installs_and_children_do_not_own():
    history = [
        execution("2026-11-01T10:00:00Z", NGINX, ["i-1"], tags=OURS),
        execution("2026-11-02T10:00:00Z", NGINX, ["i-1"], action="uninstall", tags=OURS),
        execution("2026-11-01T10:00:00Z", NGINX, ["i-2"], status="Cancelled", tags=OURS),
        execution("2026-11-01T10:00:00Z", NGINX, ["i-3"], status="Running", tags=OURS),
        execution("2026-11-01T10:00:00Z", NGINX, ["i-4"], tags=OURS, parent="exec-parent"),
    ]
    assert owned_pairs(history, "i-1", "i-2", "i-3", "i-4") == []
    # a failed execution ran to its end: the instances it installed on are the role's
    assert owned_pairs([execution("2026-11-01T10:00:00Z", NGINX, ["i-5"], status="Failed", tags=OURS)], "i-5") == [
        ("i-5", NGINX)]


def test_the_roles_uninstall_that_did_not_get_through_keeps_it_the_roles():
    installed = execution("2026-11-01T10:00:00Z", NGINX, ["i-1"], tags=OURS)
    for status in ("Failed", "Cancelled", "Running"):
        history = [installed, execution("2026-11-02T10:00:00Z", NGINX, ["i-1"], action="uninstall", status=status,
                                        tags=OURS)]
        assert owned_pairs(history, "i-1") == [("i-1", NGINX)], status


def test_reinstalled_by_the_role_after_a_foreign_uninstall_is_owned_again():
    history = [execution("2026-11-01T10:00:00Z", NGINX, ["i-1"], tags=OURS),
               execution("2026-11-02T10:00:00Z", NGINX, ["i-1"], action="uninstall"),
               execution("2026-11-03T10:00:00Z", NGINX, ["i-1"], tags=OURS)]
    owned = ecs_extension_owned([dict(executions=list(reversed(history)))], targets("i-1"))   # newest first, as listed
    assert [(o["template"], o["execution_id"], o["installed_at"]) for o in owned] == [
        (NGINX, history[2]["execution_id"], "2026-11-03T10:00:00Z")]


def test_a_foreign_execution_in_the_same_second_counts_as_later():
    history = [execution("2026-11-01T10:00:00Z", NGINX, ["i-1"]),
               execution("2026-11-01T10:00:00Z", NGINX, ["i-1"], tags=OURS)]
    assert owned_pairs(history, "i-1") == []


def test_a_foreign_execution_that_selects_by_tag_revokes_its_region_only():
    by_tag = dict(Type="Tags", RegionId=R, Tags=[dict(Key="role", Value="web")])
    history = [execution("2026-11-01T10:00:00Z", NGINX, ["i-1", "i-2"], tags=OURS),
               execution("2026-11-02T10:00:00Z", NGINX, [], targets=by_tag)]
    assert owned_pairs(history, "i-1") == []
    other = [dict(instance_id="i-2", region="cn-shanghai")]
    assert ecs_extension_owned([dict(executions=history)], other) != []


def test_a_tag_that_other_tools_could_set_by_hand_needs_resource_ids():
    """The role always names instance ids; an execution with the role's tag that does not is someone else's."""
    by_tag = dict(Type="Tags", RegionId=R, Tags=[dict(Key="role", Value="web")])
    history = [execution("2026-11-01T10:00:00Z", NGINX, [], tags=OURS, targets=by_tag)]
    assert owned_pairs(history, "i-1") == []


def test_skipped_or_failed_listings_and_other_templates_are_ignored():
    history = [dict(skipped=True), dict(executions=[dict(execution_id="exec-x", parameters={"action": "scan"})]),
               "junk", dict(executions=[execution("2026-11-01T10:00:00Z", NGINX, ["i-1"], tags=OURS)])]
    assert [o["template"] for o in ecs_extension_owned(history, targets("i-1"))] == [NGINX]


CHANGES = [dict(name="node", targets=targets("i-1", "i-2")), dict(name="redis", targets=targets("i-2"))]
OWNED = [dict(instance_id=i, region=R, template=t, execution_id="exec-%s" % i, installed_at="2026-11-01T10:00:00Z")
         for i, t in (("i-1", NODE), ("i-1", NGINX), ("i-2", NGINX), ("i-3", NGINX))]


def test_prune_what_the_role_installed_and_no_wanted_change_names():
    results = [dict(extension=dict(name=NODE)), dict(extension=dict(name="ACS-Extension-redis-1"))]
    plan = ecs_extension_prunes(OWNED, CHANGES, results, targets("i-1", "i-2", "i-3"))
    assert plan["unresolved"] == []
    assert [(g["extension"], [t["instance_id"] for t in g["targets"]]) for g in plan["groups"]] == [
        ("nginx", ["i-1", "i-2", "i-3"])]     # node is wanted on i-1 (by its friendly name); i-3 wants nothing
    assert plan["groups"][0]["installed_by"]["i-3"] == "execution exec-i-3 at 2026-11-01T10:00:00Z"


def test_a_host_whose_wanted_template_is_unknown_is_not_pruned():
    results = [dict(extension=dict(name=NODE)), dict(failed=True, msg="no such extension: redis")]
    plan = ecs_extension_prunes(OWNED, CHANGES, results, targets("i-1", "i-2"))
    assert plan["unresolved"] == ["i-2"]
    assert [[t["instance_id"] for t in g["targets"]] for g in plan["groups"]] == [["i-1"]]


def test_only_the_phases_targets_are_pruned():
    results = [dict(extension=dict(name=NODE)), dict(extension=dict(name="ACS-Extension-redis-1"))]
    plan = ecs_extension_prunes(OWNED, CHANGES, results, targets("i-3"))
    assert [[t["instance_id"] for t in g["targets"]] for g in plan["groups"]] == [["i-3"]]


GROUP = dict(name=NGINX, extension="nginx", key="k1", targets=targets("i-1", "i-2", "i-3"),
             installed_by={"i-1": "exec-1 (t)", "i-2": "exec-2 (t)", "i-3": "exec-3 (t)"})


def entry(action, result, **extra):
    return dict(dict(action=action, result=result, name="web", region=R, previous_version="v3", new_version="",
                     message="m"), **extra)


def test_rows_without_the_opt_in_list_only_predicted_removals_as_would_prune():
    result = dict(instances={"i-1": entry("uninstall", "planned"), "i-2": entry("none", "unchanged"),
                             "i-3": entry("skip", "unreachable")})
    rows = ecs_prune_rows([GROUP], [result], "rollout", opted_in=False)
    assert [(r["instance_id"], r["result"]) for r in rows] == [("i-1", "not_opted_in")]
    assert rows[0]["message"].startswith("would prune (opt-in: extension_rollout_prune)") and rows[0]["prune"] is True
    assert "exec-1" in rows[0]["message"]


def test_rows_with_the_opt_in_carry_the_module_results_and_the_verification():
    result = dict(instances={"i-1": entry("uninstall", "succeeded"), "i-2": entry("none", "unchanged")})
    verify = dict(instances={"i-1": entry("none", "unchanged"), "i-2": entry("uninstall", "planned")})
    rows = ecs_prune_rows([GROUP], [result], "canary", opted_in=True, verify=[verify])
    assert [(r["instance_id"], r["action"], r["result"], r["verified"], r["phase"]) for r in rows] == [
        ("i-1", "uninstall", "succeeded", "ok", "canary"), ("i-2", "none", "unchanged", "would uninstall", "canary"),
        ("i-3", "", "not_run", "not_run", "canary")]
    failed = ecs_prune_rows([GROUP], [dict(failed=True, msg="boom")], opted_in=True)
    assert {r["result"] for r in failed} == {"failed"} and "boom" in failed[0]["message"]
