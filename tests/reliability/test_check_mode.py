"""R2 check mode: nothing that runs in check mode changes the cloud, and it says what it would change.

Every module (all nine), both roles and the three playbooks run in check mode against a fleet where a
real run WOULD change things: extensions missing, older or to be removed, patches missing after a scan,
a baseline that is missing or differs, a command to run, an invocation to stop. Each test asserts:

- the simulator's call log since the check-mode run started holds only reads (``harness.is_mutating``:
  no action outside Describe*/List*/Get*), and at least one read, so the run did look at the cloud;
- the simulator's state (instances, packages, commands, invocations, executions, baselines, patch
  states) is the same before and after;
- the result says ``changed=true`` where a real run would change something (``false`` for the info
  modules and a scan, which change nothing by design), with the plan per instance, and the diff where
  the module supports diff mode (oos_extension_install, oos_patch_baseline).

Roles run through ``ansible-playbook --check`` with ``include_role``, as the molecule converge
playbooks call them. The playbooks of ``playbooks/`` run with ``--check`` too: ``run_command.yml``
always, the two role playbooks at full size only (they run the same roles as the role tests).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from harness import FULL, ROOT, is_mutating, names_to_ids, resolve, run_module, run_playbook

ROLES_PATH = str(ROOT / "roles")
NODE = "ACS-Extension-node-1853370294850618"
NGINX = "ACS-Extension-nginx-1853370294850618"
FAST = {"poll_interval": 0.2}
# A window that opens in two hours (judged against the real time, as the module does).
CLOSED_WINDOW = {"start": (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%H:%M"), "duration": "1h"}
RULES = [{"classifications": ["Security", "Bugfix"], "severities": ["Critical", "Important"]}]


def _public(name):
    return str(name if isinstance(name, str) else (name or {}).get("name", "")).startswith("ACS-")


def cloud_state(sim, skip=()):
    """The simulator's state without the clock (and without ``skip`` top-level keys).

    The simulator creates a region's public patch baselines (and their default registrations) lazily, at
    the first patch call in that region; they are not a change, so they are left out.
    """
    state = {k: v for k, v in sim.state().items() if k != "now" and k not in skip}
    patching = state.get("patching")
    if isinstance(patching, dict):
        baselines = {r: [b for b in names if not _public(b)] for r, names in (patching.get("baselines") or {}).items()}
        defaults = {r: {os_: n for os_, n in d.items() if n != "ACS-%s-DefaultPatchBaseline" % os_}
                    for r, d in (patching.get("defaults") or {}).items()}
        state["patching"] = dict(patching, baselines={r: b for r, b in baselines.items() if b},
                                 defaults={r: d for r, d in defaults.items() if d})
    return state


def setup_real(sim, ids, steps):
    for module, args in steps:
        if module == "admin":      # a simulator test hook: (path, body)
            sim.admin(*args)
            continue
        rc, result, _out, err = run_module(sim, module, resolve(args, ids))
        assert rc == 0 and not result.get("failed"), "setup %s failed: %s %s" % (module, result.get("msg"), err[-800:])


def assert_read_only(sim, mark):
    calls = sim.calls(mark)
    mutating = [c["product"] + " " + c["action"] for c in calls if is_mutating(c)]
    assert not mutating, "check mode made mutating call(s): %s" % ", ".join(mutating)
    assert calls, "check mode made no API call at all (it did not read the cloud)"
    return calls


# --- the modules ---------------------------------------------------------------------------------------
def expect_command_would_run(r, ids):
    web1, win = ids["web-1"], ids["win"]
    assert r["summary"]["planned"] == 2
    assert {r["instances"][i]["status"] for i in (web1, win)} == {"WouldRun"}
    assert r["instances"][web1]["type"] == "RunShellScript" and r["instances"][win]["type"] == "RunPowerShellScript"
    assert sorted(b["type"] for b in r["invocations"]) == ["RunPowerShellScript", "RunShellScript"]
    assert not r.get("invoke_ids") and not any(b.get("invoke_id") for b in r["invocations"])


def expect_existing_command_would_run(r, ids):
    assert r["summary"]["planned"] == 1 and r["instances"][ids["web-2"]]["status"] == "WouldRun"
    assert r["invocations"][0]["command_id"].startswith("c-") and not r.get("invoke_ids")


def expect_stop_would_happen(r, ids):
    assert r["invoke_id"].startswith("t-") and r["status"] in ("Pending", "Running", "Scheduled")


def expect_install_planned(r, ids):
    for name in ("web-1", "web-2"):
        entry = r["instances"][ids[name]]
        assert entry["action"] == "install" and entry["result"] == "planned", entry
        assert r["diff"]["before"][ids[name]] == "absent" and r["diff"]["after"][ids[name]] == "v27"
    assert r["executions"] == [] and r["summary"]["to_install"] == 2


def expect_update_planned(r, ids):
    entry = r["instances"][ids["web-1"]]
    assert entry["action"] == "update" and entry["result"] == "planned" and entry["previous_version"] == "v19"
    assert r["diff"] == {"before": {ids["web-1"]: "v19"}, "after": {ids["web-1"]: "v27"}}
    assert r["executions"] == []


def expect_uninstall_planned(r, ids):
    entry = r["instances"][ids["web-1"]]
    assert entry["action"] == "uninstall" and entry["result"] == "planned"
    assert r["diff"]["before"][ids["web-1"]] == "v5" and r["diff"]["after"][ids["web-1"]] == "absent"
    assert r["instances"][ids["web-2"]]["action"] == "none"
    assert r["summary"]["to_uninstall"] == 1 and r["executions"] == []


def expect_baseline_create(r, ids):
    assert r["actions"] == ["create", "register_default"]
    assert r["diff"]["before"] == {} and r["diff"]["after"]["name"] == "r2-base"
    assert r["diff"]["after"]["operation_system"] == "AliyunLinux" and r["diff"]["after"]["default"] is True


def expect_baseline_update(r, ids):
    assert r["actions"] == ["update", "register_default"]
    assert set(r["changed_fields"]) >= {"description", "approval_rules", "default"}
    assert r["diff"]["before"]["description"] == "old" and r["diff"]["after"]["description"] == "new"
    assert r["diff"]["before"]["approval_rules"] != r["diff"]["after"]["approval_rules"]


def expect_baseline_delete(r, ids):
    assert r["actions"] == ["restore_system_default", "delete"]
    assert r["diff"]["before"]["name"] == "r2-base" and r["diff"]["after"] == {}


def expect_patch_install_planned(r, ids):
    for name in ("web-1", "web-2"):
        entry = r["instances"][ids[name]]
        assert entry["result"] == "planned" and entry["missing_patches"], entry
        assert entry["before"]["missing"] == len(entry["missing_patches"])
    assert r["execution_ids"] == [] and r["summary"]["planned"] == 2


def expect_patch_scan_planned(r, ids):
    assert r["instances"][ids["web-1"]]["result"] == "planned" and r["execution_ids"] == []


def expect_patch_deferred(r, ids):
    entry = r["instances"][ids["web-1"]]
    assert entry["result"] == "deferred" and "in that window: would install" in entry["message"], entry
    assert r["window"]["open"] is False and r["execution_ids"] == []


def expect_snapshots_would_go(r, ids):
    assert r["summary"]["would_delete"] == 2 and r["summary"]["deleted"] == 0, r["summary"]
    assert {e["instance_id"] for e in r["snapshots"]} == {ids["web-1"], ids["web-2"]}


def expect_info(key, check=None):
    def expect(r, ids):
        assert r.get(key), "empty %s: %s" % (key, r)
        if check:
            check(r, ids)
    return expect


INSTALL_NODE_V19 = ("oos_extension_install", dict(FAST, name="node", version="v19", instance_ids=["@web-1"]))
INSTALL_NGINX = ("oos_extension_install", dict(FAST, name="nginx", instance_ids=["@web-1"]))
CREATE_BASELINE = ("oos_patch_baseline", {"name": "r2-base", "operation_system": "AliyunLinux", "description": "old",
                                          "approval_rules": [{"severities": ["Critical"]}]})
SCAN = ("oos_patch_run", dict(FAST, action="scan", instance_ids=["@web-1", "@web-2"]))
INSTALL_WITH_SNAPSHOTS = ("oos_patch_run", dict(FAST, action="install", instance_ids=["@web-1", "@web-2"],
                                                create_snapshot=True, snapshot_retention_days=30))
SNAPSHOTS_TEN_DAYS_OLD = ("admin", ("snapshots/backdate", {"days": 10}))
PERIODIC = ("ecs_cloud_assistant_command", dict(FAST, command="true", instance_ids=["@web-1"],
                                                repeat_mode="Period", frequency="rate(1h)"))
KEPT_COMMAND = ("ecs_cloud_assistant_command", dict(FAST, command="echo kept", instance_ids=["@web-1"],
                                                    keep_command=True))


SCHEDULE = ("ecs_cloud_assistant_schedule", dict(name="r2-nightly", command="true", instance_ids=["@web-1"],
                                                 frequency="rate(1h)"))


def _expect(ok, result):
    assert ok, result


def scenario(id, module, args, changed, expect, setup=(), diff=False, skip_state=()):  # noqa: A002
    return pytest.param(dict(module=module, args=args, changed=changed, expect=expect, setup=list(setup), diff=diff,
                             skip_state=skip_state), id=id)


MODULE_SCENARIOS = [
    scenario("ecs_cloud_assistant_info", "ecs_cloud_assistant_info", {"instance_ids": ["@web-1", "@stopped"]}, False,
             expect_info("instances", lambda r, ids: r["not_ready_instance_ids"] == [ids["stopped"]])),
    scenario("ecs_cloud_assistant_command-run", "ecs_cloud_assistant_command",
             {"command": "touch /tmp/r2-would-run", "instance_ids": ["@web-1", "@win"]}, True,
             expect_command_would_run),
    scenario("ecs_cloud_assistant_command-existing", "ecs_cloud_assistant_command",
             {"command_name": "ansible-ecs_cloud_assistant_command", "instance_ids": ["@web-2"]}, True,
             expect_existing_command_would_run, setup=[KEPT_COMMAND]),
    scenario("ecs_cloud_assistant_command-stop", "ecs_cloud_assistant_command",
             {"state": "absent", "invoke_id": "@invoke"}, True, expect_stop_would_happen, setup=[PERIODIC],
             skip_state=("commands",)),
    scenario("ecs_cloud_assistant_schedule-create", "ecs_cloud_assistant_schedule",
             {"name": "r2-nightly", "command": "true", "instance_ids": ["@web-1"], "frequency": "rate(1h)"}, True,
             lambda r, ids: _expect(r["action"] == "created" and r["schedule"]["invoke_id"] == "", r), diff=True),
    scenario("ecs_cloud_assistant_schedule-stop", "ecs_cloud_assistant_schedule",
             {"name": "r2-nightly", "state": "absent"}, True,
             lambda r, ids: _expect(r["action"] == "stopped" and len(r["stopped_invoke_ids"]) == 1, r),
             setup=[SCHEDULE], skip_state=("commands",)),
    scenario("ecs_cloud_assistant_schedule_info", "ecs_cloud_assistant_schedule_info", {}, False,
             expect_info("schedules"), setup=[SCHEDULE]),
    scenario("oos_extension_info", "oos_extension_info", {"search": "node", "include_parameters": True}, False,
             expect_info("extensions")),
    scenario("oos_extension_install-install", "oos_extension_install",
             {"name": "node", "instance_ids": ["@web-1", "@web-2"]}, True, expect_install_planned, diff=True),
    scenario("oos_extension_install-update", "oos_extension_install",
             {"name": NODE, "state": "latest", "instance_ids": ["@web-1"]}, True, expect_update_planned,
             setup=[INSTALL_NODE_V19], diff=True),
    scenario("oos_extension_install-uninstall", "oos_extension_install",
             {"name": NGINX, "state": "absent", "instance_ids": ["@web-1", "@web-2"]}, True, expect_uninstall_planned,
             setup=[INSTALL_NGINX], diff=True),
    scenario("oos_execution_info", "oos_execution_info",
             {"template_name": "ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL", "include_instances": True,
              "include_tasks": True, "include_logs": True}, False, expect_info("executions"), setup=[INSTALL_NGINX]),
    scenario("oos_patch_baseline-create", "oos_patch_baseline",
             {"name": "r2-base", "operation_system": "AliyunLinux", "approval_rules": RULES, "default": True}, True,
             expect_baseline_create, diff=True),
    scenario("oos_patch_baseline-update", "oos_patch_baseline",
             {"name": "r2-base", "description": "new", "operation_system": "AliyunLinux", "approval_rules": RULES,
              "default": True}, True, expect_baseline_update, setup=[CREATE_BASELINE], diff=True),
    scenario("oos_patch_baseline-delete", "oos_patch_baseline", {"name": "r2-base", "state": "absent"}, True,
             expect_baseline_delete,
             setup=[CREATE_BASELINE, ("oos_patch_baseline", {"name": "r2-base", "default": True})],
             diff=True),
    scenario("oos_patch_baseline_info", "oos_patch_baseline_info", {"operation_system": "AliyunLinux"}, False,
             expect_info("baselines")),
    scenario("oos_patch_compliance_info", "oos_patch_compliance_info",
             {"instance_ids": ["@web-1", "@web-2"], "include_patches": True}, False,
             expect_info("non_compliant_instance_ids"), setup=[SCAN]),
    scenario("oos_patch_run-install", "oos_patch_run", dict(FAST, action="install", instance_ids=["@web-1", "@web-2"]),
             True, expect_patch_install_planned, setup=[SCAN]),
    scenario("oos_patch_run-scan", "oos_patch_run", dict(FAST, action="scan", instance_ids=["@web-1"]), False,
             expect_patch_scan_planned),
    scenario("oos_patch_run-outside-window", "oos_patch_run",
             dict(FAST, action="install", instance_ids=["@web-1"], window=CLOSED_WINDOW), False,
             expect_patch_deferred, setup=[SCAN]),
    scenario("oos_patch_snapshot_cleanup", "oos_patch_snapshot_cleanup", {"retention_days": 7}, True,
             expect_snapshots_would_go, setup=[INSTALL_WITH_SNAPSHOTS, SNAPSHOTS_TEN_DAYS_OLD]),
]


def test_every_module_is_covered():
    modules = {p.values[0]["module"] for p in MODULE_SCENARIOS}
    shipped = {p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_")}
    assert modules == shipped, "modules without a check-mode scenario: %s" % sorted(shipped - modules)


@pytest.mark.parametrize("spec", MODULE_SCENARIOS)
def test_module_check_mode_is_read_only(sim, spec):
    ids = names_to_ids(sim)
    setup_real(sim, ids, spec["setup"])
    if spec["setup"] and spec["setup"][-1] is PERIODIC:
        ids["invoke"] = next(iter(sim.state()["commands"]["invocations"]))
    args = resolve(spec["args"], ids)
    if spec["diff"]:
        args["_ansible_diff"] = True
    before = cloud_state(sim, spec["skip_state"])
    mark = sim.mark()
    rc, result, stdout, stderr = run_module(sim, spec["module"], args, check=True)
    assert rc == 0 and not result.get("failed"), "check mode failed: %s %s" % (result.get("msg"), stderr[-1500:])
    assert_read_only(sim, mark)
    assert cloud_state(sim, spec["skip_state"]) == before, "the cloud changed in check mode"
    assert result["changed"] is spec["changed"], "changed=%s, expected %s" % (result["changed"], spec["changed"])
    spec["expect"](result, ids)


def test_stopping_an_invocation_in_check_mode_leaves_it_running(sim):
    """The periodic invocation that check mode would stop is still active afterwards."""
    ids = names_to_ids(sim)
    setup_real(sim, ids, [PERIODIC])
    invoke_id = next(iter(sim.state()["commands"]["invocations"]))
    mark = sim.mark()
    rc, result, _out, err = run_module(sim, "ecs_cloud_assistant_command", {"state": "absent", "invoke_id": invoke_id},
                                       check=True)
    assert rc == 0 and result["changed"] is True, (result.get("msg"), err[-800:])
    assert_read_only(sim, mark)
    rc, after, _out, _err = run_module(sim, "ecs_cloud_assistant_command", {"state": "absent", "invoke_id": invoke_id},
                                       check=True)
    assert after["changed"] is True and after["status"] in ("Pending", "Running", "Scheduled"), after


# --- roles and playbooks --------------------------------------------------------------------------------
TASK_RE = re.compile(r"^TASK \[(?P<name>.*?)\] \**$")
STATUS_RE = re.compile(r"^(?P<status>ok|changed|skipping|fatal|failed): \[")
RECAP_RE = re.compile(r"^localhost\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                      r"\s+failed=(?P<failed>\d+)", re.M)


def task_statuses(stdout, name_fragment):
    """The result statuses (ok, changed, skipping, failed...) of the tasks whose name contains the fragment."""
    statuses, current = [], False
    for line in stdout.splitlines():
        task = TASK_RE.match(line)
        if task:
            current = name_fragment in task.group("name")
            continue
        status = STATUS_RE.match(line)
        if current and status:
            statuses.append(status.group("status"))
    return statuses


def recap(stdout):
    found = RECAP_RE.findall(stdout)
    assert found, "no PLAY RECAP in the output:\n%s" % stdout[-2000:]
    ok, changed, unreachable, failed = (int(v) for v in found[-1])
    return dict(ok=ok, changed=changed, unreachable=unreachable, failed=failed)


def include_role_play(role, variables):
    return ("- name: R2 %s in check mode\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
            "    - name: Include the role\n      ansible.builtin.include_role:\n        name: %s\n"
            "      vars: %s\n" % (role, role, json.dumps(variables)))


def run_checked(sim, playbook, extra_vars=None, env=None):
    before = cloud_state(sim)
    mark = sim.mark()
    proc = run_playbook(sim, playbook, extra_vars=extra_vars, check=True,
                        env=dict({"ANSIBLE_ROLES_PATH": ROLES_PATH}, **(env or {})))
    assert proc.returncode == 0, "check mode failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-2000:])
    calls = assert_read_only(sim, mark)
    assert cloud_state(sim) == before, "the cloud changed in check mode"
    return proc, calls


def rollout_vars(ids, report_dir):
    return {
        "extension_rollout_extensions": [
            {"name": "node", "state": "latest"},
            {"name": "BT Panel", "parameters": {"username": "ops", "port": 8888},
             "secret_parameters": {"password": "R2-not-a-secret-123"}},
            {"name": NGINX, "state": "absent"},
        ],
        "extension_rollout_region": "cn-hangzhou",
        "extension_rollout_instance_ids": [ids["web-1"], ids["web-2"], ids["stopped"]],
        "extension_rollout_unreachable": "skip",
        "extension_rollout_poll_interval": 0.2,
        "extension_rollout_wait_timeout": 120,
        "extension_rollout_report_dir": str(report_dir),
        "extension_rollout_report_name": "r2",
    }


def check_rollout_report(report_dir, ids):
    report = json.loads((report_dir / "r2.json").read_text())
    assert report["status"] == "planned", report["status"]
    rows = {(r["extension"], r["instance_id"]): r for r in report["instances"]}
    assert rows[("node", ids["web-1"])]["result"] == "planned" and rows[("node", ids["web-1"])]["action"] == "update"
    assert rows[("node", ids["web-2"])]["action"] == "install" and rows[("node", ids["web-2"])]["result"] == "planned"
    assert rows[("BT Panel", ids["web-2"])]["result"] == "planned"
    assert rows[(NGINX, ids["web-1"])]["action"] == "uninstall" and rows[(NGINX, ids["web-1"])]["result"] == "planned"
    assert rows[("node", ids["stopped"])]["result"] == "unreachable"
    assert report["summary"]["planned"] >= 5 and report["summary"]["installed"] == 0


def test_extension_rollout_role_in_check_mode(sim, tmp_path):
    """Node.js older on web-1 and missing on web-2, BT Panel missing, nginx to remove: only a plan."""
    ids = names_to_ids(sim)
    setup_real(sim, ids, [INSTALL_NODE_V19, INSTALL_NGINX])
    proc, _calls = run_checked(sim, include_role_play("extension_rollout", rollout_vars(ids, tmp_path)))
    assert task_statuses(proc.stdout, "Canary | Roll the extensions out") == ["changed"] * 3
    assert "changed" in task_statuses(proc.stdout, "Rollout | Roll the extensions out")
    assert recap(proc.stdout)["changed"] >= 2
    check_rollout_report(tmp_path, ids)


def patch_vars(ids, report_dir):
    return {
        "patch_management_region": "cn-hangzhou",
        "patch_management_instance_ids": [ids["web-1"], ids["web-2"]],
        "patch_management_baselines": [{"name": "r2-aliyunlinux", "operation_system": "AliyunLinux",
                                        "approval_rules": RULES}],
        "patch_management_mode": "install",
        "patch_management_approved": True,
        "patch_management_poll_interval": 0.2,
        "patch_management_wait_timeout": 120,
        "patch_management_report_dir": str(report_dir),
    }


def check_patch_output(proc):
    assert task_statuses(proc.stdout, "Ensure the declared patch baselines") == ["changed"]
    assert task_statuses(proc.stdout, "Install the approved missing patches") == ["changed"]
    assert "Gate: approved: installing on the 2 non-compliant instance(s)" in proc.stdout
    assert recap(proc.stdout)["changed"] >= 2


def test_patch_management_role_in_check_mode(sim, tmp_path):
    """After a real scan (patches missing), a baseline to create and an approved install: only a plan."""
    ids = names_to_ids(sim)
    setup_real(sim, ids, [SCAN])
    proc, _calls = run_checked(sim, include_role_play("patch_management", patch_vars(ids, tmp_path)))
    check_patch_output(proc)
    # The plan for a pull request: both instances would be snapshotted and patched; nothing is blocked.
    plan = json.loads((tmp_path / "patch-plan.json").read_text())
    assert plan["kind"] == "patch_management" and not plan["empty"]
    assert plan["summary"]["by_action"] == {"patch": 2, "snapshot": 2}
    assert sorted(e["instance_id"] for e in plan["instances"]) == sorted([ids["web-1"], ids["web-2"]])
    assert (tmp_path / "patch-plan.md").read_text().startswith("### Patch plan: 4 change(s)")
    # With patch_management_plan_fail_on_changes the same plan is the distinct "Plan not empty" failure.
    proc = run_playbook(sim, include_role_play("patch_management", dict(
        patch_vars(ids, tmp_path), patch_management_plan_fail_on_changes=True)), check=True,
        env={"ANSIBLE_ROLES_PATH": ROLES_PATH})
    assert proc.returncode != 0 and "Plan not empty: 4 change(s) on 2 instance(s)" in proc.stdout


def test_a_closed_maintenance_window_defers_the_role_install(sim, tmp_path):
    """The role passes its window to the install: outside the window nothing starts, the instances are reported
    deferred, and the round does not fail."""
    ids = names_to_ids(sim)
    setup_real(sim, ids, [SCAN])
    mark = sim.mark()
    closed = {"start": "%02d:00" % ((datetime.now(timezone.utc).hour + 6) % 24), "duration": "1h", "timezone": "UTC"}
    proc = run_playbook(sim, include_role_play("patch_management", dict(
        patch_vars(ids, tmp_path), patch_management_window=closed)), env={"ANSIBLE_ROLES_PATH": ROLES_PATH})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not [c for c in sim.mutating_calls(mark) if c["action"] == "StartExecution"
                and "install" in c["params"].get("Parameters", "")], "an install started outside the window"
    report = json.loads((tmp_path / "patch-report.json").read_text())
    assert report["counts"]["deferred"] == 2 and report["install"]["window"]


def test_run_command_playbook_in_check_mode(sim):
    ids = names_to_ids(sim)
    proc, calls = run_checked(sim, str(ROOT / "playbooks" / "run_command.yml"), extra_vars={
        "region": "cn-hangzhou", "command_instance_ids": [ids["web-1"], ids["web-2"], ids["stopped"]],
        "command_text": "touch /tmp/r2-would-run"})
    assert task_statuses(proc.stdout, "Run the command") == ["changed"]
    assert {c["action"] for c in calls} <= {"DescribeInstances", "DescribeCloudAssistantStatus"}


@pytest.mark.skipif(not FULL, reason="full size only: the role test above runs the same role")
def test_extension_rollout_playbook_in_check_mode(sim, tmp_path):
    ids = names_to_ids(sim)
    setup_real(sim, ids, [INSTALL_NODE_V19, INSTALL_NGINX])
    proc, _calls = run_checked(sim, str(ROOT / "playbooks" / "extension_rollout.yml"),
                               extra_vars=rollout_vars(ids, tmp_path))
    check_rollout_report(tmp_path, ids)
    assert recap(proc.stdout)["changed"] >= 2


@pytest.mark.skipif(not FULL, reason="full size only: the role test above runs the same role")
def test_patch_scan_then_install_playbook_in_check_mode(sim, tmp_path):
    ids = names_to_ids(sim)
    setup_real(sim, ids, [SCAN])
    proc, _calls = run_checked(sim, str(ROOT / "playbooks" / "patch_scan_then_install.yml"),
                               extra_vars=patch_vars(ids, tmp_path))
    check_patch_output(proc)
