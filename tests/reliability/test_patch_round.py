"""R13 a scheduled patch round through the patch_management role, as an unattended AWX job runs it at night:
inside tonight's maintenance window, a pre-hook that drains and a post-hook that checks health around each
batch, a disruption budget of one instance per zone, snapshots, and a failure budget. One instance refuses
its pre-hook (skipped, never patched); one fails its patch (failed, within the budget, no post-hook) and is
rolled back to the snapshot the round took of it (opt-in); every other one is patched once with both hooks,
and the reports and JUnit results show the hooks and the rollback. A second round the same night changes
nothing: no execution and no hook on the patched instances, and the rolled-back one (tagged
ecs-ops-rolled-back by its rollback) is held - no hook, no execution, no snapshot, no second rollback - so
the job succeeds; only the instance whose pre-hook refused is tried again (and refuses again)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

from harness import names_to_ids, run_playbook

R = "cn-hangzhou"
PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important")]
PLAY = """- name: Tonight's patch round
  hosts: localhost
  gather_facts: false
  vars:
    # As in group_vars: !unsafe keeps Ansible from reading Cloud Assistant's placeholders as Jinja.
    patch_management_pre_hook:
      command: !unsafe |
        echo "pre {{ACS::InstanceId}}" >> RECORD
        case "{{ACS::InstanceId}}" in REFUSED) exit 4 ;; esac
        echo "pre ok"
      timeout: 30
    patch_management_post_hook:
      command: !unsafe |
        echo "post {{ACS::InstanceId}}" >> RECORD
        echo "post ok"
      timeout: 30
  tasks:
    - name: Patch management
      ansible.builtin.include_role:
        name: alibabacloud.ecs_ops.patch_management
"""


def group(name, count, zone):
    return dict(name=name, count=count, zone=zone, os_type="linux", os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit",
                patches=PATCHES, durations={"patch_install": 200})


def open_window():
    """A UTC window that opened a minute ago and lasts two hours: tonight's, as far as the round can tell."""
    start = (datetime.now(timezone.utc) - timedelta(seconds=60)).replace(second=0, microsecond=0)
    return dict(start=start.strftime("%H:%M"), duration="2h", timezone="UTC")


def run_round(sim, report_dir, ids, record, refuse):
    variables = dict(patch_management_region=R, patch_management_instance_ids=list(ids.values()),
                     patch_management_mode="install", patch_management_approved=True,
                     patch_management_canary=False, patch_management_batch_size=2,
                     patch_management_max_concurrent_executions=4, patch_management_zone_disruption_budget=1,
                     patch_management_window=open_window(), patch_management_max_failure_percent=40,
                     patch_management_create_snapshot=True, patch_management_reboot="if_required",
                     patch_management_rollback_failed=True,
                     patch_management_poll_interval=0.3, patch_management_wait_timeout=300,
                     patch_management_report_dir=report_dir)
    return run_playbook(sim, PLAY.replace("RECORD", record).replace("REFUSED", refuse), extra_vars=variables)


def test_a_scheduled_round_with_window_hooks_and_budgets(sim):
    sim.reset({"regions": {R: {"instances": [group("g", 3, "cn-hangzhou-g"), group("h", 3, "cn-hangzhou-h")]}}})
    ids = names_to_ids(sim)
    refused, broken = ids["g-2"], ids["h-1"]
    sim.instance(broken, fail=["patch"])
    with tempfile.TemporaryDirectory() as tmp:
        record = os.path.join(tmp, "hooks.log")
        proc = run_round(sim, tmp, ids, record, refused)
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
        report = json.loads(open(os.path.join(tmp, "patch-report.json"), encoding="utf-8").read())
        html = open(os.path.join(tmp, "patch-report.html"), encoding="utf-8").read()
        suite = ElementTree.parse(os.path.join(tmp, "patch-report.junit.xml")).getroot().find("testsuite")
        with open(record, encoding="utf-8") as handle:
            first = [line.split() for line in handle.read().splitlines()]

        results = report["install_results"]
        assert results[refused]["result"] == "skipped" and "pre-hook failed: exit code 4" in results[refused]["message"]
        assert results[broken]["result"] == "failed" and "post" not in results[broken]["hooks"]
        # The failed instance went back to the snapshot the round took of it, and only that one.
        back = report["rollback"]["instances"]
        assert list(back) == [broken] and back[broken]["result"] == "succeeded", back
        assert back[broken]["snapshot_id"] in results[broken]["snapshot_ids"]
        assert "rollback: succeeded</span> to %s" % back[broken]["snapshot_id"] in html
        resets = [c for c in sim.calls() if c["action"] == "ResetDisk"]
        assert [c["params"]["SnapshotId"] for c in resets] == [back[broken]["snapshot_id"]]
        patched = sorted(set(ids.values()) - {refused, broken})
        for instance_id in patched:
            assert results[instance_id]["result"] == "succeeded", results[instance_id]
            assert results[instance_id]["hooks"]["post"]["passed"] and results[instance_id]["snapshot_ids"]
        assert report["counts"]["skipped"] == 1 and report["counts"]["failed"] == 1
        assert sorted(i for s, i in first if s == "post") == patched
        assert sorted(i for s, i in first if s == "pre") == sorted(set(ids.values()))
        assert "pre-hook: <span class=\"r-failed\">failed</span> (exit 4)</summary><span class=\"muted\">no output</span>" in html
        cases = {(c.get("classname").split(".")[-1], c.get("name")): c for c in suite.findall("testcase")}
        assert cases[(refused, "pre-hook")].find("failure") is not None
        assert cases[(patched[0], "post-hook")].find("failure") is None
        assert report["hosts"][refused]["name"] == "g-2" and "Alibaba Cloud Linux" in report["hosts"][refused]["os_name"]
        assert "<br>g-2<br><span class=\"muted\">Alibaba Cloud Linux" in html

        # The zone budget held: never two instances of a zone in running executions at once.
        events = []
        zone = {i: n[0] for n, i in ids.items()}
        installs = [x for x in sim.state()["executions"].values() if x["action"] == "install"]
        assert len(installs) >= 3, "five instances patched, at most one per zone at a time: at least three batches"
        for execution in installs:
            for child in execution["children"]:
                events += [(execution["created"], 1, zone[child["instance"]]), (execution["end"], 0, zone[child["instance"]])]
        running, peak = {}, 0
        for _t, start, z in sorted(events):
            running[z] = running.get(z, 0) + (1 if start else -1)
            peak = max(peak, running[z])
        assert peak == 1, "a zone had %d instances in running executions, budget 1" % peak

        # The next round the same night (a re-launch of the job) changes nothing.
        snapshot = back[broken]["snapshot_id"]
        executions_before = set(sim.state()["executions"])
        seq = sim.calls()[-1]["seq"]
        os.remove(record)
        proc = run_round(sim, tmp, ids, record, refused)
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
        with open(record, encoding="utf-8") as handle:
            second = [line.split() for line in handle.read().splitlines()]
        report = json.loads(open(os.path.join(tmp, "patch-report.json"), encoding="utf-8").read())
        markdown = open(os.path.join(tmp, "patch-report.md"), encoding="utf-8").read()
        suite = ElementTree.parse(os.path.join(tmp, "patch-report.junit.xml")).getroot().find("testsuite")
    # The rolled-back instance is held, saying why and how to release it; the refused one is tried again.
    results = report["install_results"]
    assert sorted(results) == sorted([refused, broken]), "patched instances were given to the install again"
    held = results[broken]
    assert held["result"] == "held" and "tag ecs-ops-rolled-back=%s" % snapshot in held["message"], held
    assert "remove the tag" in held["message"] and held["snapshot_ids"] == [] and held["hooks"] == {}
    assert results[refused]["result"] == "skipped"
    assert report["counts"]["held"] == 1 and report["counts"]["failed"] == 0 and report["rollback"]["instances"] == {}
    assert "### Held after a rollback (not patched)" in markdown and "`%s`: held: rolled back" % broken in markdown
    cases = {(c.get("classname").split(".")[-1], c.get("name")): c for c in suite.findall("testcase")}
    assert cases[(broken, "patch")].find("skipped") is not None and cases[(broken, "patch")].find("failure") is None
    # Nothing started for it: no hook, no execution (so no snapshot), no stop, reset or start; no patched one touched.
    assert {i for _s, i in second} == {refused}, second
    new = [x for k, x in sim.state()["executions"].items() if k not in executions_before and x["action"] == "install"]
    touched = {c["instance"] for x in new for c in x["children"]}
    assert touched == set(), "an install touched %s" % touched
    mutations = {c["action"] for c in sim.calls(since=seq)} & {"StopInstance", "ResetDisk", "StartInstance", "TagResources"}
    assert mutations == set(), "the second round rolled back again: %s" % mutations
