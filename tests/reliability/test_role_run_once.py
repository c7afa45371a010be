"""Both roles run the same way: every task once, on the controller, whatever the play's hosts. A play on an
inventory group (the GitOps and AWX inventories) runs the role once, not once per host; the targets come from the
role's variables (here the group's hosts and their ecs_instance_id)."""

from __future__ import annotations

import json
import re

import pytest

from harness import fleet, instance_ids, run_playbook

PLAY = """
- hosts: web
  gather_facts: false
  roles:
    - role: alibabacloud.ecs_ops.%s
"""

ROLES = {
    "extension_rollout": lambda tmp: dict(extension_rollout_hosts="{{ groups['web'] }}",
                                          extension_rollout_extensions=[{"name": "node"}],
                                          extension_rollout_poll_interval=0.2, extension_rollout_wait_timeout=120,
                                          extension_rollout_report_dir=str(tmp)),
    "patch_management": lambda tmp: dict(patch_management_hosts="{{ groups['web'] }}", patch_management_poll_interval=0.2,
                                         patch_management_wait_timeout=120, patch_management_report_dir=str(tmp)),
}
REPORTS = {"extension_rollout": "extension-rollout.json", "patch_management": "patch-report.json"}


def task_sections(stdout):
    """(task title, its output) for every task of the run."""
    parts = re.split(r"^TASK \[(.*)\] \**$", stdout, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_play_on_an_inventory_group_runs_the_role_once(sim, tmp_path, role):
    sim.reset(fleet(["cn-hangzhou"], 2, durations={"patch_scan": 5}), time_scale=0.01)
    ids = instance_ids(sim)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("web:\n  hosts:\n" + "".join(
        "    web-%d:\n      ansible_connection: local\n      ecs_instance_id: %s\n      ecs_region: cn-hangzhou\n"
        % (n, i) for n, i in enumerate(ids, 1)))
    result = run_playbook(sim, PLAY % role, extra_vars=ROLES[role](tmp_path / "reports"), inventory=str(inventory))
    assert result.returncode == 0, result.stdout[-3000:]
    sections = [(title, out) for title, out in task_sections(result.stdout) if "Validating arguments" not in title]
    assert sections, result.stdout[-3000:]
    per_host = [title for title, out in sections if "[web-2" in out]
    assert not per_host, "tasks that ran for web-2 too: %s" % per_host
    assert all("[web-1 -> localhost]" in out or "skipping" in out for _title, out in sections if "[web-1" in out)
    report = json.loads((tmp_path / "reports" / REPORTS[role]).read_text())
    assert sorted(ids) == sorted(i["instance_id"] for i in report.get("instances", report.get("targets", [])))
