"""The patch_management role when installs fail: a failed canary stops the round, and the failure budget
(patch_management_max_failure_percent) decides whether the run fails. In both cases the reports are written
and tell what happened to every instance."""

from __future__ import annotations

import json
import pathlib

import pytest

from harness import fleet, instance_ids, run_playbook

PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: alibabacloud.ecs_ops.patch_management
"""


def patch_round(sim, tmp_path, ids, **overrides):
    variables = dict(patch_management_instance_ids=ids, patch_management_region="cn-hangzhou",
                     patch_management_mode="install", patch_management_approved=True,
                     patch_management_create_snapshot=False, patch_management_poll_interval=0.2,
                     patch_management_wait_timeout=120, patch_management_report_dir=str(tmp_path))
    variables.update(overrides)
    result = run_playbook(sim, PLAY, extra_vars=variables)
    report_file = pathlib.Path(tmp_path) / "patch-report.json"
    assert report_file.exists(), result.stdout[-3000:]
    return result, json.loads(report_file.read_text())


@pytest.fixture
def six(sim):
    sim.reset(fleet(["cn-hangzhou"], 6, durations={"patch_scan": 5, "patch_install": 20}), time_scale=0.01)
    return instance_ids(sim)


def test_a_failed_canary_stops_the_round(sim, six, tmp_path):
    sim.instance(six[0], fail=["patch"])
    mark = sim.mark()
    result, report = patch_round(sim, tmp_path, six, patch_management_concurrency=2)
    assert result.returncode != 0
    assert "The canary wave failed on 1 of 2 instance(s), 4 instance(s) were not patched" in result.stdout
    results = {i: r["result"] for i, r in report["install_results"].items()}
    assert results[six[0]] == "failed" and results[six[1]] == "succeeded"
    assert sorted(i for i, r in results.items() if r == "cancelled") == sorted(six[2:])
    # One execution, cancelled after the canary wave; nothing installed beyond the canary.
    assert [c["action"] for c in sim.calls(mark) if c["action"] == "StartExecution"] == ["StartExecution"] * 2
    assert report["install"]["summary"]["failed"] == 1 and report["install"]["summary"]["cancelled"] == 4
    assert "canary" in (pathlib.Path(tmp_path) / "patch-report.md").read_text().lower()


@pytest.mark.parametrize("budget,fails", [(0, True), (20, False)])
def test_the_failure_budget_decides(sim, six, tmp_path, budget, fails):
    sim.instance(six[4], fail=["patch"])
    result, report = patch_round(sim, tmp_path, six, patch_management_concurrency=1,
                                 patch_management_batch_size=2, patch_management_max_failure_percent=budget)
    assert (result.returncode != 0) is fails, result.stdout[-3000:]
    results = {i: r["result"] for i, r in report["install_results"].items()}
    assert results[six[4]] == "failed"
    assert report["install"]["summary"]["failed"] == 1
    if fails:
        assert "16.7% failed, at most 0% allowed" in result.stdout
    else:
        assert "Install within the failure budget (16.7% failed)" in result.stdout
        assert all(results[i] == "succeeded" for i in six if i != six[4])
