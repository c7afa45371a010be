"""R-audit-prune: the extension_rollout role's pruning when its uninstall does not get through.

A pull request removes nginx from the web servers' list; the apply with the opt-in starts one uninstall on the three
instances where the role installed it, and it fails on one of them (the package's uninstall script fails there).
The role fails and says so. Once the instance is fixed, the next apply prunes what is left there - the role's own
failed uninstall must not make the role forget that it put nginx there - and the plan after it is empty.

Evidence: the packages on each instance (the simulator's state), the StartExecution calls, the plan's files.
"""

from __future__ import annotations

import json

import test_gitops
from harness import names_to_ids
from test_gitops import nginx_on, play

repo = test_gitops.repo     # the fixture: the example repository, copied, on the gitops fleet


def test_a_prune_that_failed_on_an_instance_is_finished_by_the_next_apply(sim, repo):
    ids = names_to_ids(sim)
    proc, _outcome = play(sim, repo, "apply.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert nginx_on(sim) == ["web-1", "web-2", "web-3"]
    web = repo / "inventory" / "group_vars" / "role_web.yml"
    web.write_text(web.read_text().replace("  - name: nginx\n    parameters: {port: 80}\n", ""))
    assert "name: nginx" not in web.read_text()

    sim.instance(ids["web-1"], fail=["uninstall"])
    mark = sim.mark()
    proc, _outcome = play(sim, repo, "apply.yml", gitops_prune=True)
    assert proc.returncode != 0, proc.stdout[-4000:]                 # the failed prune fails the run, loudly
    starts = [c for c in sim.mutating_calls(mark) if c["action"] == "StartExecution"]
    assert [json.loads(c["params"]["Parameters"])["action"] for c in starts] == ["uninstall"]
    left = nginx_on(sim)
    assert "web-1" in left                                           # (where it failed; elsewhere it may be gone)

    sim.instance(ids["web-1"], fail=[])
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_prune=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    plan = json.loads((repo / "out" / "plan.json").read_text())
    assert [(e["name"], [(c["action"], c["item"], c["prune"]) for c in e["changes"]]) for e in plan["instances"]
            if e["changes"]] == [(name, [("uninstall", "nginx", True)]) for name in left], plan["instances"]
    mark = sim.mark()
    proc, _outcome = play(sim, repo, "apply.yml", gitops_prune=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert nginx_on(sim) == []
    starts = [c for c in sim.mutating_calls(mark) if c["action"] == "StartExecution"]
    assert starts and all(json.loads(c["params"]["Parameters"])["action"] == "uninstall" for c in starts)
    proc, outcome = play(sim, repo, "plan.yml", check=True, gitops_prune=True, gitops_fail_on_changes=True)
    assert proc.returncode == 0 and outcome["empty"] is True, proc.stdout[-3000:]
