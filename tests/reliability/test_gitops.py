"""R10 GitOps: the example repository under playbooks/gitops plays a pull request against the simulator.

The repository is copied as it ships; the test then edits its group_vars the way a pull request would. Evidence is
the simulator's state and call log (packages per instance, the schedule invocations, mutating calls) and the files
the playbooks write (gitops.json, plan.json, the JUnit XML), not only the playbooks' exit codes.
"""

from __future__ import annotations

import json
import shutil
from xml.etree import ElementTree

import pytest

from harness import ROOT, run_playbook

R = "cn-hangzhou"
NODE = "ACS-Extension-node-1853370294850618"
NGINX = "ACS-Extension-nginx-1853370294850618"
FLEET = {"durations": {"install": 20, "uninstall": 10}, "regions": {R: {"instances": [
    {"name": "web", "count": 3, "os_type": "linux", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
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
    assert outcome["extensions"]["instances_blocked"] == 1          # the stopped api-spare
    assert outcome["schedules"] == {"nightly-log-cleanup": "created"}
    plan = json.loads((repo / "out" / "plan.json").read_text())
    assert [e["name"] for e in plan["instances"] if e["blocked"]] == ["api-spare"]
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
    assert int(junit.get("tests")) == 9 and junit.get("failures") == "0" and junit.get("skipped") == "1"
    runs = [c for c in sim.calls(mark, action="RunCommand") if c.get("http_status") == 200]
    assert len(runs) == 1 and runs[0]["params"]["Frequency"] == "0 30 2 * * ? Asia/Shanghai"

    # 3. The plan after the merge is empty, and fails nothing even with gitops_fail_on_changes.
    mark = sim.mark()
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_fail_on_changes=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert outcome["empty"] is True and outcome["schedules"] == {"nightly-log-cleanup": "unchanged"}
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

    # 5. Apply it; the next plan is empty again.
    mark = sim.mark()
    proc, _outcome = play(sim, repo, "apply.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert [c["action"] for c in sim.mutating_calls(mark) if c["action"] in ("StopInvocation", "RunCommand")] == [
        "StopInvocation", "RunCommand"]
    assert all(packages(sim)[n][NODE]["version"] == "v22.13.1" for n in ("api-1", "api-2"))
    proc, outcome = play(sim, repo, "plan.yml", check=True)
    assert proc.returncode == 0 and outcome["empty"] is True, proc.stdout[-3000:]
