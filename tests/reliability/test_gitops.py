"""R10 GitOps: the example repository under playbooks/gitops plays a pull request against the simulator.

The repository is copied as it ships; the test then edits its group_vars the way a pull request would. Evidence is
the simulator's state and call log (packages per instance, the schedule invocations, mutating calls) and the files
the playbooks write (gitops.json, plan.json, the JUnit XML), not only the playbooks' exit codes.

Pruning: an extension removed from a group's list stays without the opt-in (the plan says "would prune"), and with
it only the instances where the role installed it lose it, not those where another tool installed or touched it.
The patch_management role's plan (check mode) and JUnit results are played the same way: plan, apply, plan.
"""

from __future__ import annotations

import json
import shutil
from xml.etree import ElementTree

import pytest

from harness import ROOT, names_to_ids, role_play, run_module, run_playbook

R = "cn-hangzhou"
NODE = "ACS-Extension-node-1853370294850618"
NGINX = "ACS-Extension-nginx-1853370294850618"
FLEET = {"durations": {"install": 20, "uninstall": 10}, "regions": {R: {"instances": [
    {"name": "web", "count": 3, "os_type": "linux", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
     "tags": {"role": "web"}},
    {"name": "web-spare", "os_type": "linux", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit", "status": "Stopped",
     "tags": {"role": "web"}},
    {"name": "api", "count": 2, "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit", "tags": {"role": "api"}},
    {"name": "api-spare", "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit", "status": "Stopped",
     "tags": {"role": "api"}},
    {"name": "db", "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit", "tags": {"role": "db"}},
]}}}


@pytest.fixture
def repo(sim, tmp_path):
    sim.reset(FLEET, time_scale=0.01)
    copy = tmp_path / "gitops"
    shutil.copytree(ROOT / "playbooks" / "gitops", copy)
    return copy


def play(sim, repo, name, check=False, **extra):
    out = repo / "out"
    proc = run_playbook(sim, str(repo / name), inventory=str(repo / "inventory"), check=check,
                        extra_vars=dict(dict(gitops_poll_interval=0.2), **extra),
                        env={"GITOPS_REPORT_DIR": str(out)})
    outcome = json.loads((out / "gitops.json").read_text()) if (out / "gitops.json").exists() else None
    return proc, outcome


def packages(sim):
    """{instance name: {extension: installed parameters}}."""
    return {i["name"]: {k: v.get("parameters", {}) for k, v in i["packages"].items()}
            for i in sim.state()["instances"].values()}


def test_a_pull_request_plan_apply_plan(sim, repo):
    # 1. The plan of the repository as it ships: non-empty, and nothing changes in the cloud.
    mark = sim.mark()
    proc, outcome = play(sim, repo, "plan.yml", check=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert sim.mutating_calls(mark) == [], "the plan changed something"
    assert outcome["check_mode"] is True and outcome["empty"] is False
    assert outcome["extensions"]["by_action"] == {"install": 8}     # web: node + nginx x3, api: node x2
    assert outcome["extensions"]["instances_blocked"] == 2          # the stopped api-spare and web-spare
    assert outcome["schedules"] == {"nightly-log-cleanup": "created"}
    # The stopped web-spare carries the schedule's tag: the schedule is planned on the others, web-spare is blocked.
    ids = names_to_ids(sim)
    assert [(b["instance_id"], b["name"]) for b in outcome["schedules_blocked"]["nightly-log-cleanup"]] == [
        (ids["web-spare"], "web-spare")]
    assert outcome["blocked"] == 2 and outcome["converged"] is False
    plan = json.loads((repo / "out" / "plan.json").read_text())
    assert sorted(e["name"] for e in plan["instances"] if e["blocked"]) == ["api-spare", "web-spare"]
    markdown = (repo / "out" / "gitops.md").read_text()
    assert "- `nightly-log-cleanup`: created; blocked on 1 instance(s), left out:\n  - `%s` web-spare: " % ids[
        "web-spare"] in markdown, markdown
    web = next(e for e in plan["instances"] if e["name"] == "web-1")
    assert sorted(c["item"] for c in web["changes"]) == ["nginx", "node"]
    assert (repo / "out" / "gitops.md").read_text().startswith("### Extensions: 8 change(s)")

    # The pipeline's signal: the same plan with gitops_fail_on_changes fails, naming why.
    proc, _outcome = play(sim, repo, "plan.yml", check=True, gitops_fail_on_changes=True)
    assert proc.returncode != 0 and "Plan not empty" in proc.stdout

    # 2. Merge: apply converges the fleet.
    proc, outcome = play(sim, repo, "apply.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    installed = packages(sim)
    for name in ("web-1", "web-2", "web-3"):
        assert installed[name][NODE]["version"] == "v22.13.1" and NGINX in installed[name], installed[name]
    for name in ("api-1", "api-2"):
        assert installed[name][NODE]["version"] == "v20.18.1" and NGINX not in installed[name]
    assert installed["api-spare"] == {} and installed["db"] == {}
    junit = ElementTree.parse(repo / "out" / "extension-rollout.junit.xml").getroot().find("testsuite")
    assert int(junit.get("tests")) == 11 and junit.get("failures") == "0" and junit.get("skipped") == "3"
    runs = [c for c in sim.calls(mark, action="RunCommand") if c.get("http_status") == 200]
    assert len(runs) == 1 and runs[0]["params"]["Frequency"] == "0 30 2 * * ? Asia/Shanghai"
    started_on = sorted(v for k, v in runs[0]["params"].items() if k.startswith("InstanceId"))
    assert started_on == sorted(ids["web-%d" % n] for n in (1, 2, 3)), runs[0]["params"]
    assert outcome["schedules_blocked"]["nightly-log-cleanup"][0]["name"] == "web-spare"

    # 3. The plan after the merge is empty, and fails nothing even with gitops_fail_on_changes. It has not converged
    # (the stopped spares lack their extensions, web-spare the schedule): gitops_fail_on_blocked fails on that.
    mark = sim.mark()
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_fail_on_changes=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert outcome["empty"] is True and outcome["schedules"] == {"nightly-log-cleanup": "unchanged"}
    assert outcome["converged"] is False and outcome["blocked"] == 2
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_fail_on_changes=True, gitops_fail_on_blocked=True)
    assert proc.returncode != 0 and "Plan not converged: 2 blocked instance(s)" in " ".join(proc.stdout.split())
    assert "Plan not empty" not in proc.stdout and outcome["empty"] is True
    assert sim.mutating_calls(mark) == []

    # 4. A pull request moves the API servers to Node.js 22 and the cleanup to 03:00: the plan shows exactly that.
    api = repo / "inventory" / "group_vars" / "role_api.yml"
    api.write_text(api.read_text().replace("v20.18.1", "v22.13.1"))
    schedules = repo / "inventory" / "group_vars" / "all" / "schedules.yml"
    schedules.write_text(schedules.read_text().replace("0 30 2 * * ?", "0 0 3 * * ?"))
    proc, outcome = play(sim, repo, "plan.yml", check=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert outcome["extensions"]["by_action"] == {"update": 2} and outcome["schedules"] == {
        "nightly-log-cleanup": "replaced"}
    plan = json.loads((repo / "out" / "plan.json").read_text())
    assert sorted(e["name"] for e in plan["instances"] if e["changes"]) == ["api-1", "api-2"]
    # The same package version with another parameter: the comment shows the parameter change, not only "v → v".
    assert "version: v20.18.1 installed, v22.13.1 wanted" in (repo / "out" / "gitops.md").read_text()

    # 5. Apply it; the next plan is empty again.
    mark = sim.mark()
    proc, _outcome = play(sim, repo, "apply.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # the new schedule starts before the old one stops (a failed start never leaves the schedule without one)
    assert [c["action"] for c in sim.mutating_calls(mark) if c["action"] in ("StopInvocation", "RunCommand")] == [
        "RunCommand", "StopInvocation"]
    assert all(packages(sim)[n][NODE]["version"] == "v22.13.1" for n in ("api-1", "api-2"))
    proc, outcome = play(sim, repo, "plan.yml", check=True)
    assert proc.returncode == 0 and outcome["empty"] is True, proc.stdout[-3000:]

    # 6. The spares start: the next apply adds them (the extensions, and web-spare to the schedule), and the fleet
    # has converged - even the strictest check passes.
    for name in ("web-spare", "api-spare"):
        sim.instance(ids[name], status="Running")
    proc, outcome = play(sim, repo, "apply.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_fail_on_changes=True, gitops_fail_on_blocked=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert outcome["converged"] is True and outcome["blocked"] == 0 and outcome["schedules_blocked"] == {}


def junit_suite(path):
    """The testsuite of a JUnit file, after checking that its counts add up."""
    root = ElementTree.parse(path).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    for element in (root, suite):
        assert int(element.get("tests")) == len(cases)
        for kind, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(element.get(attribute)) == sum(1 for c in cases if c.find(kind) is not None), attribute
    return suite


def nginx_on(sim):
    return sorted(name for name, installed in packages(sim).items() if NGINX in installed)


def test_removing_an_extension_prunes_only_with_the_opt_in_and_only_what_the_role_installed(sim, repo):
    ids = names_to_ids(sim)
    # Another tool (the module used directly, not the role) installed nginx on web-3 before the repository existed.
    other = dict(name="nginx", parameters={"port": 80}, instance_ids=[ids["web-3"]], region=R, poll_interval=0.2)
    rc, result, _out, err = run_module(sim, "oos_extension_install", other)
    assert rc == 0 and result["changed"], result.get("msg") or err[-2000:]
    proc, _outcome = play(sim, repo, "apply.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert nginx_on(sim) == ["web-1", "web-2", "web-3"]
    # ... and later someone reinstalled the role's nginx on web-2 by hand (another tool's execution after the role's).
    again = dict(other, instance_ids=[ids["web-2"]], force=True)
    rc, result, _out, err = run_module(sim, "oos_extension_install", again)
    assert rc == 0 and result["instances"][ids["web-2"]]["action"] == "update", result.get("msg") or err[-2000:]

    # The pull request: web servers no longer want nginx.
    web = repo / "inventory" / "group_vars" / "role_web.yml"
    web.write_text(web.read_text().replace("  - name: nginx\n    parameters: {port: 80}\n", ""))
    assert "name: nginx" not in web.read_text()

    # Plan without the opt-in: nothing would change, web-1 "would prune"; exit 0 even with gitops_fail_on_changes.
    mark = sim.mark()
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_fail_on_changes=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert sim.mutating_calls(mark) == []
    assert outcome["empty"] is True and outcome["extensions"]["would_prune"] == 1
    plan = json.loads((repo / "out" / "plan.json").read_text())
    assert [(e["name"], [p["item"] for p in e["would_prune"]]) for e in plan["instances"] if e["would_prune"]] == [
        ("web-1", ["nginx"])]
    assert "installed by this role" in plan["instances"][[e["name"] for e in plan["instances"]].index("web-1")][
        "would_prune"][0]["reason"]
    assert "Would prune, opt-in (1 instance(s))" in (repo / "out" / "gitops.md").read_text()

    # Apply without the opt-in removes nothing (and starts nothing).
    mark = sim.mark()
    proc, _outcome = play(sim, repo, "apply.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert [c["action"] for c in sim.mutating_calls(mark)] == []
    assert nginx_on(sim) == ["web-1", "web-2", "web-3"]

    # Plan with the opt-in: exactly one uninstall, on web-1; the plan is not empty.
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_prune=True, gitops_fail_on_changes=True)
    assert proc.returncode != 0 and "Plan not empty" in proc.stdout, proc.stdout[-3000:]
    assert outcome["extensions"]["by_action"] == {"uninstall": 1} and outcome["extensions"]["would_prune"] == 0
    plan = json.loads((repo / "out" / "plan.json").read_text())
    assert [(e["name"], [(c["action"], c["item"], c["prune"]) for c in e["changes"]]) for e in plan["instances"]
            if e["changes"]] == [("web-1", [("uninstall", "nginx", True)])]

    # Apply with the opt-in: nginx leaves web-1 only; node stays everywhere; the JUnit results show the prune.
    mark = sim.mark()
    proc, outcome = play(sim, repo, "apply.yml", gitops_prune=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert nginx_on(sim) == ["web-2", "web-3"]
    assert all(NODE in packages(sim)[n] for n in ("web-1", "web-2", "web-3", "api-1", "api-2"))
    starts = [c for c in sim.mutating_calls(mark) if c["action"] == "StartExecution"]
    assert len(starts) == 1 and json.loads(starts[0]["params"]["Parameters"])["action"] == "uninstall"
    suite = junit_suite(repo / "out" / "extension-rollout.junit.xml")
    pruned = [c for c in suite.findall("testcase") if c.get("name") == "prune nginx"]
    assert [c.get("classname") for c in pruned] == ["extension_rollout.%s" % ids["web-1"]]
    assert pruned[0].find("failure") is None and pruned[0].find("skipped") is None

    report = json.loads((repo / "out" / "extension-rollout.json").read_text())
    assert report["summary"]["pruned"] == 1 and report["run"]["regions"] == [R] and report["run"]["play"]

    # The next plan, with the opt-in, is empty: the fleet converged.
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_prune=True, gitops_fail_on_changes=True)
    assert proc.returncode == 0 and outcome["empty"] is True, proc.stdout[-3000:]
    assert outcome["extensions"]["would_prune"] == 0


PATCH_PLAY = role_play("patch_management", "Patch the web servers")


def patch_round(sim, tmp_path, ids, check, **extra):
    targets = [ids["web-1"], ids["web-2"], ids["api-spare"]]
    variables = dict(patch_management_region=R, patch_management_instance_ids=targets,
                     patch_management_mode="install", patch_management_approved=True,
                     patch_management_unreachable="skip", patch_management_create_snapshot=True,
                     patch_management_reboot_if_need=True, patch_management_canary=False,
                     patch_management_poll_interval=0.2, patch_management_wait_timeout=300,
                     patch_management_plan_fail_on_changes=True, patch_management_report_dir=str(tmp_path))
    variables.update(extra)
    return run_playbook(sim, PATCH_PLAY, extra_vars=variables, check=check)


def test_patch_management_plan_apply_plan(sim, tmp_path):
    sim.reset(FLEET, time_scale=0.01)
    ids = names_to_ids(sim)

    # Not approved: the plan blocks every instance that needs patches, says why, and is empty (exit 0).
    mark = sim.mark()
    proc = patch_round(sim, tmp_path, ids, check=True, patch_management_approved=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    plan = json.loads((tmp_path / "patch-plan.json").read_text())
    assert plan["kind"] == "patch_management" and plan["empty"] is True
    blocked = {e["name"]: [b["result"] for b in e["blocked"]] for e in plan["instances"]}
    assert blocked == {"web-1": ["blocked"], "web-2": ["blocked"], "api-spare": ["unreachable"]}
    reasons = {e["name"]: e["blocked"][0]["reason"] for e in plan["instances"]}
    assert reasons["web-1"].startswith("not approved") and "Stopped" in reasons["api-spare"]

    # Approved: the plan is what oos_patch_run predicts (patch, snapshot, reboot if a patch needs it), and the
    # pipeline's signal fires; nothing changed in the cloud.
    proc = patch_round(sim, tmp_path, ids, check=True)
    assert proc.returncode != 0 and "Plan not empty: 6 change(s) on 2 instance(s)" in proc.stdout, proc.stdout[-3000:]
    assert sim.mutating_calls(mark) == []
    plan = json.loads((tmp_path / "patch-plan.json").read_text())
    assert plan["summary"]["by_action"] == {"patch": 2, "snapshot": 2, "reboot": 2}
    changes = {e["name"]: sorted(c["action"] for c in e["changes"]) for e in plan["instances"] if e["changes"]}
    assert changes == {"web-1": ["patch", "reboot", "snapshot"], "web-2": ["patch", "reboot", "snapshot"]}
    markdown = (tmp_path / "patch-plan.md").read_text()
    assert markdown.startswith("### Patch plan: 6 change(s)") and "<details><summary>Blocked (1 instance(s))" in markdown

    # Apply (as an AWX job would, with its job id): patched and snapshotted; the JUnit results have one case per
    # instance and action, counts adding up; the reports' header says when, where and what ran it.
    proc = patch_round(sim, tmp_path, ids, check=False, patch_management_plan_fail_on_changes=False,
                       awx_job_id=4242, awx_job_template_name="patch web", patch_management_report_account="1234567890")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    run = json.loads((tmp_path / "patch-report.json").read_text())["run"]
    expected = ([R], "1234567890", "4242", "Patch the web servers")
    assert (run["regions"], run["account"], run["awx_job_id"], run["play"]) == expected
    assert run["started"] <= run["generated"] and run["duration_seconds"] >= 0 and run["generated"].endswith("Z")
    for name in ("patch-report.md", "patch-report.html"):
        assert "AWX job 4242 (patch web)" in (tmp_path / name).read_text(), name
    suite = junit_suite(tmp_path / "patch-report.junit.xml")
    cases = [(c.get("classname").split(".")[-1], c.get("name")) for c in suite.findall("testcase")]
    assert sorted(cases) == sorted([(ids[n], a) for n in ("web-1", "web-2") for a in ("scan", "patch", "snapshot")]
                                   + [(ids["api-spare"], "patch")])
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "0", "1")

    # The next plan is empty, so the signal does not fire.
    proc = patch_round(sim, tmp_path, ids, check=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert json.loads((tmp_path / "patch-plan.json").read_text())["empty"] is True


def test_a_round_the_patch_gate_stops_still_gives_the_pipeline_its_junit(sim, tmp_path):
    """A real (not check-mode) round whose scan exceeds a threshold: the gate fails the run before anything is
    installed, and the JUnit file is there for the pipeline, with the scan and every blocked instance."""
    sim.reset(FLEET, time_scale=0.01)
    ids = names_to_ids(sim)
    mark = sim.mark()
    proc = patch_round(sim, tmp_path / "out", ids, check=False, patch_management_plan_fail_on_changes=False,
                       patch_management_max_missing_critical=0, patch_management_max_missing_important=0)
    assert proc.returncode != 0 and "Gate: thresholds exceeded" in proc.stdout, proc.stdout[-3000:]
    assert not [c for c in sim.mutating_calls(mark) if c["action"] == "StartExecution"
                and '"install"' in c["params"].get("Parameters", "")], "the gate let an install start"
    suite = junit_suite(tmp_path / "out" / "patch-report.junit.xml")
    blocked = [c for c in suite.findall("testcase") if c.get("name") == "patch" and c.find("skipped") is not None]
    expected = sorted([ids["web-1"], ids["web-2"], ids["api-spare"]])
    assert sorted(c.get("classname").split(".")[-1] for c in blocked) == expected
    assert any(c.find("skipped").get("message").startswith("blocked: thresholds exceeded") for c in blocked)
